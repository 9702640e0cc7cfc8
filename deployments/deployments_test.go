package deployments

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/ops"
)

const (
	composePath      = "../docker-compose.yml"
	dockerfilePath   = "../Dockerfile"
	dockerignorePath = "../.dockerignore"
	cmdDir           = "../cmd/tripline"
	k8sDir           = "kubernetes"
	readmePath       = "README.md"

	// secretPlaceholder is the only value a committed Secret may hold.
	secretPlaceholder = "CHANGE-ME"
	// metricsPort serves /metrics, /healthz and /readyz in every manifest.
	metricsPort = 9464
	// shutdownTimeout is the workers' default --shutdown-timeout: the
	// grace period before SIGKILL must cover it.
	shutdownTimeout = 30 * time.Second
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
	Ulimits         map[string]any          `yaml:"ulimits"`
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

var composeServices = []string{"kafka", "clickhouse", "kafka-init", "migrate", "ingest", "detect", "simulator"}

// tripline services run the tripline image.
var triplineServices = []string{"migrate", "ingest", "detect", "simulator"}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range composeServices {
		c.service(t, name)
	}
	for name, s := range c.Services {
		if name == "simulator" {
			if !slices.Equal(s.Profiles, []string{"simulate"}) {
				t.Errorf("simulator: profiles %v, want only [simulate]", s.Profiles)
			}
			continue
		}
		if len(s.Profiles) > 0 {
			t.Errorf("%s: profiles %v: only the simulator is optional", name, s.Profiles)
		}
	}
	roles := map[string]string{"migrate": "migrate", "ingest": "ingest", "detect": "detect", "simulator": "simulate"}
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
	for _, name := range []string{"ingest", "detect", "simulator"} {
		if _, ok := c.service(t, name).env()["TRIPLINE_BROKERS"]; !ok {
			t.Errorf("%s: no TRIPLINE_BROKERS: it would dial 127.0.0.1:9092 inside its container", name)
		}
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
	}
	for name, limit := range maxReplicas {
		if r := c.service(t, name).Deploy.Replicas; r != nil && *r > limit {
			t.Errorf("%s: %d replicas, but its topics have %d partitions", name, *r, limit)
		}
	}
	if got[kafkaio.TopicDLQ] < 1 {
		t.Error("tripline.dlq: no partitions")
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
	for _, name := range []string{"migrate", "ingest", "detect"} {
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
	for _, name := range []string{"ingest", "detect"} {
		s := c.service(t, name)
		env := s.env()
		if addr := env["TRIPLINE_METRICS_ADDR"]; !strings.HasSuffix(addr, ":"+strconv.Itoa(metricsPort)) {
			t.Errorf("%s: TRIPLINE_METRICS_ADDR = %q, want :%d", name, addr, metricsPort)
		}
		if env["TRIPLINE_LOG_FORMAT"] != "json" {
			t.Errorf("%s: TRIPLINE_LOG_FORMAT = %q, want json", name, env["TRIPLINE_LOG_FORMAT"])
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace <= shutdownTimeout {
			t.Errorf("%s: stop_grace_period %q must exceed the %s shutdown flush (Docker's default is 10s)", name, s.StopGracePeriod, shutdownTimeout)
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
// a typo does not silently fall back to a default.
func TestComposeEnvNames(t *testing.T) {
	known := triplineEnvNames(t)
	c := loadCompose(t)
	for name, s := range c.Services {
		for k := range s.env() {
			if strings.HasPrefix(k, "TRIPLINE_") && !known[k] {
				t.Errorf("%s: %s is not a tripline setting", name, k)
			}
		}
	}
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
	StartupProbe    *probe          `yaml:"startupProbe"`
	LivenessProbe   *probe          `yaml:"livenessProbe"`
	ReadinessProbe  *probe          `yaml:"readinessProbe"`
	SecurityContext securityContext `yaml:"securityContext"`
	Resources       struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
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
			checkEnv(t, m, where, c, known)
		}
	}
	want := map[string]string{"ingest": "Deployment", "detect": "Deployment", "migrate": "Job"}
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
	}
	if len(m.byKind["Deployment"]) == 0 {
		t.Fatal("no Deployments")
	}
	for _, o := range m.byKind["Deployment"] {
		pod := o.Spec.Template.Spec
		if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdownTimeout {
			t.Errorf("%s: terminationGracePeriodSeconds must exceed the %s shutdown flush", o, shutdownTimeout)
		}
		ann := o.Spec.Template.Metadata.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(metricsPort) || ann["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s: prometheus.io annotations %v, want scrape true, port %d, path /metrics", o, ann, metricsPort)
		}
		for _, ctr := range pod.Containers {
			where := fmt.Sprintf("%s container %s", o, ctr.Name)
			checkProbe(t, where, "liveness", ctr.LivenessProbe, "/healthz", ctr)
			checkProbe(t, where, "readiness", ctr.ReadinessProbe, "/readyz", ctr)
			if ctr.StartupProbe != nil {
				checkProbe(t, where, "startup", ctr.StartupProbe, "/healthz", ctr)
			}
			if addr := metricsAddr(m, ctr); !strings.HasSuffix(addr, ":"+strconv.Itoa(metricsPort)) {
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

func checkProbe(t *testing.T, where, kind string, p *probe, path string, c container) {
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
	if port != metricsPort {
		t.Errorf("%s: %s probe port %v does not resolve to %d", where, kind, p.HTTPGet.Port, metricsPort)
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
