package chserver

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// Ports are the loopback ports one server listens on.
type Ports struct {
	TCP, HTTP, Interserver int
}

// configData fills configTemplate; paths are XML-escaped by the template's
// x function.
type configData struct {
	Dir       string
	LogFile   string
	UsersFile string
	Ports     Ports
}

// configTemplate is the smallest config that works on both 18.16 and current
// releases: the root element is ignored by 18.16 and both <clickhouse> and
// <yandex> are accepted by current versions. Caches are sized for a test
// box, not the multi-GB production defaults; no system log tables are
// configured, so the server writes nothing we did not ask for.
var configTemplate = template.Must(template.New("config.xml").Funcs(template.FuncMap{"x": xmlText}).Parse(`<?xml version="1.0"?>
<clickhouse>
    <logger>
        <level>warning</level>
        <log>{{x .LogFile}}</log>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{.Ports.TCP}}</tcp_port>
    <http_port>{{.Ports.HTTP}}</http_port>
    <interserver_http_port>{{.Ports.Interserver}}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <path>{{x .Dir}}/data/</path>
    <tmp_path>{{x .Dir}}/tmp/</tmp_path>
    <user_files_path>{{x .Dir}}/user_files/</user_files_path>
    <format_schema_path>{{x .Dir}}/format_schemas/</format_schema_path>
    <users_config>{{x .UsersFile}}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_connections>256</max_connections>
    <max_concurrent_queries>64</max_concurrent_queries>
    <keep_alive_timeout>3</keep_alive_timeout>
    <mlock_executable>false</mlock_executable>
</clickhouse>
`))

// usersXML has one passwordless default user reachable from loopback only.
const usersXML = `<?xml version="1.0"?>
<clickhouse>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</clickhouse>
`

func xmlText(s string) (string, error) {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeConfig writes config.xml and users.xml into dir and creates the data
// directories, returning the config file's path.
func writeConfig(dir, logFile string, p Ports) (string, error) {
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", fmt.Errorf("create server directory: %w", err)
		}
	}
	users := filepath.Join(dir, "users.xml")
	if err := os.WriteFile(users, []byte(usersXML), 0o644); err != nil {
		return "", fmt.Errorf("write users.xml: %w", err)
	}
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, configData{Dir: dir, LogFile: logFile, UsersFile: users, Ports: p}); err != nil {
		return "", fmt.Errorf("render config.xml: %w", err)
	}
	config := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(config, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write config.xml: %w", err)
	}
	return config, nil
}
