package deployments

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/store/storetest"
)

const (
	dashboardPath   = "grafana/tripline-dashboard.json"
	datasourcesPath = "grafana/datasources.yaml"
	alertsPath      = "prometheus/alerts.yml"
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
	for _, want := range []string{"tripline_consumer_lag", "tripline_ingest_dead_lettered_total", "tripline_ingest_batch_errors_total", "tripline_detect_batch_errors_total", "tripline_ready"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no alert on %s", want)
		}
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
	ctx := context.Background()
	storetest.Migrated(t, srv.Addr())
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
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}})
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
