package deployments

import (
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/chcluster"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/notify"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/store/storetest"
)

const (
	dashboardPath   = "grafana/tripline-dashboard.json"
	datasourcesPath = "grafana/datasources.yaml"
	alertsPath      = "prometheus/alerts.yml"
	prometheusPath  = "prometheus/prometheus.yml"
)

type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title      string            `json:"title"`
	Type       string            `json:"type"`
	Datasource map[string]string `json:"datasource"`
	Targets    []struct {
		RefID      string            `json:"refId"`
		Datasource map[string]string `json:"datasource"`
		RawSQL     string            `json:"rawSql"`
		Expr       string            `json:"expr"`
	} `json:"targets"`
}

type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

func loadAlerts(t *testing.T) alertRules {
	t.Helper()
	b, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	return r
}

// codeMetrics returns the tripline_* metric names registered in the code
// (string literals in non-test Go files), with the series names histograms
// add.
func codeMetrics(t *testing.T) map[string]bool {
	t.Helper()
	lit := regexp.MustCompile(`"(tripline_[a-z0-9_]+)"`)
	out := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[m[1]+suffix] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var metricRef = regexp.MustCompile(`\btripline_[a-z0-9_]+\b`)

// checkExpr checks a PromQL expression's metric names against the code and
// its brackets for balance (there is no PromQL parser in the module).
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	refs := metricRef.FindAllString(expr, -1)
	if len(refs) == 0 && !strings.Contains(expr, "up{") {
		t.Errorf("%s: expression references no tripline metric: %s", where, expr)
	}
	for _, m := range refs {
		if !known[m] {
			t.Errorf("%s: metric %s is not exported by any worker", where, m)
		}
	}
	depth := map[rune]int{}
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, r := range expr {
		switch r {
		case '(', '[', '{':
			depth[r]++
		case ')', ']', '}':
			depth[pairs[r]]--
			if depth[pairs[r]] < 0 {
				t.Errorf("%s: unbalanced %q in %s", where, r, expr)
				return
			}
		}
	}
	for r, n := range depth {
		if n != 0 {
			t.Errorf("%s: unbalanced %q in %s", where, r, expr)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok {
			vars[v.Name] = q
		}
	}
	if vars["clickhouse"] != "grafana-clickhouse-datasource" || vars["prometheus"] != "prometheus" {
		t.Errorf("dashboard needs datasource variables clickhouse and prometheus, got %v", vars)
	}
	known := codeMetrics(t)
	var chPanels, promPanels int
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		switch p.Datasource["uid"] {
		case "${clickhouse}":
			chPanels++
			for _, tg := range p.Targets {
				if !strings.Contains(tg.RawSQL, "tripline.") {
					t.Errorf("panel %q: ClickHouse query does not read tripline's tables: %q", p.Title, tg.RawSQL)
				}
			}
		case "${prometheus}":
			promPanels++
			for _, tg := range p.Targets {
				checkExpr(t, "panel "+p.Title, tg.Expr, known)
			}
		default:
			t.Errorf("panel %q: datasource %v is neither ${clickhouse} nor ${prometheus}", p.Title, p.Datasource)
		}
	}
	if chPanels < 4 || promPanels < 4 {
		t.Errorf("dashboard has %d ClickHouse and %d Prometheus panels; want detections, events and pipeline health", chPanels, promPanels)
	}
	for _, want := range []string{"Detections by level", "Detections by rule", "Events ingested by MSP", "Dead letters by reason", "Consumer lag by partition"} {
		found := false
		for _, p := range d.Panels {
			found = found || p.Title == want
		}
		if !found {
			t.Errorf("dashboard lacks the panel %q", want)
		}
	}
}

func TestGrafanaDatasources(t *testing.T) {
	b, err := os.ReadFile(datasourcesPath)
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct {
			Name, Type     string
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		}
	}
	if err := yaml.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, d := range ds.Datasources {
		types[d.Type] = true
		for k, v := range d.SecureJSONData {
			if !strings.HasPrefix(v, "$") {
				t.Errorf("datasource %s: secureJsonData.%s holds a literal; use an environment reference", d.Name, k)
			}
		}
	}
	if !types["grafana-clickhouse-datasource"] || !types["prometheus"] {
		t.Errorf("datasources = %v, want ClickHouse and Prometheus", types)
	}
}

func TestPrometheusAlerts(t *testing.T) {
	r := loadAlerts(t)
	known := codeMetrics(t)
	names := map[string]bool{}
	var all []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			where := g.Name + "/" + rule.Alert
			if rule.Alert == "" || rule.Expr == "" {
				t.Errorf("%s: an alert needs a name and an expression", where)
				continue
			}
			if names[rule.Alert] {
				t.Errorf("alert %s defined twice", rule.Alert)
			}
			names[rule.Alert] = true
			all = append(all, rule.Expr)
			if rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				t.Errorf("%s: needs labels.severity and annotations.summary", where)
			}
			checkExpr(t, where, rule.Expr, known)
		}
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"tripline_consumer_lag", "tripline_ingest_dead_lettered_total", "tripline_ingest_batch_errors_total", "tripline_detect_batch_errors_total", "tripline_ready",
		"tripline_notify_dead_lettered_total", "tripline_notify_deliveries_total"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no alert on %s", want)
		}
	}
}

// recorder is a Registerer that keeps the descriptions of what is
// registered on it.
type recorder struct{ descs []*prometheus.Desc }

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		r.descs = append(r.descs, d)
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// notifyMetricLabels returns notify's metrics and their label names, from
// the descriptions NewMetrics registers.
func notifyMetricLabels(t *testing.T) map[string]map[string]bool {
	t.Helper()
	var r recorder
	notify.NewMetrics(&r)
	descRe := regexp.MustCompile(`^Desc\{fqName: "([^"]+)".*variableLabels: \{([^}]*)\}\}$`)
	out := map[string]map[string]bool{}
	for _, d := range r.descs {
		m := descRe.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the labels of %s: update notifyMetricLabels", d)
		}
		labels := map[string]bool{}
		for l := range strings.SplitSeq(m[2], ",") {
			if l != "" {
				labels[strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")] = true
			}
		}
		out[m[1]] = labels
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			out[m[1]+suffix] = labels
		}
	}
	if len(out) == 0 {
		t.Fatal("notify.NewMetrics registered nothing")
	}
	return out
}

// TestPrometheusNotifyAlertLabels: the notify alerts group, match and
// template by labels notify's metrics have, and match label values it
// sets; an alert on a label the metric lacks never fires.
func TestPrometheusNotifyAlertLabels(t *testing.T) {
	labels := notifyMetricLabels(t)
	values := map[string][]string{
		"result": {notify.ResultDelivered, notify.ResultRetry, notify.ResultFailed},
		"kind":   {alert.KindOpened, alert.KindUpdated, alert.KindResolved, alert.KindClosed, alert.KindReopened, "invalid", "other"},
	}
	// Labels Prometheus adds to every series of a target.
	target := map[string]bool{"instance": true, "job": true}
	byRe := regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	selRe := regexp.MustCompile(`\b(tripline_notify_[a-z0-9_]+)\{([^}]*)\}`)
	matcherRe := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	tmplRe := regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	checked := 0
	for _, g := range loadAlerts(t).Groups {
		for _, rule := range g.Rules {
			where := g.Name + "/" + rule.Alert
			var metrics []string
			for _, m := range metricRef.FindAllString(rule.Expr, -1) {
				if strings.HasPrefix(m, "tripline_notify_") {
					metrics = append(metrics, m)
				}
			}
			if len(metrics) == 0 {
				continue
			}
			checked++
			has := func(label string) bool {
				if target[label] {
					return true
				}
				for _, m := range metrics {
					if labels[m] == nil {
						t.Errorf("%s: %s is not a notify metric", where, m)
						return true
					}
					if !labels[m][label] {
						return false
					}
				}
				return true
			}
			grouped := map[string]bool{}
			for _, m := range byRe.FindAllStringSubmatch(rule.Expr, -1) {
				for l := range strings.SplitSeq(m[1], ",") {
					l = strings.TrimSpace(l)
					grouped[l] = true
					if !has(l) {
						t.Errorf("%s: groups by %s, which %v do not have", where, l, metrics)
					}
				}
			}
			for _, sel := range selRe.FindAllStringSubmatch(rule.Expr, -1) {
				for _, m := range matcherRe.FindAllStringSubmatch(sel[2], -1) {
					if !labels[sel[1]][m[1]] {
						t.Errorf("%s: %s has no label %s", where, sel[1], m[1])
						continue
					}
					if vs, ok := values[m[1]]; ok && m[2] == "=" && !slices.Contains(vs, m[3]) {
						t.Errorf("%s: %s{%s=%q}: notify sets %s to one of %v", where, sel[1], m[1], m[3], m[1], vs)
					}
				}
			}
			for _, text := range rule.Annotations {
				for _, m := range tmplRe.FindAllStringSubmatch(text, -1) {
					if len(grouped) > 0 && !grouped[m[1]] {
						t.Errorf("%s: the annotations use $labels.%s, which the aggregation drops (by %v)", where, m[1], keys(grouped))
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no alert on notify's metrics")
	}
}

type scrapeConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName      string `yaml:"job_name"`
		MetricsPath  string `yaml:"metrics_path"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Type  string   `yaml:"type"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		KubernetesSDConfigs []struct {
			Role       string `yaml:"role"`
			Namespaces struct {
				Names []string `yaml:"names"`
			} `yaml:"namespaces"`
		} `yaml:"kubernetes_sd_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `yaml:"source_labels"`
			Regex        string   `yaml:"regex"`
			Action       string   `yaml:"action"`
			TargetLabel  string   `yaml:"target_label"`
			Replacement  string   `yaml:"replacement"`
		} `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

// TestPrometheusScrape: the scrape config loads the alert rules, scrapes
// every Compose service that serves /metrics (ingest, detect, notify) on
// its metrics port and nothing that does not (console), and in Kubernetes
// the pods by their prometheus.io annotations; every job is tripline-*,
// which TriplineWorkerDown (up{job=~"tripline.*"}) relies on.
func TestPrometheusScrape(t *testing.T) {
	b, err := os.ReadFile(prometheusPath)
	if err != nil {
		t.Fatal(err)
	}
	var sc scrapeConfig
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("%s: %v", prometheusPath, err)
	}
	if !slices.Contains(sc.RuleFiles, filepath.Base(alertsPath)) {
		t.Errorf("%s: rule_files %v does not load %s", prometheusPath, sc.RuleFiles, alertsPath)
	}
	for _, f := range sc.RuleFiles {
		if _, err := os.Stat(filepath.Join(filepath.Dir(prometheusPath), f)); err != nil {
			t.Errorf("%s: rule file %v", prometheusPath, err)
		}
	}
	c := loadCompose(t)
	// Compose services serving /metrics, and on which port.
	metricsPorts := map[string]string{}
	for name, s := range c.Services {
		if addr, ok := s.env()["TRIPLINE_METRICS_ADDR"]; ok && slices.Contains(triplineServices, name) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Errorf("%s: TRIPLINE_METRICS_ADDR %q: %v", name, addr, err)
			}
			if !commandFlags(t)[words(s.Command)[0]]["metrics-addr"] {
				continue // the command serves no metrics (TestComposeEnvNames)
			}
			metricsPorts[name] = port
		}
	}
	scraped := map[string]bool{}
	k8s := false
	for _, job := range sc.ScrapeConfigs {
		if !strings.HasPrefix(job.JobName, "tripline") {
			t.Errorf("job %s: TriplineWorkerDown watches only jobs named tripline*", job.JobName)
		}
		if job.MetricsPath != "" && job.MetricsPath != "/metrics" {
			t.Errorf("job %s: metrics_path %s, the workers serve /metrics", job.JobName, job.MetricsPath)
		}
		for _, d := range job.DNSSDConfigs {
			for _, name := range d.Names {
				port, ok := metricsPorts[name]
				if !ok {
					t.Errorf("job %s: %s is not a Compose service serving /metrics (%v)", job.JobName, name, keys(metricsPorts))
					continue
				}
				if strconv.Itoa(d.Port) != port {
					t.Errorf("job %s: scrapes %s on %d, it serves /metrics on %s", job.JobName, name, d.Port, port)
				}
				scraped[name] = true
			}
		}
		for _, sd := range job.KubernetesSDConfigs {
			k8s = true
			if sd.Role != "pod" || !slices.Contains(sd.Namespaces.Names, "tripline") {
				t.Errorf("job %s: want role pod in namespace tripline", job.JobName)
			}
			keep, port, jobLabel := false, false, true
			for _, r := range job.RelabelConfigs {
				src := strings.Join(r.SourceLabels, ";")
				switch {
				case r.Action == "keep" && src == "__meta_kubernetes_pod_annotation_prometheus_io_scrape":
					keep = regexp.MustCompile("^(?:" + r.Regex + ")$").MatchString("true")
				case r.TargetLabel == "__address__" && strings.Contains(src, "__meta_kubernetes_pod_annotation_prometheus_io_port"):
					port = true
				case r.TargetLabel == "job":
					jobLabel = strings.HasPrefix(r.Replacement, "tripline")
				}
			}
			if !keep || !port {
				t.Errorf("job %s: want to keep pods annotated prometheus.io/scrape \"true\" and scrape their prometheus.io/port", job.JobName)
			}
			if !jobLabel {
				t.Errorf("job %s: relabels job to a name not starting with tripline", job.JobName)
			}
		}
	}
	for name := range metricsPorts {
		if !scraped[name] {
			t.Errorf("%s serves /metrics but %s does not scrape it", name, prometheusPath)
		}
	}
	if !k8s {
		t.Errorf("%s: no kubernetes_sd_configs job for the annotated pods", prometheusPath)
	}
}

// expandMacros turns the grafana-clickhouse-datasource macros into SQL that
// also runs on ClickHouse 18.16.
func expandMacros(sql string) string {
	sql = regexp.MustCompile(`\$__timeInterval\(([a-z_]+)\)`).ReplaceAllString(sql, "toStartOfMinute(toDateTime($1))")
	sql = regexp.MustCompile(`\$__timeFilter\(([a-z_]+)\)`).ReplaceAllString(sql, "toDateTime($1) >= now() - 86400 AND toDateTime($1) <= now()")
	return strings.ReplaceAll(sql, "${msp:singlequote}", "'msp-a', 'msp-b'")
}

// TestGrafanaQueriesRun runs every ClickHouse query of the dashboard against
// a migrated database, so a renamed column breaks the build, not the
// dashboard.
func TestGrafanaQueriesRun(t *testing.T) {
	srv := chserver.ForTest(t)
	storetest.Migrated(t, srv.Addr())
	runDashboardQueries(t, srv.Addr())
}

// TestGrafanaQueriesRunOnCluster runs them unchanged on a ClickHouse
// cluster (docs/cluster.md), where the tables they name are Distributed.
func TestGrafanaQueriesRunOnCluster(t *testing.T) {
	c := chcluster.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: c.Addr(), Cluster: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	runDashboardQueries(t, c.Addr())
}

func runDashboardQueries(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	d := loadDashboard(t)
	var queries []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.RawSQL != "" {
				queries = append(queries, tg.RawSQL)
			}
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && strings.HasPrefix(q, "SELECT") {
			queries = append(queries, q)
		}
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range queries {
		rows, err := conn.Query(ctx, expandMacros(q))
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err != nil {
			t.Errorf("dashboard query fails: %v\n%s", err, q)
		}
	}
}
