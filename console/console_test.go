package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tripline/tripline/store"
)

func TestParseUsers(t *testing.T) {
	argon, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	us, err := ParseUsers([]byte("# users\n\nalice:"+argon+":admin\nbob:"+string(bc)+":viewer:msp-a:t-1\n"), "users")
	if err != nil || us.Len() != 2 {
		t.Fatalf("ParseUsers: %v", err)
	}
	if u := us.Authenticate("alice", "correct horse battery"); u == nil || u.Role != RoleAdmin || !u.Scope().All() {
		t.Errorf("alice = %+v", u)
	}
	if u := us.Authenticate("bob", "bcrypt password"); u == nil || u.Scope().Tenant() != "t-1" || u.CanWrite() || u.Token().CanWrite() {
		t.Errorf("bob = %+v", u)
	}
	if us.Authenticate("alice", "wrong") != nil || us.Authenticate("nobody", "correct horse battery") != nil || us.Authenticate("", "") != nil {
		t.Error("Authenticate admitted a wrong password or user")
	}
	y, err := ParseUsers([]byte("users:\n  - name: carol\n    password_hash: \""+argon+"\"\n    role: analyst\n    msp: msp-b\n"), "users.yaml")
	if err != nil || y.Lookup("carol") == nil || y.Lookup("carol").Scope().MSP() != "msp-b" {
		t.Fatalf("YAML users: %v", err)
	}
	for _, bad := range []string{
		"alice:" + argon,                               // no role
		"alice:" + argon + ":root",                     // unknown role
		"alice:plaintext-password:admin",               // not a hash
		"alice:" + argon + ":viewer",                   // viewer without tenant
		"alice:" + argon + ":viewer:msp-a",             // viewer without tenant
		"alice:" + argon + ":admin:msp-a",              // scoped admin
		"alice:" + argon + ":analyst:msp-a:t-1",        // analyst with a tenant
		"al ice:" + argon + ":admin",                   // bad name
		"a:" + argon + ":admin\na:" + argon + ":admin", // twice
		"users:\n  - name: x\n    password: y\n",       // unknown YAML field
		"# nothing",
	} {
		_, err := ParseUsers([]byte(bad), "users")
		if err == nil {
			t.Errorf("ParseUsers(%q) accepted it", bad)
		} else if strings.Contains(err.Error(), "plaintext-password") {
			t.Errorf("the hash field is echoed: %v", err)
		}
	}
	// Errors name file:line, in both forms.
	for _, tc := range []struct{ data, want string }{
		{"# users\nalice:" + argon + ":admin\nbob:" + argon + ":root\n", "users:3: user bob"},
		{"users:\n  - name: alice\n    password_hash: \"" + argon + "\"\n    role: admin\n  - name: bob\n    password_hash: x\n    role: analyst\n", "users:5: user bob"},
	} {
		if _, err := ParseUsers([]byte(tc.data), "users"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// Disabled accounts stay in the file and cannot log in.
	for _, data := range []string{
		"alice:!" + argon + ":admin\n",
		"users:\n  - name: alice\n    password_hash: \"" + argon + "\"\n    role: admin\n    disabled: true\n",
	} {
		d, err := ParseUsers([]byte(data), "users")
		if err != nil || d.Lookup("alice") == nil || !d.Lookup("alice").Disabled || d.Authenticate("alice", "correct horse battery") != nil {
			t.Errorf("disabled alice (%q): %v", data[:12], err)
		}
	}
	if _, err := UserLine("dave", RoleAnalyst, "", "", "short"); err == nil {
		t.Error("UserLine took a short password")
	}
	line, err := UserLine("dave", RoleViewer, "msp-a", "t-2", "a long enough password")
	if err != nil || strings.Contains(line, "a long enough password") {
		t.Fatalf("UserLine: %q %v", line, err)
	}
}

func TestLimiterAndSessions(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	l := newLimiter(time.Minute, 3, clock)
	for range 3 {
		l.fail("a", "n")
	}
	if b, _ := l.blocked("a"); !b {
		t.Error("not blocked after 3 failures")
	}
	now = now.Add(61 * time.Second)
	if b, _ := l.blocked("a", "n"); b {
		t.Error("still blocked after the window")
	}
	ss := newSessions(time.Minute, time.Hour, 2, clock)
	s1, _ := ss.create("u1", "")
	if _, ok := ss.get(s1.id); !ok {
		t.Fatal("fresh session not found")
	}
	now = now.Add(2 * time.Minute)
	if _, ok := ss.get(s1.id); ok {
		t.Error("idle session still alive")
	}
	a, _ := ss.create("a", "")
	now = now.Add(time.Second)
	b, _ := ss.create("b", "")
	c, _ := ss.create("c", "")
	if _, ok := ss.get(a.id); ok {
		t.Error("the least recently seen session survived a full store")
	}
	for _, s := range []*session{b, c} {
		if _, ok := ss.get(s.id); !ok {
			t.Errorf("session %s dropped", s.user)
		}
	}
}

// TestConsole drives the console over real HTTP against ClickHouse as
// analysts and a tenant viewer would.
func TestConsole(t *testing.T) {
	e := newEnv(t, "t_console")
	anon := e.browser()

	// Pinned: the API answers 401 without a session or token.
	if status, _ := anon.get("/api/alerts"); status != http.StatusUnauthorized {
		t.Errorf("GET /api/alerts anonymous: %d, want 401", status)
	}
	resp, page := anon.do(http.MethodGet, "/", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="login"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
	} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("header %s = %q, want %q", h, resp.Header.Get(h), want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") {
		t.Error("inline script or style in the login page")
	}
	for _, c := range resp.Cookies() {
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s: HttpOnly %v SameSite %v", c.Name, c.HttpOnly, c.SameSite)
		}
	}
	// Pages need a session; writes without one are refused.
	if r, _ := anon.do(http.MethodGet, "/queue", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/?next=") {
		t.Errorf("anonymous /queue: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r, _ := anon.do(http.MethodPost, "/alerts/a-1/ack", url.Values{"csrf": {"x"}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous ack: %d", r.StatusCode)
	}
	// Login: the form's token, then the password.
	if r, _ := anon.do(http.MethodPost, "/login", url.Values{"name": {"ana"}, "password": {analystPW}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("login without the form token: %d", r.StatusCode)
	}
	if r, _ := anon.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(t, page)}, "name": {"ana"}, "password": {"wrong"}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", r.StatusCode)
	}

	ana := e.browser()
	csrf := ana.login("ana", analystPW)
	_, q := ana.get("/queue")
	for _, want := range []string{"Clinic push outside window", "Election office takeover", "Other MSP secret alert", "/incidents/i-a"} {
		if !strings.Contains(q, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	if _, q := ana.get("/queue?level=critical&tenant=t-2"); strings.Contains(q, "Clinic push") || !strings.Contains(q, "Election office") {
		t.Error("queue filter level=critical tenant=t-2 wrong")
	}
	if status, _ := ana.get("/queue?since=yesterday"); status != http.StatusBadRequest {
		t.Errorf("bad since: %d", status)
	}
	// The API takes the session: reads freely, writes only with the CSRF header.
	r, body := ana.do(http.MethodGet, "/api/alerts", nil)
	if r.StatusCode != 200 || !strings.Contains(body, `"b-1"`) {
		t.Errorf("GET /api/alerts with a session: %d %s", r.StatusCode, body)
	}
	if r, _ := ana.do(http.MethodPost, "/api/alerts/a-2/note", nil, "Content-Type", "application/json"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("API write with a session but no CSRF header: %d", r.StatusCode)
	}

	// The alert page: timeline, rule, registry context, related alerts.
	status, ap := ana.get("/alerts/a-1")
	if status != 200 {
		t.Fatalf("alert page: %d\n%s", status, ap)
	}
	for _, want := range []string{"e-1", "e-2", "clinic-pc-e-2", "update.msi pushed", e.rule.ID, "context.tool_approved", "context.in_maintenance_window",
		"Clinic second alert", `rule_id=` + e.rule.ID, `actor.user=tech1`, `id="ack"`,
		// Why it matched: the selection hit both events, with their values.
		`id="why-heading"`, `data-event="e-1"`, `data-search="selection" data-hit="true"`, `package.signed</code> = <span class="why-value">false`} {
		if !strings.Contains(ap, want) {
			t.Errorf("alert page lacks %q", want)
		}
	}
	// Acknowledge: the CSRF token is required, the actor is the user.
	if r, _ := ana.do(http.MethodPost, "/alerts/a-1/ack", url.Values{"note": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("ack without csrf: %d", r.StatusCode)
	}
	r, _ = ana.do(http.MethodPost, "/alerts/a-1/ack", url.Values{"csrf": {csrf}, "note": {"looking"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/alerts/a-1" {
		t.Fatalf("ack: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ap := ana.get("/alerts/a-1"); !strings.Contains(ap, "Acknowledged.") || !strings.Contains(ap, `id="alert-status">acknowledged`) {
		t.Error("alert page after ack lacks the flash or the status")
	}
	acts, err := e.st.AlertActions(e.ctx, store.AllMSPs(), "a-1")
	if err != nil || len(acts) != 1 || acts[0].Actor != "ana" || acts[0].Action != store.ActionAck || acts[0].Note != "looking" {
		t.Fatalf("alert_actions of a-1: %+v %v", acts, err)
	}
	// A second ack is a conflict, shown, not stored.
	ana.do(http.MethodPost, "/alerts/a-1/ack", url.Values{"csrf": {csrf}})
	if _, ap := ana.get("/alerts/a-1"); !strings.Contains(ap, "only an open alert can be acknowledged") {
		t.Error("conflict not shown")
	}
	ana.do(http.MethodPost, "/alerts/a-1/assign", url.Values{"csrf": {csrf}, "assignee": {"bob"}})
	ana.do(http.MethodPost, "/alerts/a-1/note", url.Values{"csrf": {csrf}, "note": {"called the clinic"}})
	// Pivots: by assignee and by actor, pages and API alike.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"assignee=bob", []string{"a-1"}},
		{"assignee=ana", nil},
		{"actor=tech1&msp=msp-a", []string{"a-1", "a-2", "a-3"}},
		{"actor=tech1&tenant=t-2", []string{"a-3"}},
		{"actor=nobody", nil},
	} {
		_, page := ana.get("/queue?" + tc.query)
		_, api := ana.get("/api/alerts?" + tc.query)
		var rows []string
		for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
			rows = append(rows, m[1])
		}
		var list struct {
			Alerts []struct {
				AlertID string `json:"alert_id"`
			} `json:"alerts"`
		}
		if err := json.Unmarshal([]byte(api), &list); err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var apiIDs []string
		for _, a := range list.Alerts {
			apiIDs = append(apiIDs, a.AlertID)
		}
		slices.Sort(rows)
		slices.Sort(apiIDs)
		if !slices.Equal(rows, tc.want) || !slices.Equal(apiIDs, tc.want) {
			t.Errorf("%s: queue %v, API %v, want %v", tc.query, rows, apiIDs, tc.want)
		}
	}
	r, _ = ana.do(http.MethodPost, "/alerts/a-1/silence", url.Values{"csrf": {csrf}, "matchers": {"rule_id=" + e.rule.ID + "\nactor.user=tech1"},
		"duration": {"2h"}, "reason": {"planned rollout"}})
	if _, ap := ana.get("/alerts/a-1"); r.StatusCode != http.StatusSeeOther || !strings.Contains(ap, "Silence ") {
		t.Errorf("silence: %d, page lacks the flash", r.StatusCode)
	}
	sils, err := e.st.Silences(e.ctx, store.AllMSPs(), store.SilenceFilter{})
	if err != nil || len(sils) != 1 || sils[0].Author != "ana" || sils[0].MSP != "msp-a" {
		t.Errorf("silences: %+v %v", sils, err)
	}
	// Bulk close, one of them already closed below.
	r, _ = ana.do(http.MethodPost, "/queue/bulk", url.Values{"csrf": {csrf}, "action": {"close"}, "reason": {"false_positive"},
		"id": {"a-2", "a-3", "nope"}, "back": {"status=open"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/queue?status=open" {
		t.Fatalf("bulk: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if _, q := ana.get("/queue?status=open"); !strings.Contains(q, "Closed 2 alert(s).") || !strings.Contains(q, "nope: Not found") {
		t.Errorf("bulk flash missing:\n%s", q)
	}
	as, err := e.st.Alerts(e.ctx, store.AllMSPs(), store.AlertFilter{Status: store.StatusClosed})
	if err != nil || len(as) != 2 {
		t.Errorf("closed alerts after bulk: %d %v", len(as), err)
	}
	if _, inc := ana.get("/incidents/i-a"); !strings.Contains(inc, "Clinic second alert") || !strings.Contains(inc, `id="bulk-close"`) {
		t.Error("incident page lacks its alerts or its bulk form")
	}
	// An incident is triaged as a whole from its page, which the form
	// returns to.
	r, _ = ana.do(http.MethodPost, "/queue/bulk", url.Values{"csrf": {csrf}, "action": {"close"}, "reason": {"true_positive"},
		"id": {"a-1"}, "incident": {"i-a"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/incidents/i-a" {
		t.Fatalf("incident bulk close: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if _, inc := ana.get("/incidents/i-a"); !strings.Contains(inc, "Closed 1 alert(s).") || !strings.Contains(inc, "closed (true_positive)") {
		t.Errorf("incident page after its bulk close:\n%s", inc)
	}
	if status, _ := ana.get("/rules"); status != 200 {
		t.Errorf("analyst rules: %d", status)
	}

	// Rule health as admin: the alerts' rule fired, others never did.
	admin := e.browser()
	admin.login("admin", adminPW)
	status, rp := admin.get("/rules")
	if status != 200 || !strings.Contains(rp, `id="noisy"`) || !strings.Contains(rp, `id="never"`) || !strings.Contains(rp, e.rule.ID) || !strings.Contains(rp, "Reload now") {
		t.Errorf("rule health: %d\n%s", status, rp)
	}

	// The tenant viewer sees its tenant only, pages and API alike.
	v := e.browser()
	vcsrf := v.login("clinic", viewerPW)
	_, vq := v.get("/queue")
	if !strings.Contains(vq, "Clinic push") || strings.Contains(vq, "Election office") || strings.Contains(vq, "Other MSP") || strings.Contains(vq, "Acknowledge selected") {
		t.Errorf("viewer queue shows other tenants or write controls:\n%s", vq)
	}
	for path, want := range map[string]int{
		"/alerts/a-1": 200, "/alerts/a-3": 404, "/alerts/b-1": 404, "/tenant": 200, "/tenant?msp=msp-a&tenant=t-1": 200,
		"/tenant?msp=msp-a&tenant=t-2": 404, "/rules": 404, "/report?tenant=t-2&month=2026-11": 404,
		"/report?tenant=t-1&month=2026-11": 200, "/report?msp=msp-b&tenant=t-1&month=2026-11": 404,
		"/report?tenant=t-1&month=2026-11&format=csv": 200, "/report?tenant=t-1&month=26-11": 400,
		"/api/alerts/a-3": 404, "/api/alerts/b-1": 404,
	} {
		if status, _ := v.get(path); status != want {
			t.Errorf("viewer GET %s: %d, want %d", path, status, want)
		}
	}
	if _, ap := v.get("/alerts/a-1"); strings.Contains(ap, `id="ack"`) {
		t.Error("viewer sees triage forms")
	}
	if _, rp := v.get("/report?tenant=t-1&month=2026-11"); !strings.Contains(rp, "t-1") || !strings.Contains(rp, "<svg") {
		t.Error("the report page is not the tenant's report")
	}
	if _, tp := v.get("/tenant"); !strings.Contains(tp, "tenant=t-1&amp;month=") {
		t.Error("tenant page lacks the report links")
	}
	_, api := v.get("/api/alerts")
	var list struct {
		Alerts []struct {
			AlertID string `json:"alert_id"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(api), &list); err != nil {
		t.Fatal(err)
	}
	for _, a := range list.Alerts {
		if a.AlertID != "a-1" && a.AlertID != "a-2" {
			t.Errorf("viewer API lists %s", a.AlertID)
		}
	}
	if r, _ := v.do(http.MethodPost, "/alerts/a-1/note", url.Values{"csrf": {vcsrf}, "note": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer note: %d", r.StatusCode)
	}
	if r, _ := v.do(http.MethodPost, "/queue/bulk", url.Values{"csrf": {vcsrf}, "action": {"ack"}, "id": {"a-2"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer bulk: %d", r.StatusCode)
	}

	// Logout ends the session on the server.
	if r, _ := ana.do(http.MethodPost, "/logout", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", r.StatusCode)
	}
	if status, _ := ana.get("/queue"); status != http.StatusSeeOther {
		t.Errorf("queue after logout: %d", status)
	}
	if status, _ := ana.get("/api/alerts"); status != http.StatusUnauthorized {
		t.Errorf("API after logout: %d", status)
	}

	// Login rate limit: LoginFailures wrong passwords, then even the right one waits.
	mallory := e.browser()
	_, lp := mallory.get("/")
	tok := csrfOf(t, lp)
	for range LoginFailures {
		mallory.do(http.MethodPost, "/login", url.Values{"csrf": {tok}, "name": {"admin"}, "password": {"guess"}})
	}
	if r, _ := mallory.do(http.MethodPost, "/login", url.Values{"csrf": {tok}, "name": {"admin"}, "password": {adminPW}}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("login after %d failures: %d, want 429", LoginFailures, r.StatusCode)
	}
	logs := e.logs.String()
	for _, secret := range []string{adminPW, analystPW, viewerPW, "guess", csrf} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	if !strings.Contains(logs, "console login failed") {
		t.Error("failed logins are not logged")
	}
	if r, _ := mallory.do(http.MethodGet, "/static/console.css", nil); r.StatusCode != 200 {
		t.Errorf("static: %d", r.StatusCode)
	}
	if r, body := mallory.do(http.MethodGet, "/no/such/page", nil); r.StatusCode != 404 || !strings.Contains(body, "no such page") {
		t.Errorf("404 page: %d", r.StatusCode)
	}
}
