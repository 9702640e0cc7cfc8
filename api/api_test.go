package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

var ch chserver.Shared

func TestMain(m *testing.M) { os.Exit(ch.Run(m)) }

func TestParseTokens(t *testing.T) {
	h := strings.Repeat("ab", 32)
	ts, err := ParseTokens([]byte("# comment\n\nalice:"+h+":analyst\nbob:"+strings.Repeat("cd", 32)+":viewer:msp-a\n"), "tokens")
	if err != nil || ts.Len() != 2 {
		t.Fatalf("ParseTokens: %v", err)
	}
	for _, bad := range []string{
		"alice:" + h,                             // no role
		"alice:" + h + ":root",                   // unknown role
		"alice:tl_plaintexttoken:analyst",        // not a hash
		"al ice:" + h + ":analyst",               // bad name
		"alice:" + h + ":viewer:",                // empty msp
		"a:" + h + ":viewer\na:" + h + ":viewer", // duplicate
		"a:" + h + ":viewer\nb:" + h + ":viewer", // same hash
		"alice:" + h + ":viewer:msp-a:",          // empty tenant
		"alice:" + h + ":viewer:msp-a:t:x",       // too many fields
		"# only a comment",
	} {
		_, err := ParseTokens([]byte(bad), "tokens")
		if err == nil {
			t.Errorf("ParseTokens(%q) accepted it", bad)
		} else if bad != "# only a comment" && !strings.Contains(err.Error(), "tokens:") {
			t.Errorf("error without file:line: %v", err)
		}
	}
	_, err = ParseTokens([]byte("x:tl_secretvalue:analyst"), "tokens")
	if err == nil || strings.Contains(err.Error(), "tl_secretvalue") {
		t.Errorf("a malformed hash field is echoed: %v", err)
	}
	secret, line, err := NewToken("carol", RoleAnalyst, "msp-b", "")
	if err != nil || strings.Contains(line, secret) {
		t.Fatalf("NewToken: %q %q %v", secret, line, err)
	}
	ts, err = ParseTokens([]byte(line), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	if tok := ts.Lookup(secret); tok == nil || tok.Name != "carol" || tok.MSP != "msp-b" || !tok.CanWrite() {
		t.Errorf("Lookup = %+v", tok)
	}
	if ts.Lookup(secret+"x") != nil || ts.Lookup("") != nil {
		t.Error("Lookup admitted a wrong token")
	}
}

// TestOpenAPICoversRoutes holds openapi.yaml to the routes Handler serves.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	want := map[string][]string{
		"/api/openapi.yaml":         {"get"},
		"/api/alerts":               {"get"},
		"/api/alerts/{id}":          {"get"},
		"/api/alerts/{id}/{action}": {"post"},
		"/api/incidents":            {"get"},
		"/api/incidents/{id}":       {"get"},
		"/api/silences":             {"get", "post"},
		"/api/silences/{id}":        {"get"},
		"/api/silences/{id}/expire": {"post"},
	}
	for p, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[p][m]; !ok {
				t.Errorf("openapi.yaml lacks %s %s", m, p)
			}
		}
	}
	if len(doc.Paths) != len(want) {
		t.Errorf("openapi.yaml has %d paths, the server %d", len(doc.Paths), len(want))
	}
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, body string, hdr ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	} else if resp.StatusCode != 200 {
		c.t.Errorf("%s %s: %d with content type %q: %s", method, path, resp.StatusCode, ct, raw)
	}
	return resp.StatusCode, out, resp.Header
}

// expect checks the status and, for errors, that the body is a JSON error
// with code.
func (c client) expect(status int, method, path, body string, code ...string) map[string]any {
	c.t.Helper()
	got, out, _ := c.do(method, path, body)
	if got != status {
		c.t.Errorf("%s %s: status %d, want %d: %v", method, path, got, status, out)
	}
	if len(code) > 0 {
		e, _ := out["error"].(map[string]any)
		if e == nil || e["code"] != code[0] || e["message"] == "" {
			c.t.Errorf("%s %s: error body %v, want code %s", method, path, out, code[0])
		}
	}
	return out
}

func alertIDs(out map[string]any) string {
	var ids []string
	list, _ := out["alerts"].([]any)
	for _, a := range list {
		ids = append(ids, a.(map[string]any)["alert_id"].(string))
	}
	return strings.Join(ids, ",")
}

func TestAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: ch.Get(t).Addr(), Database: "t_api"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(id, msp, level string) record.Alert {
		return record.Alert{AlertID: id, Fingerprint: "fp-" + id, RuleID: "rule-1", RuleTitle: "Rule One", Level: level, MSP: msp, Tenant: "t-1",
			ActorUser: "tech1", GroupKeys: []string{"msp", "actor.user"}, GroupValues: []string{msp, "tech1"},
			WindowStart: now.Truncate(24 * time.Hour), FirstTime: now, LastTime: now, Count: 1, EventIDs: []string{"e1"},
			IncidentID: "i-" + strings.TrimPrefix(msp, "msp-")}
	}
	if err := st.InsertAlerts(ctx, []record.Alert{mk("a-1", "msp-a", "high"), mk("a-2", "msp-a", "low"), mk("b-1", "msp-b", "critical")}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIncidents(ctx, []record.Incident{
		{IncidentID: "i-a", MSP: "msp-a", EntityKind: "actor.user", EntityValue: "tech1", Level: "high", WindowStart: now, FirstTime: now, LastTime: now, AlertIDs: []string{"a-1"}},
		{IncidentID: "i-b", MSP: "msp-b", EntityKind: "actor.user", EntityValue: "tech1", Level: "critical", WindowStart: now, FirstTime: now, LastTime: now, AlertIDs: []string{"b-1"}},
	}); err != nil {
		t.Fatal(err)
	}

	var lines []string
	secrets := map[string]string{}
	for _, tok := range [][4]string{{"root", RoleAnalyst, "", ""}, {"alice", RoleAnalyst, "msp-a", ""}, {"victor", RoleViewer, "", ""}, {"clinic", RoleViewer, "msp-a", "t-2"}} {
		secret, line, err := NewToken(tok[0], tok[1], tok[2], tok[3])
		if err != nil {
			t.Fatal(err)
		}
		secrets[tok[0]], lines = secret, append(lines, line)
	}
	tokens, err := ParseTokens([]byte(strings.Join(lines, "\n")), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv := httptest.NewUnstartedServer(New(triage.New(st), tokens, zerolog.New(&logs)).Handler())
	srv.Config = NewHTTPServer("", srv.Config.Handler)
	srv.Start()
	defer srv.Close()
	anon := client{t, srv.URL, ""}
	root, alice, victor := client{t, srv.URL, secrets["root"]}, client{t, srv.URL, secrets["alice"]}, client{t, srv.URL, secrets["victor"]}

	// Authentication.
	anon.expect(401, "GET", "/api/alerts", "", "unauthorized")
	client{t, srv.URL, "tl_wrong"}.expect(401, "GET", "/api/alerts", "", "unauthorized")
	if _, _, h := anon.do("GET", "/api/alerts", ""); !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Error("401 without WWW-Authenticate: Bearer")
	}
	if code, _, h := anon.do("GET", "/api/openapi.yaml", ""); code != 200 || h.Get("Content-Type") != "application/yaml" {
		t.Errorf("openapi.yaml: %d %s", code, h.Get("Content-Type"))
	}

	// Lists and scoping.
	if got := alertIDs(root.expect(200, "GET", "/api/alerts", "")); got != "a-1,a-2,b-1" && got != "a-1,b-1,a-2" && got != "b-1,a-1,a-2" {
		// Same last_time: ordered by alert_id.
		t.Errorf("root's alerts: %s", got)
	}
	if got := alertIDs(alice.expect(200, "GET", "/api/alerts", "")); got != "a-1,a-2" {
		t.Errorf("alice's alerts: %s", got)
	}
	if got := alertIDs(alice.expect(200, "GET", "/api/alerts?msp=msp-b", "")); got != "" {
		t.Errorf("alice asked for msp-b: %s", got)
	}
	if got := alertIDs(root.expect(200, "GET", "/api/alerts?level=high&since=1h&status=open&limit=10", "")); got != "a-1,b-1" {
		t.Errorf("high+ alerts: %s", got)
	}
	root.expect(400, "GET", "/api/alerts?levle=high", "", "invalid")
	root.expect(400, "GET", "/api/alerts?level=severe", "", "invalid")
	root.expect(400, "GET", "/api/alerts?limit=0", "", "invalid")
	root.expect(400, "GET", "/api/alerts?since=yesterday", "", "invalid")
	root.expect(405, "DELETE", "/api/alerts", "", "method_not_allowed")
	root.expect(404, "GET", "/api/nothing", "", "not_found")
	alice.expect(404, "GET", "/api/alerts/b-1", "", "not_found")
	d := root.expect(200, "GET", "/api/alerts/a-1", "")
	if a, _ := d["alert"].(map[string]any); a == nil || a["status"] != "open" || a["group"].(map[string]any)["actor.user"] != "tech1" {
		t.Errorf("alert a-1: %v", d)
	}
	if inc := root.expect(200, "GET", "/api/incidents?level=critical", ""); len(inc["incidents"].([]any)) != 1 {
		t.Errorf("critical incidents: %v", inc)
	}
	if inc := root.expect(200, "GET", "/api/incidents/i-a", ""); inc["incident"].(map[string]any)["incident_id"] != "i-a" || alertIDs(inc) != "a-1,a-2" {
		t.Errorf("incident i-a: %v", inc)
	}
	alice.expect(404, "GET", "/api/incidents/i-b", "", "not_found")
	if got := alertIDs(root.expect(200, "GET", "/api/alerts?incident=i-b", "")); got != "b-1" {
		t.Errorf("alerts of incident inc-b: %s", got)
	}
	if inc := alice.expect(200, "GET", "/api/incidents", ""); len(inc["incidents"].([]any)) != 1 || inc["incidents"].([]any)[0].(map[string]any)["incident_id"] != "i-a" {
		t.Errorf("alice's incidents: %v", inc)
	}

	// A client's viewer (one tenant) sees its tenant's alerts only.
	clinic := client{t, srv.URL, secrets["clinic"]}
	if got := alertIDs(clinic.expect(200, "GET", "/api/alerts", "")); got != "" {
		t.Errorf("tenant t-2's alerts: %s (all alerts are t-1's)", got)
	}
	clinic.expect(404, "GET", "/api/alerts/a-1", "", "not_found")

	// Triage.
	victor.expect(403, "POST", "/api/alerts/a-1/ack", "", "forbidden")
	alice.expect(404, "POST", "/api/alerts/b-1/ack", "", "not_found")
	r := alice.expect(200, "POST", "/api/alerts/a-1/ack", `{"note":"on it"}`)
	if r["alert"].(map[string]any)["status"] != "acknowledged" || r["action"].(map[string]any)["actor"] != "alice" {
		t.Errorf("ack: %v", r)
	}
	alice.expect(409, "POST", "/api/alerts/a-1/ack", "", "conflict")
	alice.expect(200, "POST", "/api/alerts/a-1/assign", `{"assignee":"bob"}`)
	alice.expect(200, "POST", "/api/alerts/a-1/note", `{"note":"CHG-7"}`)
	alice.expect(400, "POST", "/api/alerts/a-1/close", `{"reason":"meh"}`, "invalid")
	alice.expect(400, "POST", "/api/alerts/a-1/close", `{"reason":"duplicate","extra":1}`, "invalid")
	alice.expect(400, "POST", "/api/alerts/a-1/close", `{"reason":`, "invalid")
	alice.expect(404, "POST", "/api/alerts/a-1/delete", "", "not_found")
	alice.expect(413, "POST", "/api/alerts/a-1/note", `{"note":"`+strings.Repeat("x", MaxBodyBytes)+`"}`, "too_large")
	if code, out, _ := alice.do("POST", "/api/alerts/a-1/note", `{"note":"x"}`, "Content-Type", "text/plain"); code != 415 {
		t.Errorf("text/plain body: %d %v", code, out)
	}
	r = alice.expect(200, "POST", "/api/alerts/a-1/close", `{"reason":"false_positive","note":"backup agent"}`)
	if f, _ := r["draft_filter"].(string); !strings.Contains(f, "rule-1") || !strings.Contains(f, "not false_positive") {
		t.Errorf("close as false positive: %v", r)
	}
	d = victor.expect(200, "GET", "/api/alerts/a-1", "")
	a := d["alert"].(map[string]any)
	if a["status"] != "closed" || a["close_reason"] != "false_positive" || a["assignee"] != "bob" || len(d["actions"].([]any)) != 4 {
		t.Errorf("a-1 after triage: %v", d)
	}
	if got := alertIDs(root.expect(200, "GET", "/api/alerts?status=closed", "")); got != "a-1" {
		t.Errorf("closed alerts: %s", got)
	}

	// Silences.
	victor.expect(403, "POST", "/api/silences", `{"matchers":["level=low"],"duration":"1h","reason":"x"}`, "forbidden")
	alice.expect(400, "POST", "/api/silences", `{"matchers":["level=low"],"duration":"31d","reason":"x"}`, "invalid")
	alice.expect(400, "POST", "/api/silences", `{"matchers":[],"duration":"1h","reason":"x"}`, "invalid")
	alice.expect(400, "POST", "/api/silences", `{"matchers":["level=low"],"duration":"1h"}`, "invalid")
	alice.expect(403, "POST", "/api/silences", `{"matchers":["level=low"],"duration":"1h","reason":"x","msp":"msp-b"}`, "forbidden")
	code, sil, hdr := alice.do("POST", "/api/silences", `{"matchers":["rule_id=rule-1","tenant=~t-.*"],"duration":"2h","reason":"CHG-42"}`)
	if code != 201 || sil["msp"] != "msp-a" || sil["author"] != "alice" || sil["active"] != true || !strings.HasPrefix(hdr.Get("Location"), "/api/silences/") {
		t.Fatalf("create silence: %d %v", code, sil)
	}
	id := sil["silence_id"].(string)
	root.expect(201, "POST", "/api/silences", fmt.Sprintf(`{"matchers":["level=critical"],"ends":%q,"reason":"global"}`, now.Add(time.Hour).Format(time.RFC3339)))
	if l := alice.expect(200, "GET", "/api/silences", ""); len(l["silences"].([]any)) != 1 {
		t.Errorf("alice's silences: %v", l)
	}
	if l := root.expect(200, "GET", "/api/silences", ""); len(l["silences"].([]any)) != 2 {
		t.Errorf("root's silences: %v", l)
	}
	root.expect(200, "GET", "/api/silences/"+id, "")
	client{t, srv.URL, secrets["victor"]}.expect(403, "POST", "/api/silences/"+id+"/expire", "", "forbidden")
	if e := alice.expect(200, "POST", "/api/silences/"+id+"/expire", ""); e["active"] != false {
		t.Errorf("expired silence: %v", e)
	}
	alice.expect(409, "POST", "/api/silences/"+id+"/expire", "", "conflict")
	alice.expect(404, "POST", "/api/silences/nope/expire", "", "not_found")
	if l := alice.expect(200, "GET", "/api/silences", ""); len(l["silences"].([]any)) != 0 {
		t.Errorf("alice's active silences after expiry: %v", l)
	}
	if l := alice.expect(200, "GET", "/api/silences?all=true", ""); len(l["silences"].([]any)) != 1 {
		t.Errorf("alice's silences with expired: %v", l)
	}

	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Fatal("a token reached the log")
		}
	}
	if !strings.Contains(logs.String(), `"path":"/api/alerts"`) {
		t.Errorf("no access log: %s", logs.String())
	}
}
