package deployments

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/console"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/notify"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

const (
	composePath      = "../docker-compose.yml"
	dockerfilePath   = "../Dockerfile"
	dockerignorePath = "../.dockerignore"
	cmdDir           = "../cmd/tripline"
	k8sDir           = "kubernetes"
	readmePath       = "README.md"
	gitignorePath    = "../.gitignore"
	// notifyExamplePath is notify's example config, the one compose mounts.
	notifyExamplePath = "notify.example.yml"

	// secretPlaceholder is the only value a committed Secret may hold.
	secretPlaceholder = "CHANGE-ME"
	// metricsPort serves /metrics, /healthz and /readyz in every manifest.
	metricsPort = 9464
	// shutdownTimeout is the workers' default --shutdown-timeout: the
	// grace period before SIGKILL must cover it.
	shutdownTimeout = 30 * time.Second
	// consoleShutdownTimeout is console's default --shutdown-timeout.
	consoleShutdownTimeout = 10 * time.Second
	// consoleDefaultListen is console's default --listen: loopback, which
	// nothing outside its container reaches.
	consoleDefaultListen = "127.0.0.1:8080"
	// clickhouseNativePort is the port of ClickHouse's native protocol,
	// the one tripline speaks (8123 is HTTP).
	clickhouseNativePort = "9000"
)

// secretName matches environment variable names that hold secrets.
var secretName = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|credential|private_?key)`)

// interpolation matches a Compose ${VAR} or ${VAR:-default} expression
// standing for a whole value: the only form a secret may take in Compose.
var interpolation = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(:?-[^}]*)?\}$`)

// ---------------------------------------------------------------- Compose

type composeFile struct {
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]any             `yaml:"volumes"`
	Secrets  map[string]struct {
		File        string `yaml:"file"`
		Environment string `yaml:"environment"`
	} `yaml:"secrets"`
}

type composeService struct {
	Image           string                  `yaml:"image"`
	Build           any                     `yaml:"build"`
	Command         any                     `yaml:"command"`
	Entrypoint      any                     `yaml:"entrypoint"`
	Environment     any                     `yaml:"environment"`
	DependsOn       any                     `yaml:"depends_on"`
	Profiles        []string                `yaml:"profiles"`
	Ports           []any                   `yaml:"ports"`
	Expose          []any                   `yaml:"expose"`
	Healthcheck     *struct{ Test any }     `yaml:"healthcheck"`
	Deploy          struct{ Replicas *int } `yaml:"deploy"`
	StopGracePeriod string                  `yaml:"stop_grace_period"`
	Volumes         []any                   `yaml:"volumes"`
	Secrets         []any                   `yaml:"secrets"`
	Ulimits         map[string]any          `yaml:"ulimits"`
}

// mounts returns container path -> host path (or volume name) of the
// service's volumes, host paths relative to this package's directory.
func (s *composeService) mounts() map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		var src, dst string
		if m, ok := v.(map[string]any); ok {
			src, dst = fmt.Sprint(m["source"]), fmt.Sprint(m["target"])
		} else {
			parts := strings.Split(fmt.Sprint(v), ":")
			if len(parts) < 2 {
				continue
			}
			src, dst = parts[0], parts[1]
		}
		if strings.HasPrefix(src, ".") {
			src = filepath.Join(filepath.Dir(composePath), src)
		}
		out[dst] = src
	}
	return out
}

// secretFiles returns the container path -> top-level secret name of the
// service's secrets (default target /run/secrets/NAME).
func (s *composeService) secretFiles() map[string]string {
	out := map[string]string{}
	for _, v := range s.Secrets {
		name, target := fmt.Sprint(v), ""
		if m, ok := v.(map[string]any); ok {
			name = fmt.Sprint(m["source"])
			if m["target"] != nil {
				target = fmt.Sprint(m["target"])
			}
		}
		if target == "" {
			target = name
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		out[target] = name
	}
	return out
}

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	if len(c.Services) == 0 {
		t.Fatalf("%s: no services", composePath)
	}
	return &c
}

func (c *composeFile) service(t *testing.T, name string) *composeService {
	t.Helper()
	s := c.Services[name]
	if s == nil {
		t.Fatalf("%s: no service %q", composePath, name)
	}
	return s
}

// env returns the service's environment as a map, from either the map or
// the list ("K=V") form.
func (s *composeService) env() map[string]string {
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
				continue
			}
			out[k] = fmt.Sprint(v)
		}
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			out[k] = v
		}
	}
	return out
}

// words returns a string-or-list field as a list.
func words(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, w := range v {
			out = append(out, fmt.Sprint(w))
		}
		return out
	}
	return nil
}

// script is the full text the service runs: entrypoint and command.
func (s *composeService) script() string {
	return strings.Join(append(words(s.Entrypoint), words(s.Command)...), " ")
}

// dependsOn returns dependency -> condition, for both depends_on forms.
func (s *composeService) dependsOn() map[string]string {
	out := map[string]string{}
	switch d := s.DependsOn.(type) {
	case []any:
		for _, name := range d {
			out[fmt.Sprint(name)] = "service_started"
		}
	case map[string]any:
		for name, spec := range d {
			cond := "service_started"
			if m, ok := spec.(map[string]any); ok && m["condition"] != nil {
				cond = fmt.Sprint(m["condition"])
			}
			out[name] = cond
		}
	}
	return out
}

// containerPorts returns the ports the service listens on inside its
// network: expose entries and the container side of published ports.
func (s *composeService) containerPorts() map[string]bool {
	out := map[string]bool{}
	add := func(p any) {
		switch p := p.(type) {
		case map[string]any:
			if p["target"] != nil {
				out[fmt.Sprint(p["target"])] = true
			}
		default:
			spec := fmt.Sprint(p)
			spec, _, _ = strings.Cut(spec, "/")
			out[spec[strings.LastIndex(spec, ":")+1:]] = true
		}
	}
	for _, p := range s.Expose {
		add(p)
	}
	for _, p := range s.Ports {
		add(p)
	}
	return out
}

// build returns the build context and Dockerfile, relative to this
// package's directory; ok is false when the service does not build.
func (s *composeService) build() (context, dockerfile string, ok bool) {
	switch b := s.Build.(type) {
	case string:
		context, dockerfile = b, "Dockerfile"
	case map[string]any:
		context = "."
		if b["context"] != nil {
			context = fmt.Sprint(b["context"])
		}
		dockerfile = "Dockerfile"
		if b["dockerfile"] != nil {
			dockerfile = fmt.Sprint(b["dockerfile"])
		}
	default:
		return "", "", false
	}
	context = filepath.Join(filepath.Dir(composePath), context)
	return context, filepath.Join(context, dockerfile), true
}

var composeServices = []string{"kafka", "clickhouse", "kafka-init", "migrate", "ingest", "detect", "notify", "console", "simulator"}

// tripline services run the tripline image.
var triplineServices = []string{"migrate", "registry-init", "ingest", "detect", "notify", "console", "simulator", "migrate-cluster"}

// optionalServices run only with their profile: the simulator, notify and
// console, which need secrets and a tokens file first, and the ClickHouse
// cluster (docs/cluster.md).
var optionalServices = map[string]string{"simulator": "simulate", "notify": "notify", "console": "console",
	"keeper": "cluster", "ch-s1r1": "cluster", "ch-s1r2": "cluster", "ch-s2r1": "cluster", "migrate-cluster": "cluster"}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range composeServices {
		c.service(t, name)
	}
	for name, s := range c.Services {
		if profile, ok := optionalServices[name]; ok {
			if !slices.Equal(s.Profiles, []string{profile}) {
				t.Errorf("%s: profiles %v, want only [%s]", name, s.Profiles, profile)
			}
			continue
		}
		if len(s.Profiles) > 0 {
			t.Errorf("%s: profiles %v: only %v are optional", name, s.Profiles, keys(optionalServices))
		}
	}
	roles := map[string]string{"migrate": "migrate", "ingest": "ingest", "detect": "detect", "notify": "notify", "console": "console", "simulator": "simulate"}
	for name, role := range roles {
		if cmd := words(c.service(t, name).Command); len(cmd) == 0 || cmd[0] != role {
			t.Errorf("%s: command %v, want %q first", name, cmd, role)
		}
	}
	if !strings.Contains(c.service(t, "simulator").script(), "--rate") {
		t.Error("simulator: no --rate: it would send as fast as it can")
	}
}

func TestComposeImage(t *testing.T) {
	c := loadCompose(t)
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	images := map[string]bool{}
	built := map[string]bool{}
	for _, name := range triplineServices {
		s := c.service(t, name)
		if s.Image != "" {
			images[s.Image] = true
		}
		ctx, dockerfile, ok := s.build()
		if !ok {
			continue
		}
		if abs(ctx) != abs("..") {
			t.Errorf("%s: build context %s is not the repository root", name, ctx)
		}
		if abs(dockerfile) != abs(dockerfilePath) {
			t.Errorf("%s: builds from %s, want %s", name, dockerfile, dockerfilePath)
		}
		built[name] = true
	}
	if len(images) > 1 {
		t.Errorf("tripline services use different images: %v", images)
	}
	for _, name := range triplineServices {
		if !built[name] && c.Services[name].Image == "" {
			t.Errorf("%s: neither builds from the Dockerfile nor names an image", name)
		}
		if !built[name] && len(built) == 0 {
			t.Errorf("%s: no tripline service builds the image %v", name, images)
		}
	}
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{
		"FROM golang:1.26",
		"CGO_ENABLED=0",
		"-trimpath",
		"./cmd/tripline",
		`ENTRYPOINT ["/tripline"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("%s: no %q", dockerfilePath, want)
		}
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("%s: not multi-stage", dockerfilePath)
	}
	runtime := froms[len(froms)-1][1]
	if !strings.Contains(runtime, "distroless") || !strings.HasSuffix(runtime, ":nonroot") {
		if !regexp.MustCompile(`(?m)^USER\s+\S+`).MatchString(df) {
			t.Errorf("%s: runtime image %s runs as root (no USER, not distroless :nonroot)", dockerfilePath, runtime)
		}
	}
}

// TestDockerignoreKeepsBuildInputs: the build needs go.mod, go.sum, every
// Go file of the binary and every //go:embed target.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	raw, err := os.ReadFile(dockerignorePath)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Skip(".dockerignore has exceptions; this check does not model them")
		}
		patterns = append(patterns, filepath.Clean(strings.TrimPrefix(line, "/")))
	}
	ignored := func(rel string) bool {
		parts := strings.Split(rel, "/")
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			for _, p := range patterns {
				if ok, _ := filepath.Match(p, prefix); ok {
					return true
				}
				if rest, ok := strings.CutPrefix(p, "**/"); ok {
					for j := range i {
						if ok, _ := filepath.Match(rest, strings.Join(parts[j:i], "/")); ok {
							return true
						}
					}
				}
			}
		}
		return false
	}
	embed := regexp.MustCompile(`(?m)^//go:embed\s+(.+)$`)
	needed := []string{"go.mod", "go.sum"}
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		needed = append(needed, rel)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range embed.FindAllStringSubmatch(string(src), -1) {
			for _, target := range strings.Fields(m[1]) {
				needed = append(needed, filepath.ToSlash(filepath.Join(filepath.Dir(rel), strings.Trim(target, `"`))))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range needed {
		if strings.HasPrefix(rel, "deployments/") {
			continue // this package is not part of the binary
		}
		if ignored(rel) {
			t.Errorf("%s excludes %s, which the image build needs", dockerignorePath, rel)
		}
	}
}

// kafkaInternal returns the host:port addresses other containers reach the
// broker on: advertised listeners whose host is the kafka service.
func kafkaInternal(t *testing.T, c *composeFile) map[string]bool {
	t.Helper()
	env := c.service(t, "kafka").env()
	bound := map[string]bool{}
	for l := range strings.SplitSeq(env["KAFKA_LISTENERS"], ",") {
		_, addr, _ := strings.Cut(strings.TrimSpace(l), "://")
		if _, port, err := net.SplitHostPort(addr); err == nil {
			bound[port] = true
		}
	}
	out := map[string]bool{}
	for l := range strings.SplitSeq(env["KAFKA_ADVERTISED_LISTENERS"], ",") {
		_, addr, _ := strings.Cut(strings.TrimSpace(l), "://")
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("kafka: advertised listener %q: %v", l, err)
			continue
		}
		if !bound[port] {
			t.Errorf("kafka: advertises %s but KAFKA_LISTENERS binds no listener on port %s", addr, port)
		}
		if host == "kafka" {
			out[addr] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("kafka: no advertised listener on the kafka service name")
	}
	return out
}

func TestComposeKafka(t *testing.T) {
	c := loadCompose(t)
	env := c.service(t, "kafka").env()
	want := map[string]string{
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE":        "false",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
		"KAFKA_CONTROLLER_LISTENER_NAMES":        "CONTROLLER",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("kafka: %s = %q, want %q", k, env[k], v)
		}
	}
	roles := strings.Split(env["KAFKA_PROCESS_ROLES"], ",")
	if !slices.Contains(roles, "broker") || !slices.Contains(roles, "controller") {
		t.Errorf("kafka: KAFKA_PROCESS_ROLES = %q, want broker,controller (KRaft single node)", env["KAFKA_PROCESS_ROLES"])
	}
	nodeID := env["KAFKA_NODE_ID"]
	controllerPort := ""
	for l := range strings.SplitSeq(env["KAFKA_LISTENERS"], ",") {
		if name, addr, _ := strings.Cut(l, "://"); name == "CONTROLLER" {
			_, controllerPort, _ = net.SplitHostPort(addr)
		}
	}
	if voters := env["KAFKA_CONTROLLER_QUORUM_VOTERS"]; nodeID == "" || controllerPort == "" ||
		voters != nodeID+"@kafka:"+controllerPort {
		t.Errorf("kafka: KAFKA_CONTROLLER_QUORUM_VOTERS = %q, want %s@kafka:%s (node ID @ controller listener)", voters, nodeID, controllerPort)
	}
	if c.service(t, "kafka").Healthcheck == nil {
		t.Error("kafka: no healthcheck")
	}

	internal := kafkaInternal(t, c)
	for name, s := range c.Services {
		brokers, ok := s.env()["TRIPLINE_BROKERS"]
		if !ok {
			continue
		}
		for b := range strings.SplitSeq(brokers, ",") {
			if !internal[strings.TrimSpace(b)] {
				t.Errorf("%s: TRIPLINE_BROKERS %q is not a kafka listener (%v)", name, b, keys(internal))
			}
		}
	}
	for _, name := range []string{"ingest", "detect", "notify", "simulator"} {
		if _, ok := c.service(t, name).env()["TRIPLINE_BROKERS"]; !ok {
			t.Errorf("%s: no TRIPLINE_BROKERS: it would dial 127.0.0.1:9092 inside its container", name)
		}
	}
	// console has no default broker: without one, closes and reopens are
	// not published and notify never resolves them.
	if _, ok := c.service(t, "console").env()["TRIPLINE_BROKERS"]; !ok {
		t.Error("console: no TRIPLINE_BROKERS: closes and reopens would not reach tripline.alerts")
	}
	bootstrap := regexp.MustCompile(`--bootstrap-server[ =](\S+)`)
	for _, name := range []string{"kafka", "kafka-init"} {
		s := c.service(t, name)
		text := s.script()
		if s.Healthcheck != nil {
			text += " " + strings.Join(words(s.Healthcheck.Test), " ")
		}
		for _, m := range bootstrap.FindAllStringSubmatch(text, -1) {
			if !internal[m[1]] {
				t.Errorf("%s: --bootstrap-server %s is not a kafka listener (%v)", name, m[1], keys(internal))
			}
		}
	}
}

// composeTopics returns topic -> partitions as created by kafka-init.
func composeTopics(t *testing.T, c *composeFile) map[string]int {
	t.Helper()
	script := c.service(t, "kafka-init").script()
	create := regexp.MustCompile(`kafka-topics\.sh\s[^\n]*?--create[^\n]*`)
	topicRe := regexp.MustCompile(`--topic[ =](\S+)`)
	partsRe := regexp.MustCompile(`--partitions[ =](\d+)`)
	out := map[string]int{}
	lines := create.FindAllString(script, -1)
	if len(lines) == 0 {
		// A one-line command list loses its newlines: split on the tool.
		for _, l := range strings.Split(script, "kafka-topics.sh")[1:] {
			if strings.Contains(l, "--create") {
				lines = append(lines, l)
			}
		}
	}
	for _, line := range lines {
		if !strings.Contains(line, "/opt/kafka/bin/") && !strings.Contains(script, "/opt/kafka/bin/kafka-topics.sh") {
			t.Errorf("kafka-init: does not use /opt/kafka/bin/kafka-topics.sh: %s", line)
		}
		tm, pm := topicRe.FindStringSubmatch(line), partsRe.FindStringSubmatch(line)
		if tm == nil || pm == nil {
			t.Errorf("kafka-init: create without --topic and --partitions: %s", line)
			continue
		}
		if !strings.Contains(line, "--if-not-exists") {
			t.Errorf("kafka-init: creating %s fails on a second run: add --if-not-exists", tm[1])
		}
		if !strings.Contains(line, "--replication-factor 1") {
			t.Errorf("kafka-init: %s needs --replication-factor 1 on a single broker", tm[1])
		}
		n, _ := strconv.Atoi(pm[1])
		out[tm[1]] = n
	}
	return out
}

func TestComposeTopics(t *testing.T) {
	c := loadCompose(t)
	got := composeTopics(t, c)
	want := slices.Clone(broker.PipelineTopics)
	sort.Strings(want)
	if names := keys(got); !slices.Equal(names, want) {
		t.Fatalf("kafka-init creates %v, the pipeline uses %v", names, want)
	}
	if d := c.service(t, "kafka-init").dependsOn()["kafka"]; d != "service_healthy" {
		t.Errorf("kafka-init: depends_on kafka %q, want service_healthy", d)
	}
	// Replicas beyond the partition count of what a worker reads sit idle.
	maxReplicas := map[string]int{
		"ingest": min(got[kafkaio.TopicRemoteSessions], got[kafkaio.TopicSoftwareUpdates]),
		"detect": got[kafkaio.TopicEvents],
		"notify": got[kafkaio.TopicAlerts],
	}
	for name, limit := range maxReplicas {
		if r := c.service(t, name).Deploy.Replicas; r != nil && *r > limit {
			t.Errorf("%s: %d replicas, but its topics have %d partitions", name, *r, limit)
		}
	}
	for _, topic := range []string{kafkaio.TopicDLQ, kafkaio.TopicAlerts, kafkaio.TopicAlertsDLQ} {
		if got[topic] < 1 {
			t.Errorf("%s: no partitions", topic)
		}
	}
	// The topics notify reads and writes by default are the ones created.
	if notify.TopicAlerts != kafkaio.TopicAlerts || notify.TopicDLQ != kafkaio.TopicAlertsDLQ {
		t.Errorf("notify uses %s and %s, kafka-init creates %s and %s", notify.TopicAlerts, notify.TopicDLQ, kafkaio.TopicAlerts, kafkaio.TopicAlertsDLQ)
	}
}

func TestComposeClickHouse(t *testing.T) {
	c := loadCompose(t)
	ch := c.service(t, "clickhouse")
	if ch.Healthcheck == nil {
		t.Error("clickhouse: no healthcheck")
	}
	if ch.Ulimits["nofile"] == nil {
		t.Error("clickhouse: no nofile ulimit")
	}
	ports := ch.containerPorts()
	if !ports[clickhouseNativePort] {
		t.Fatalf("clickhouse: port %s (native protocol) neither exposed nor published: %v", clickhouseNativePort, keys(ports))
	}
	chEnv := ch.env()
	for _, name := range []string{"migrate", "ingest", "detect", "notify", "console"} {
		env := c.service(t, name).env()
		addr, ok := env["TRIPLINE_CLICKHOUSE"]
		if !ok {
			t.Errorf("%s: no TRIPLINE_CLICKHOUSE", name)
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "clickhouse" || !ports[port] || port != clickhouseNativePort {
			t.Errorf("%s: TRIPLINE_CLICKHOUSE = %q, want clickhouse:%s (service name, native port)", name, addr, clickhouseNativePort)
		}
		// Same ${VAR:-default} expression on both sides, so the server and
		// its clients cannot disagree.
		pairs := [][2]string{{"TRIPLINE_CLICKHOUSE_USER", "CLICKHOUSE_USER"}, {"TRIPLINE_CLICKHOUSE_PASSWORD", "CLICKHOUSE_PASSWORD"}}
		for _, p := range pairs {
			if env[p[0]] != chEnv[p[1]] {
				t.Errorf("%s: %s = %q, but clickhouse's %s = %q", name, p[0], env[p[0]], p[1], chEnv[p[1]])
			}
		}
	}
	if d := c.service(t, "migrate").dependsOn()["clickhouse"]; d != "service_healthy" {
		t.Errorf("migrate: depends_on clickhouse %q, want service_healthy", d)
	}
}

func TestComposeStartOrder(t *testing.T) {
	c := loadCompose(t)
	want := map[string]map[string]string{
		"kafka-init": {"kafka": "service_healthy"},
		"migrate":    {"clickhouse": "service_healthy"},
		"ingest":     {"migrate": "service_completed_successfully", "kafka-init": "service_completed_successfully"},
		"detect":     {"migrate": "service_completed_successfully", "kafka-init": "service_completed_successfully"},
		"notify":     {"migrate": "service_completed_successfully", "kafka-init": "service_completed_successfully"},
		"console":    {"migrate": "service_completed_successfully", "kafka-init": "service_completed_successfully"},
		"simulator":  {"kafka-init": "service_completed_successfully"},
	}
	for name, deps := range want {
		got := c.service(t, name).dependsOn()
		for dep, cond := range deps {
			if got[dep] != cond {
				t.Errorf("%s: depends_on %s: %q, want %q", name, dep, got[dep], cond)
			}
		}
	}
	for name, s := range c.Services {
		for dep, cond := range s.dependsOn() {
			target := c.Services[dep]
			if target == nil {
				t.Errorf("%s: depends on unknown service %s", name, dep)
				continue
			}
			if cond == "service_healthy" && target.Healthcheck == nil {
				t.Errorf("%s: waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
}

func TestComposeWorkers(t *testing.T) {
	c := loadCompose(t)
	shutdown := map[string]time.Duration{"ingest": shutdownTimeout, "detect": shutdownTimeout, "notify": shutdownTimeout, "console": consoleShutdownTimeout}
	for name, wait := range shutdown {
		s := c.service(t, name)
		env := s.env()
		// console serves no /metrics (it has no --metrics-addr).
		if addr := env["TRIPLINE_METRICS_ADDR"]; name != "console" && !strings.HasSuffix(addr, ":"+strconv.Itoa(metricsPort)) {
			t.Errorf("%s: TRIPLINE_METRICS_ADDR = %q, want :%d", name, addr, metricsPort)
		}
		if env["TRIPLINE_LOG_FORMAT"] != "json" {
			t.Errorf("%s: TRIPLINE_LOG_FORMAT = %q, want json", name, env["TRIPLINE_LOG_FORMAT"])
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace <= wait {
			t.Errorf("%s: stop_grace_period %q must exceed its %s shutdown (Docker's default is 10s)", name, s.StopGracePeriod, wait)
		}
	}
	if r := c.service(t, "ingest").Deploy.Replicas; r == nil || *r < 2 {
		t.Error("ingest: want deploy.replicas >= 2 (workers share a consumer group)")
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			spec := fmt.Sprint(v)
			if m, ok := v.(map[string]any); ok {
				spec = fmt.Sprint(m["source"])
			}
			src, _, _ := strings.Cut(spec, ":")
			if src == "" || strings.ContainsAny(src[:1], "./~$") {
				continue // bind mount
			}
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: volume %s is not declared under top-level volumes", name, src)
			}
		}
	}
	for _, name := range []string{"kafka", "clickhouse"} {
		if len(c.service(t, name).Volumes) == 0 {
			t.Errorf("%s: no data volume: data is lost with the container", name)
		}
	}
}

func TestComposeNoSecrets(t *testing.T) {
	c := loadCompose(t)
	defaults := map[string]string{}
	for name, s := range c.Services {
		for k, v := range s.env() {
			if !secretName.MatchString(k) || v == "" {
				continue
			}
			m := interpolation.FindStringSubmatch(v)
			if m == nil {
				t.Errorf("%s: %s has a literal value; use ${VAR} or the ${VAR:-dev-default} form", name, k)
				continue
			}
			if prev, ok := defaults[k]; ok && prev != v {
				t.Errorf("%s: %s = %q elsewhere %q", name, k, v, prev)
			}
			defaults[k] = v
		}
		if strings.Contains(s.script(), "--password") {
			t.Errorf("%s: password on a command line (visible in ps): use the environment", name)
		}
	}
}

// TestComposeEnvNames: every TRIPLINE_* variable is one tripline reads, so
// a typo does not silently fall back to a default; and every flag and
// variable a tripline service passes is one its command reads (console,
// say, has no --metrics-addr). notify may also be given its config's
// env: secret references.
func TestComposeEnvNames(t *testing.T) {
	known := triplineEnvNames(t)
	c := loadCompose(t)
	notifyEnv, _ := notifyRefs(loadNotifyExample(t))
	for name, s := range c.Services {
		env := s.env()
		for k := range env {
			if strings.HasPrefix(k, "TRIPLINE_") && !known[k] && !(name == "notify" && notifyEnv[k]) {
				t.Errorf("%s: %s is not a tripline setting", name, k)
			}
		}
		if !slices.Contains(triplineServices, name) {
			continue
		}
		var extra map[string]bool
		if name == "notify" {
			extra = notifyEnv
		}
		checkCommand(t, name, words(s.Command), keys(env), extra)
	}
}

// TestComposeNotify: notify runs the example config, mounted read-only at
// its --config path; the config passes `notify lint`; every secret it
// references is provided, env: ones from the host's environment (never a
// literal) and file: ones as Compose secrets from git-ignored files.
func TestComposeNotify(t *testing.T) {
	c := loadCompose(t)
	s := c.service(t, "notify")
	args := words(s.Command)
	env := s.env()
	config := setting(args[1:], env, "config", "")
	if config == "" {
		t.Fatal("notify: no --config: it refuses to start without one")
	}
	src, ok := s.mounts()[config]
	if !ok {
		t.Fatalf("notify: --config %s is not a mounted file", config)
	}
	if abs(t, src) != abs(t, notifyExamplePath) {
		t.Errorf("notify: mounts %s at %s, want %s", src, config, notifyExamplePath)
	}
	if !slices.ContainsFunc(s.Volumes, func(v any) bool { return strings.HasSuffix(fmt.Sprint(v), config+":ro") }) {
		t.Errorf("notify: mount %s read-only (:ro)", config)
	}
	cfg := loadNotifyExample(t)
	envRefs, fileRefs := notifyRefs(cfg)
	for name := range envRefs {
		v, ok := env[name]
		if !ok {
			t.Errorf("notify: %s referenced (env:%s) by %s is not set: notify refuses to start", name, name, notifyExamplePath)
			continue
		}
		if !interpolation.MatchString(v) {
			t.Errorf("notify: %s = %q: a secret comes from the host's environment (${%s}), never a literal", name, v, name)
		}
	}
	secretFiles := s.secretFiles()
	ignored := gitignored(t)
	for path := range fileRefs {
		secret, ok := secretFiles[path]
		if !ok {
			t.Errorf("notify: file:%s referenced by %s is not a Compose secret of the service (%v)", path, notifyExamplePath, keys(secretFiles))
			continue
		}
		checkComposeSecret(t, c, "notify", secret, ignored)
	}
}

// TestComposeConsole: the console listens on all interfaces of its
// container on the published port (published on loopback only), reads a
// tokens file that is a Compose secret, and publishes to Kafka.
func TestComposeConsole(t *testing.T) {
	c := loadCompose(t)
	s := c.service(t, "console")
	args := words(s.Command)
	env := s.env()
	listen := setting(args[1:], env, "listen", consoleDefaultListen)
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("console: --listen %q: %v", listen, err)
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("console: --listen %s: only its own container reaches %s; listen on :%s", listen, host, port)
	}
	published := false
	for _, p := range s.Ports {
		spec := fmt.Sprint(p)
		parts := strings.Split(spec, ":")
		if parts[len(parts)-1] != port {
			continue
		}
		published = true
		if len(parts) != 3 || parts[0] != "127.0.0.1" {
			t.Errorf("console: port %q: publish on 127.0.0.1 only (127.0.0.1:HOST:%s), like ClickHouse and Kafka", spec, port)
		}
	}
	if !published {
		t.Errorf("console: listens on %s but publishes no port for it (%v)", port, s.Ports)
	}
	ignored := gitignored(t)
	for _, flag := range consoleFiles {
		path := setting(args[1:], env, flag, "")
		if path == "" {
			t.Errorf("console: no --%s (%s)", flag, consoleFileRoles[flag])
			continue
		}
		secret, ok := s.secretFiles()[path]
		if !ok {
			t.Errorf("console: --%s %s is not a Compose secret of the service", flag, path)
			continue
		}
		checkComposeSecret(t, c, "console", secret, ignored)
	}
}

// consoleFiles are the console's credential files, both deployed: users
// log in to the pages, tokens call the API.
var consoleFiles = []string{"users", "tokens"}

var consoleFileRoles = map[string]string{"users": "the pages' logins", "tokens": "the API's bearer tokens"}

// checkComposeSecret: a top-level secret read from a file under a
// git-ignored directory (or from the host's environment).
func checkComposeSecret(t *testing.T, c *composeFile, service, name string, ignored []string) {
	t.Helper()
	def, ok := c.Secrets[name]
	if !ok {
		t.Errorf("%s: secret %s is not defined under top-level secrets", service, name)
		return
	}
	if def.Environment != "" {
		return
	}
	if def.File == "" {
		t.Errorf("%s: secret %s has neither file nor environment", service, name)
		return
	}
	rel := filepath.ToSlash(filepath.Clean(def.File))
	if !slices.ContainsFunc(ignored, func(dir string) bool { return strings.HasPrefix(rel+"/", dir) }) {
		t.Errorf("%s: secret %s is read from %s, which %s does not ignore: it could be committed", service, name, def.File, gitignorePath)
	}
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// gitignored returns the directories .gitignore ignores, as
// repository-relative paths ending in /.
func gitignored(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(gitignorePath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "/") && strings.HasSuffix(line, "/") {
			out = append(out, strings.TrimPrefix(line, "/"))
		}
	}
	return out
}

// triplineEnvNames derives the environment variables tripline reads from
// the flag definitions in cmd/tripline (every flag --x-y is TRIPLINE_X_Y)
// and its secret() calls.
func triplineEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(cmdDir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s", cmdDir)
	}
	flagRe := regexp.MustCompile(`\bfs\.(?:String|Int|Int64|Uint|Uint64|Float64|Bool|Duration|Func|Var|TextVar)(?:Var)?\((?:[^,()]+,\s*)?"([a-z0-9-]+)"`)
	secretRe := regexp.MustCompile(`\bsecret\("([A-Z0-9_]+)"\)`)
	known := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flagRe.FindAllStringSubmatch(string(src), -1) {
			known["TRIPLINE_"+strings.ToUpper(strings.ReplaceAll(m[1], "-", "_"))] = true
		}
		for _, m := range secretRe.FindAllStringSubmatch(string(src), -1) {
			known["TRIPLINE_"+m[1]] = true
			known["TRIPLINE_"+m[1]+"_FILE"] = true
		}
	}
	for _, must := range []string{"TRIPLINE_BROKERS", "TRIPLINE_CLICKHOUSE", "TRIPLINE_CLICKHOUSE_PASSWORD"} {
		if !known[must] {
			t.Fatalf("found no %s among the flags of %s: update triplineEnvNames to how flags are defined now", must, cmdDir)
		}
	}
	return known
}

// TestComposeConfig asks the Compose client itself, which validates the
// file against the Compose specification without an engine.
func TestComposeConfig(t *testing.T) {
	var argv []string
	if docker, err := exec.LookPath("docker"); err == nil && exec.Command(docker, "compose", "version").Run() == nil {
		argv = []string{docker, "compose"}
	} else if standalone, err := exec.LookPath("docker-compose"); err == nil {
		argv = []string{standalone}
	} else {
		t.Skip("neither the docker compose plugin nor docker-compose is installed")
	}
	for _, extra := range [][]string{nil, {"--profile", "simulate"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		args := append(append(slices.Clone(argv[1:]), "-f", composePath), extra...)
		args = append(args, "config", "-q")
		cmd := exec.CommandContext(ctx, argv[0], args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Errorf("%s %s: %v\n%s", argv[0], strings.Join(args, " "), err, stderr.String())
		}
	}
}

// ------------------------------------------------------------- Kubernetes

type k8sObject struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   objectMeta        `yaml:"metadata"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
	// Kustomization fields.
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`

	file string
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type podSpec struct {
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string    `yaml:"name"`
			Items []keyPath `yaml:"items"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string    `yaml:"secretName"`
			Items      []keyPath `yaml:"items"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
	TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
	RestartPolicy                 string          `yaml:"restartPolicy"`
	SecurityContext               securityContext `yaml:"securityContext"`
	InitContainers                []container     `yaml:"initContainers"`
	Containers                    []container     `yaml:"containers"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
			ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *keyRef `yaml:"configMapRef"`
		SecretRef    *keyRef `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	StartupProbe    *probe          `yaml:"startupProbe"`
	LivenessProbe   *probe          `yaml:"livenessProbe"`
	ReadinessProbe  *probe          `yaml:"readinessProbe"`
	SecurityContext securityContext `yaml:"securityContext"`
	Resources       struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type keyPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
}

type keyRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

func (o *k8sObject) String() string { return o.file + ": " + o.Kind + "/" + o.Metadata.Name }

func loadManifests(t *testing.T) []*k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s", k8sDir)
	}
	var out []*k8sObject
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" {
				continue // empty document
			}
			o.file = filepath.Base(f)
			out = append(out, &o)
		}
	}
	return out
}

type manifests struct {
	all        []*k8sObject
	namespace  string
	configMaps map[string]map[string]string
	secrets    map[string]map[string]string
	byKind     map[string][]*k8sObject
	kustomize  *k8sObject
}

func loadK8s(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{configMaps: map[string]map[string]string{}, secrets: map[string]map[string]string{}, byKind: map[string][]*k8sObject{}}
	m.all = loadManifests(t)
	for _, o := range m.all {
		m.byKind[o.Kind] = append(m.byKind[o.Kind], o)
		switch o.Kind {
		case "Namespace":
			m.namespace = o.Metadata.Name
		case "ConfigMap":
			m.configMaps[o.Metadata.Name] = o.Data
		case "Secret":
			values := map[string]string{}
			for k, v := range o.Data {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					t.Errorf("%s: data.%s is not base64", o, k)
				}
				values[k] = string(b)
			}
			for k, v := range o.StringData {
				values[k] = v
			}
			m.secrets[o.Metadata.Name] = values
		case "Kustomization":
			m.kustomize = o
		}
	}
	if m.namespace == "" {
		t.Fatal("no Namespace manifest")
	}
	return m
}

// workloads are the Deployments and Jobs.
func (m *manifests) workloads() []*k8sObject {
	return append(slices.Clone(m.byKind["Deployment"]), m.byKind["Job"]...)
}

func TestKubernetesNamespace(t *testing.T) {
	m := loadK8s(t)
	for _, o := range m.all {
		switch o.Kind {
		case "Namespace":
		case "Kustomization":
			if o.Namespace != m.namespace {
				t.Errorf("%s: namespace %q, want %q", o, o.Namespace, m.namespace)
			}
		default:
			if o.Metadata.Namespace != m.namespace {
				t.Errorf("%s: namespace %q, want %q", o, o.Metadata.Namespace, m.namespace)
			}
		}
	}
}

func TestKubernetesWorkloads(t *testing.T) {
	m := loadK8s(t)
	known := triplineEnvNames(t)
	notifyEnv, _ := notifyRefs(loadNotifyExample(t))
	roles := map[string]string{}
	for _, o := range m.workloads() {
		pod := o.Spec.Template.Spec
		if len(pod.Containers) == 0 {
			t.Errorf("%s: no containers", o)
			continue
		}
		for k, v := range o.Spec.Selector.MatchLabels {
			if o.Kind == "Deployment" && o.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod template's labels", o, k, v)
			}
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			where := fmt.Sprintf("%s container %s", o, c.Name)
			if len(c.Args) > 0 && c.Image != "" {
				roles[c.Args[0]] = o.Kind
			}
			checkSecurity(t, where, pod.SecurityContext, c.SecurityContext)
			for _, r := range []string{"cpu", "memory"} {
				if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
					t.Errorf("%s: no %s request and limit", where, r)
				}
			}
			known := known
			var extra map[string]bool
			if len(c.Args) > 0 && c.Args[0] == "notify" {
				extra = notifyEnv
				known = maps.Clone(known)
				maps.Copy(known, notifyEnv)
			}
			checkEnv(t, m, where, c, known)
			var env []string
			for _, e := range c.Env {
				env = append(env, e.Name)
			}
			checkCommand(t, where, c.Args, env, extra)
		}
	}
	want := map[string]string{"ingest": "Deployment", "detect": "Deployment", "notify": "Deployment", "console": "Deployment", "migrate": "Job"}
	for role, kind := range want {
		if roles[role] != kind {
			t.Errorf("no %s running tripline %s", kind, role)
		}
	}
}

func checkSecurity(t *testing.T, where string, pod, c securityContext) {
	t.Helper()
	isTrue := func(b *bool) bool { return b != nil && *b }
	if !isTrue(c.RunAsNonRoot) && !isTrue(pod.RunAsNonRoot) {
		t.Errorf("%s: runAsNonRoot not set", where)
	}
	if !isTrue(c.ReadOnlyRootFilesystem) {
		t.Errorf("%s: readOnlyRootFilesystem not true", where)
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation not false", where)
	}
}

// checkEnv: every reference resolves to a ConfigMap or Secret key defined
// here, and the password comes from a Secret.
func checkEnv(t *testing.T, m *manifests, where string, c container, known map[string]bool) {
	t.Helper()
	env := map[string]bool{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			data, ok := m.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q is not defined in %s", where, ef.ConfigMapRef.Name, k8sDir)
			}
			for k := range data {
				env[k] = true
			}
		case ef.SecretRef != nil:
			data, ok := m.secrets[ef.SecretRef.Name]
			if !ok {
				t.Errorf("%s: envFrom Secret %q is not defined in %s", where, ef.SecretRef.Name, k8sDir)
			}
			for k := range data {
				env[k] = true
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = true
		if strings.HasPrefix(e.Name, "TRIPLINE_") && !known[e.Name] {
			t.Errorf("%s: %s is not a tripline setting", where, e.Name)
		}
		if e.ValueFrom == nil {
			if secretName.MatchString(e.Name) && e.Value != "" {
				t.Errorf("%s: %s has a literal value; use a secretKeyRef", where, e.Name)
			}
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			if _, ok := m.secrets[r.Name][r.Key]; !ok {
				t.Errorf("%s: %s refers to Secret %s key %s, not defined in %s", where, e.Name, r.Name, r.Key, k8sDir)
			}
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			if _, ok := m.configMaps[r.Name][r.Key]; !ok {
				t.Errorf("%s: %s refers to ConfigMap %s key %s, not defined in %s", where, e.Name, r.Name, r.Key, k8sDir)
			}
		}
		if secretName.MatchString(e.Name) && e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s must come from a Secret", where, e.Name)
		}
	}
	for _, must := range []string{"TRIPLINE_CLICKHOUSE", "TRIPLINE_CLICKHOUSE_PASSWORD"} {
		if !env[must] {
			t.Errorf("%s: no %s", where, must)
		}
	}
}

func TestKubernetesDeployments(t *testing.T) {
	m := loadK8s(t)
	c := loadCompose(t)
	topics := composeTopics(t, c)
	partitions := map[string]int{
		"ingest": min(topics[kafkaio.TopicRemoteSessions], topics[kafkaio.TopicSoftwareUpdates]),
		"detect": topics[kafkaio.TopicEvents],
		"notify": topics[kafkaio.TopicAlerts],
	}
	if len(m.byKind["Deployment"]) == 0 {
		t.Fatal("no Deployments")
	}
	for _, o := range m.byKind["Deployment"] {
		pod := o.Spec.Template.Spec
		role := ""
		if len(pod.Containers) > 0 && len(pod.Containers[0].Args) > 0 {
			role = pod.Containers[0].Args[0]
		}
		spec, ok := deploymentSpecs[role]
		if !ok {
			t.Errorf("%s: runs tripline %q, which deploymentSpecs does not describe", o, role)
			continue
		}
		if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= spec.shutdown {
			t.Errorf("%s: terminationGracePeriodSeconds must exceed the %s shutdown", o, spec.shutdown)
		}
		ann := o.Spec.Template.Metadata.Annotations
		if spec.metrics {
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(metricsPort) || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("%s: prometheus.io annotations %v, want scrape true, port %d, path /metrics", o, ann, metricsPort)
			}
		} else if ann["prometheus.io/scrape"] == "true" {
			t.Errorf("%s: tripline %s serves no /metrics, but prometheus.io/scrape is true", o, role)
		}
		for _, ctr := range pod.Containers {
			where := fmt.Sprintf("%s container %s", o, ctr.Name)
			port := metricsPort
			if !spec.metrics {
				env := map[string]string{}
				for _, e := range ctr.Env {
					env[e.Name] = e.Value
				}
				listen := setting(ctr.Args[1:], env, "listen", consoleDefaultListen)
				host, p, err := net.SplitHostPort(listen)
				if err != nil || (host != "" && host != "0.0.0.0" && host != "::") {
					t.Errorf("%s: --listen %q: the probes and the Service cannot reach it; listen on :PORT", where, listen)
				}
				port, _ = strconv.Atoi(p)
			}
			checkProbe(t, where, "liveness", ctr.LivenessProbe, spec.live, port, ctr)
			checkProbe(t, where, "readiness", ctr.ReadinessProbe, spec.ready, port, ctr)
			if ctr.StartupProbe != nil {
				checkProbe(t, where, "startup", ctr.StartupProbe, spec.live, port, ctr)
			}
			if addr := metricsAddr(m, ctr); spec.metrics && !strings.HasSuffix(addr, ":"+strconv.Itoa(metricsPort)) {
				t.Errorf("%s: TRIPLINE_METRICS_ADDR = %q: probes and scraping expect :%d", where, addr, metricsPort)
			}
			if len(ctr.Args) > 0 && o.Spec.Replicas != nil {
				if limit, ok := partitions[ctr.Args[0]]; ok && *o.Spec.Replicas > limit {
					t.Errorf("%s: %d replicas, but its topics have %d partitions", o, *o.Spec.Replicas, limit)
				}
			}
		}
	}
}

// deploymentSpec is how a Deployment's command is probed and scraped.
type deploymentSpec struct {
	// metrics: it serves /metrics, /healthz and /readyz on metricsPort;
	// otherwise the probes use its --listen port.
	metrics     bool
	live, ready string
	shutdown    time.Duration
}

var deploymentSpecs = map[string]deploymentSpec{
	"ingest": {true, "/healthz", "/readyz", shutdownTimeout},
	"detect": {true, "/healthz", "/readyz", shutdownTimeout},
	"notify": {true, "/healthz", "/readyz", shutdownTimeout},
	// console has no health endpoint; the OpenAPI document is its one
	// path served without a token (TestConsoleProbePathServed).
	"console": {false, "/api/openapi.yaml", "/api/openapi.yaml", consoleShutdownTimeout},
}

func checkProbe(t *testing.T, where, kind string, p *probe, path string, want int, c container) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: no %s probe (httpGet %s)", where, kind, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: %s probe on %q, want %s", where, kind, p.HTTPGet.Path, path)
	}
	port := -1
	switch v := p.HTTPGet.Port.(type) {
	case int:
		port = v
	case string:
		for _, cp := range c.Ports {
			if cp.Name == v {
				port = cp.ContainerPort
			}
		}
	}
	if port != want {
		t.Errorf("%s: %s probe port %v does not resolve to %d", where, kind, p.HTTPGet.Port, want)
	}
}

func metricsAddr(m *manifests, c container) string {
	addr := ""
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if v, ok := m.configMaps[ef.ConfigMapRef.Name]["TRIPLINE_METRICS_ADDR"]; ok {
				addr = v
			}
		}
	}
	for _, e := range c.Env {
		if e.Name == "TRIPLINE_METRICS_ADDR" {
			addr = e.Value
		}
	}
	return addr
}

// TestProbePathsServed: the paths the manifests probe and scrape are the
// ones the ops handler serves.
func TestProbePathsServed(t *testing.T) {
	var ready ops.Readiness
	srv := httptest.NewServer(ops.Handler(ops.NewRegistry(), &ready))
	defer srv.Close()
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
}

// TestConsoleProbePathServed: the console's probe path answers without a
// token or session, as the kubelet sends none: with --tokens only (the
// API's handler) and with --users (the console's pages around it).
func TestConsoleProbePathServed(t *testing.T) {
	_, line, err := api.NewToken("probe", api.RoleViewer, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.ParseTokens([]byte(line+"\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	svc := triage.New(nil)
	apiSrv := api.New(svc, tokens, zerolog.Nop())
	userLine, err := console.UserLine("probe", console.RoleAdmin, "", "", "a long enough password for the probe test")
	if err != nil {
		t.Fatal(err)
	}
	users, err := console.ParseUsers([]byte(userLine+"\n"), "users")
	if err != nil {
		t.Fatal(err)
	}
	pack, err := console.NewRulePack("", engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	con, err := console.New(console.Config{Triage: svc, Store: noStore{}, Users: users, API: apiSrv, Rules: pack, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, s := range deploymentSpecs {
		if !s.metrics {
			paths[s.live], paths[s.ready] = true, true
		}
	}
	for name, h := range map[string]http.Handler{"--tokens": apiSrv.Handler(), "--users": con.Handler()} {
		srv := httptest.NewServer(h)
		for path := range paths {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("console %s: GET %s without a token: %s", name, path, resp.Status)
			}
		}
		srv.Close()
	}
}

// noStore is a console.Store the probe path must not need.
type noStore struct{}

func (noStore) Events(context.Context, store.Scope, string, []string) ([]store.EventRow, error) {
	return nil, errors.New("probe read events")
}

func (noStore) RuleActivity(context.Context, store.Scope, time.Time) ([]store.RuleDay, []store.RuleTotal, error) {
	return nil, nil, errors.New("probe read rule activity")
}

// mountedFile finds what a pod mounts at path: a key of a ConfigMap or
// Secret volume (items, or every key without them).
func mountedFile(pod podSpec, c container, path string) (kind, name, key string, ok bool) {
	for _, vm := range c.VolumeMounts {
		rel, found := strings.CutPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if vm.SubPath != "" || !found {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != vm.Name {
				continue
			}
			var items []keyPath
			switch {
			case v.ConfigMap != nil:
				kind, name, items = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items
			case v.Secret != nil:
				kind, name, items = "Secret", v.Secret.SecretName, v.Secret.Items
			default:
				continue
			}
			if len(items) == 0 {
				return kind, name, rel, true
			}
			for _, it := range items {
				if it.Path == rel {
					return kind, name, it.Key, true
				}
			}
		}
	}
	return "", "", "", false
}

// deploymentOf returns the Deployment running tripline role and its
// container.
func (m *manifests) deploymentOf(t *testing.T, role string) (*k8sObject, container) {
	t.Helper()
	for _, o := range m.byKind["Deployment"] {
		for _, c := range o.Spec.Template.Spec.Containers {
			if len(c.Args) > 0 && c.Args[0] == role {
				return o, c
			}
		}
	}
	t.Fatalf("no Deployment runs tripline %s", role)
	return nil, container{}
}

// TestKubernetesNotify: notify's --config is a key of a ConfigMap that
// passes `notify lint`, and every secret reference of it resolves in the
// pod: env: ones from a Secret (secretKeyRef), file: ones as keys of a
// mounted Secret, all defined in the example Secret.
func TestKubernetesNotify(t *testing.T) {
	m := loadK8s(t)
	o, c := m.deploymentOf(t, "notify")
	pod := o.Spec.Template.Spec
	config := setting(c.Args[1:], nil, "config", "")
	if config == "" {
		t.Fatalf("%s: no --config: notify refuses to start without one", o)
	}
	kind, name, key, ok := mountedFile(pod, c, config)
	if !ok || kind != "ConfigMap" {
		t.Fatalf("%s: --config %s is not mounted from a ConfigMap", o, config)
	}
	data, ok := m.configMaps[name][key]
	if !ok {
		t.Fatalf("%s: --config %s is key %s of ConfigMap %s, not defined in %s", o, config, key, name, k8sDir)
	}
	cfg, err := notify.Parse([]byte(data), "ConfigMap "+name+" "+key)
	if err != nil {
		t.Fatalf("tripline notify lint: %v", err)
	}
	example := loadNotifyExample(t)
	if len(cfg.Receivers) != len(example.Receivers) || len(cfg.Routes) != len(example.Routes) {
		t.Errorf("ConfigMap %s: %d receivers and %d routes, %s %d and %d: keep the copy in step", name, len(cfg.Receivers), len(cfg.Routes), notifyExamplePath, len(example.Receivers), len(example.Routes))
	}
	envRefs, fileRefs := notifyRefs(cfg)
	env := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			env[e.Name] = true
		}
	}
	for ref := range envRefs {
		if !env[ref] {
			t.Errorf("%s: env:%s of the notify config is not set from a Secret: notify refuses to start", o, ref)
		}
	}
	for path := range fileRefs {
		kind, name, key, ok := mountedFile(pod, c, path)
		if !ok || kind != "Secret" {
			t.Errorf("%s: file:%s of the notify config is not mounted from a Secret", o, path)
			continue
		}
		if _, ok := m.secrets[name][key]; !ok {
			t.Errorf("%s: file:%s is key %s of Secret %s, not defined in %s", o, path, key, name, k8sDir)
		}
	}
}

// TestKubernetesConsole: the tokens file is a key of a Secret, and a
// Service selects the console pods and targets its --listen port.
func TestKubernetesConsole(t *testing.T) {
	m := loadK8s(t)
	o, c := m.deploymentOf(t, "console")
	pod := o.Spec.Template.Spec
	for _, flag := range consoleFiles {
		path := setting(c.Args[1:], nil, flag, "")
		if path == "" {
			t.Errorf("%s: no --%s (%s)", o, flag, consoleFileRoles[flag])
			continue
		}
		kind, name, key, ok := mountedFile(pod, c, path)
		if !ok || kind != "Secret" {
			t.Errorf("%s: --%s %s is not mounted from a Secret", o, flag, path)
			continue
		}
		if _, ok := m.secrets[name][key]; !ok {
			t.Errorf("%s: --%s %s is key %s of Secret %s, not defined in %s", o, flag, path, key, name, k8sDir)
		}
	}
	_, port, _ := net.SplitHostPort(setting(c.Args[1:], nil, "listen", consoleDefaultListen))
	var services []k8sService
	for _, f := range mustGlob(t, filepath.Join(k8sDir, "*.yaml")) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var s k8sService
			err := dec.Decode(&s)
			if errors.Is(err, io.EOF) {
				break
			}
			var typeErr *yaml.TypeError
			if errors.As(err, &typeErr) {
				continue // another kind's spec.selector
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if s.Kind == "Service" {
				services = append(services, s)
			}
		}
	}
	found := false
	for _, s := range services {
		selects := len(s.Spec.Selector) > 0
		for k, v := range s.Spec.Selector {
			selects = selects && o.Spec.Template.Metadata.Labels[k] == v
		}
		if !selects {
			continue
		}
		found = true
		for _, p := range s.Spec.Ports {
			target := fmt.Sprint(p.TargetPort)
			for _, cp := range c.Ports {
				if cp.Name == target {
					target = strconv.Itoa(cp.ContainerPort)
				}
			}
			if p.TargetPort == nil {
				target = strconv.Itoa(p.Port)
			}
			if target != port {
				t.Errorf("Service %s: port %d targets %v, console listens on %s", s.Metadata.Name, p.Port, p.TargetPort, port)
			}
		}
	}
	if !found {
		t.Errorf("no Service selects %s's pods", o)
	}
}

type k8sService struct {
	Kind     string     `yaml:"kind"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Port       int `yaml:"port"`
			TargetPort any `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("nothing matches %s", pattern)
	}
	return files
}

func TestKubernetesConfig(t *testing.T) {
	m := loadK8s(t)
	for name, data := range m.configMaps {
		for k, v := range data {
			if secretName.MatchString(k) && !strings.HasSuffix(k, "_FILE") {
				t.Errorf("ConfigMap %s: %s looks like a secret; put it in a Secret", name, k)
			}
			if k == "TRIPLINE_BROKERS" || k == "TRIPLINE_CLICKHOUSE" {
				for addr := range strings.SplitSeq(v, ",") {
					if _, port, err := net.SplitHostPort(strings.TrimSpace(addr)); err != nil {
						t.Errorf("ConfigMap %s: %s entry %q is not HOST:PORT", name, k, addr)
					} else if k == "TRIPLINE_CLICKHOUSE" && (port == "8123" || port == "8443") {
						t.Errorf("ConfigMap %s: TRIPLINE_CLICKHOUSE uses HTTP port %s; tripline speaks the native protocol (9000, or 9440 with TLS)", name, port)
					}
				}
			}
		}
	}
}

func TestKubernetesNoSecrets(t *testing.T) {
	m := loadK8s(t)
	if len(m.secrets) == 0 {
		t.Fatal("no example Secret: the manifests refer to one")
	}
	for name, values := range m.secrets {
		for k, v := range values {
			if v != secretPlaceholder {
				t.Errorf("Secret %s: %s holds a real-looking value; commit only the placeholder %q", name, k, secretPlaceholder)
			}
		}
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), secretPlaceholder) {
		t.Errorf("%s does not document the placeholder %s", readmePath, secretPlaceholder)
	}
}

// TestKustomization: every manifest is listed except the example Secret,
// which must never be applied over the real one.
func TestKustomization(t *testing.T) {
	m := loadK8s(t)
	if m.kustomize == nil {
		t.Fatal("no kustomization.yaml")
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	var want []string
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && !strings.Contains(base, ".example.") {
			want = append(want, base)
		}
	}
	got := slices.Clone(m.kustomize.Resources)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources %v, want every manifest but the example Secret: %v", got, want)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// -------------------------------------------------- per-command settings

// commandFlags returns the flags of each tripline subcommand (run<Name>
// becomes name): those its run function defines on its flag set, plus
// those of the commonFlags registrations it calls, register(fs, workers)
// and registerKafka. A service passing a flag or TRIPLINE_* variable its
// command does not define would see it ignored (environment) or refused
// (command line).
func commandFlags(t *testing.T) map[string]map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(cmdDir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s", cmdDir)
	}
	fset := token.NewFileSet()
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				recv := fd.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					name = id.Name + "." + name
				}
			}
			funcs[name] = fd
		}
	}
	register, registerKafka := funcs["commonFlags.register"], funcs["commonFlags.registerKafka"]
	if register == nil || registerKafka == nil {
		t.Fatalf("%s: no commonFlags.register and registerKafka: update commandFlags to how flags are defined now", cmdDir)
	}
	isIdent := func(e ast.Expr, name string) bool {
		id, ok := e.(*ast.Ident)
		return ok && id.Name == name
	}
	flagMethod := regexp.MustCompile(`^(String|Int|Int64|Uint|Uint64|Float64|Bool|Duration|Func|BoolFunc|Var|TextVar)(Var)?$`)
	var defs func(n ast.Node, set map[string]bool)
	addRegister := func(set map[string]bool, workers bool) {
		split := false
		for _, st := range register.Body.List {
			if ifs, ok := st.(*ast.IfStmt); ok {
				if u, ok := ifs.Cond.(*ast.UnaryExpr); ok && u.Op == token.NOT && isIdent(u.X, "workers") {
					split = true
					if !workers {
						break
					}
					continue
				}
			}
			defs(st, set)
		}
		if !split {
			t.Fatalf("%s: commonFlags.register has no `if !workers` split: update commandFlags", cmdDir)
		}
	}
	defs = func(n ast.Node, set map[string]bool) {
		ast.Inspect(n, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch {
			case sel.Sel.Name == "register" && len(call.Args) == 2:
				addRegister(set, isIdent(call.Args[1], "true"))
			case sel.Sel.Name == "registerKafka":
				defs(registerKafka.Body, set)
			case flagMethod.MatchString(sel.Sel.Name) && isIdent(sel.X, "fs"):
				for _, a := range call.Args[:min(2, len(call.Args))] {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						name, _ := strconv.Unquote(lit.Value)
						set[name] = true
						break
					}
				}
			}
			return true
		})
	}
	out := map[string]map[string]bool{}
	for name, fd := range funcs {
		cmd, ok := strings.CutPrefix(name, "run")
		if !ok || cmd == "" || fd.Recv != nil {
			continue
		}
		set := map[string]bool{}
		defs(fd.Body, set)
		out[strings.ToLower(cmd)] = set
	}
	// Guard the parser against drift in how flags are defined.
	for cmd, want := range map[string][]string{
		"ingest":   {"brokers", "clickhouse", "metrics-addr", "registry", "shutdown-timeout"},
		"detect":   {"brokers", "clickhouse", "metrics-addr", "alerts-topic"},
		"migrate":  {"clickhouse"},
		"simulate": {"brokers", "rate"},
		"notify":   {"config", "brokers", "clickhouse", "metrics-addr", "alerts-topic", "alerts-dlq-topic"},
		"console":  {"listen", "users", "tokens", "brokers", "clickhouse", "alerts-topic"},
	} {
		for _, f := range want {
			if !out[cmd][f] {
				t.Fatalf("commandFlags: %s has no --%s: update commandFlags to how flags are defined now", cmd, f)
			}
		}
	}
	if out["console"]["metrics-addr"] || out["migrate"]["brokers"] {
		t.Fatal("commandFlags: register(fs, false) must not add the worker flags")
	}
	return out
}

// commandEnv returns the TRIPLINE_* variables each subcommand reads: its
// flags' environment forms and every secret() of the binary.
func commandEnv(t *testing.T) map[string]map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(cmdDir, "*.go"))
	secretRe := regexp.MustCompile(`\bsecret\("([A-Z0-9_]+)"\)`)
	secrets := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range secretRe.FindAllStringSubmatch(string(src), -1) {
			secrets["TRIPLINE_"+m[1]] = true
			secrets["TRIPLINE_"+m[1]+"_FILE"] = true
		}
	}
	if !secrets["TRIPLINE_CLICKHOUSE_PASSWORD"] {
		t.Fatalf("%s: found no secret(\"CLICKHOUSE_PASSWORD\"): update commandEnv", cmdDir)
	}
	out := map[string]map[string]bool{}
	for cmd, set := range commandFlags(t) {
		env := maps.Clone(secrets)
		for f := range set {
			env[envName(f)] = true
		}
		out[cmd] = env
	}
	return out
}

func envName(flag string) string {
	return "TRIPLINE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// argFlags returns the --name[=value] flags of a command line and their
// values (the next word when not given with =).
func argFlags(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if n, v, ok := strings.Cut(name, "="); ok {
			out[n] = v
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out[name] = args[i+1]
			i++
			continue
		}
		out[name] = ""
	}
	return out
}

// checkCommand: the command is a tripline subcommand and every flag and
// TRIPLINE_* variable given is one it defines (extra: also allowed, the
// notify config's env: references).
func checkCommand(t *testing.T, where string, args []string, env []string, extra map[string]bool) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no command", where)
		return
	}
	flags, ok := commandFlags(t)[args[0]]
	if !ok {
		t.Errorf("%s: %q is not a tripline command", where, args[0])
		return
	}
	for f := range argFlags(args[1:]) {
		if !flags[f] {
			t.Errorf("%s: tripline %s has no flag --%s", where, args[0], f)
		}
	}
	known := commandEnv(t)[args[0]]
	for _, k := range env {
		if strings.HasPrefix(k, "TRIPLINE_") && !known[k] && !extra[k] {
			t.Errorf("%s: tripline %s does not read %s", where, args[0], k)
		}
	}
}

// setting is what a command sees for a flag: the command line's value, or
// the environment's, or def.
func setting(args []string, env map[string]string, flag, def string) string {
	if v, ok := argFlags(args)[flag]; ok {
		return v
	}
	if v, ok := env[envName(flag)]; ok {
		return v
	}
	return def
}

// notifyRefs returns the secret references of a notify config.
func notifyRefs(cfg *notify.Config) (env map[string]bool, files map[string]bool) {
	env, files = map[string]bool{}, map[string]bool{}
	for _, r := range cfg.Receivers {
		for _, ref := range []*notify.SecretRef{r.URLRef, r.Secret, r.RoutingKey, r.Password} {
			switch {
			case ref == nil:
			case ref.Env != "":
				env[ref.Env] = true
			default:
				files[ref.Path] = true
			}
		}
	}
	return env, files
}

// loadNotifyExample lints the example config as `tripline notify lint`
// does.
func loadNotifyExample(t *testing.T) *notify.Config {
	t.Helper()
	cfg, err := notify.LoadFile(notifyExamplePath)
	if err != nil {
		t.Fatalf("tripline notify lint --config %s:\n%v", notifyExamplePath, err)
	}
	env, files := notifyRefs(cfg)
	if len(cfg.Receivers) == 0 || len(env) == 0 || len(files) == 0 {
		t.Fatalf("%s: want receivers with env: and file: secret references (it documents both)", notifyExamplePath)
	}
	return cfg
}

// TestComposeCluster: the cluster profile's servers are the hosts of
// remote_servers, each with its own {shard}/{replica} macros and the
// cluster config, Keeper and profile mounted; migrate-cluster migrates ON
// the cluster remote_servers defines.
func TestComposeCluster(t *testing.T) {
	c := loadCompose(t)
	raw, err := os.ReadFile("cluster/cluster.xml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw)
	replicas := map[string]string{}
	for _, name := range []string{"ch-s1r1", "ch-s1r2", "ch-s2r1"} {
		s := c.service(t, name)
		env := s.env()
		if env["CH_REPLICA"] != name {
			t.Errorf("%s: CH_REPLICA = %q, want its service name (unique across the cluster)", name, env["CH_REPLICA"])
		}
		if prev, ok := replicas[env["CH_REPLICA"]]; ok {
			t.Errorf("%s and %s share replica name %s", prev, name, env["CH_REPLICA"])
		}
		replicas[env["CH_REPLICA"]] = name
		if !strings.Contains(cfg, "<host>"+name+"</host>") {
			t.Errorf("%s is not a replica in cluster/cluster.xml", name)
		}
		m := s.mounts()
		if !strings.HasSuffix(m["/etc/clickhouse-server/config.d/tripline-cluster.xml"], "cluster/cluster.xml") ||
			!strings.HasSuffix(m["/etc/clickhouse-server/users.d/tripline-cluster.xml"], "cluster/profile.xml") {
			t.Errorf("%s: cluster config or profile not mounted: %v", name, m)
		}
		if s.Healthcheck == nil {
			t.Errorf("%s: no healthcheck", name)
		}
	}
	if !strings.HasSuffix(c.service(t, "keeper").mounts()["/etc/clickhouse-keeper/keeper_config.d/tripline.xml"], "cluster/keeper.xml") {
		t.Error("keeper: cluster/keeper.xml not mounted")
	}
	env := c.service(t, "migrate-cluster").env()
	if cl := env["TRIPLINE_CLUSTER"]; cl == "" || !strings.Contains(cfg, "<"+cl+">") {
		t.Errorf("migrate-cluster: TRIPLINE_CLUSTER = %q, not a cluster of cluster/cluster.xml", cl)
	}
	if cmd := words(c.service(t, "migrate-cluster").Command); len(cmd) == 0 || cmd[0] != "migrate" {
		t.Errorf("migrate-cluster: command %v", cmd)
	}
	profile, err := os.ReadFile("cluster/profile.xml")
	if err != nil || !strings.Contains(string(profile), "<distributed_product_mode>local</distributed_product_mode>") {
		t.Errorf("cluster/profile.xml lacks distributed_product_mode=local (%v)", err)
	}
}
