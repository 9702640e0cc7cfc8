package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

var ch chserver.Shared

// unsignedPushRule is the embedded pack's "Unsigned Package Pushed
// Through an RMM Tool".
const unsignedPushRule = "4a1d0f0e-6a53-4f5e-9c38-1b2b4e3a6a01"

func TestMain(m *testing.M) { os.Exit(ch.Run(m)) }

// Test accounts; passwords are long enough for UserLine.
const (
	adminPW   = "admin-password-1"
	analystPW = "analyst-password-1"
	viewerPW  = "viewer-password-1"
)

// env is a console over a fresh database, served over real HTTP.
type env struct {
	t    *testing.T
	st   *store.Store
	srv  *httptest.Server
	rule *RuleInfo // a rule of the embedded pack the alerts name
	ctx  context.Context
	logs *lockedBuffer
}

// lockedBuffer collects the server's log lines (written from its
// goroutines) for the test to read.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func usersFile(t testing.TB) *Users {
	t.Helper()
	var lines []string
	for _, u := range [][5]string{
		{"admin", RoleAdmin, "", "", adminPW},
		{"ana", RoleAnalyst, "", "", analystPW},
		{"clinic", RoleViewer, "msp-a", "t-1", viewerPW},
	} {
		l, err := UserLine(u[0], u[1], u[2], u[3], u[4])
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	us, err := ParseUsers([]byte(strings.Join(lines, "\n")), "users")
	if err != nil {
		t.Fatal(err)
	}
	return us
}

func newEnv(t *testing.T, db string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st, err := store.Open(ctx, store.Config{Addr: ch.Get(t).Addr(), Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pack, err := NewRulePack("", engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The alerts name the embedded pack's unsigned-push rule, whose
	// selection the seeded pushes hit (the alert page's "why it matched").
	rule := pack.Rule(unsignedPushRule)
	if rule == nil {
		t.Fatalf("the embedded pack has no rule %s", unsignedPushRule)
	}
	e := &env{t: t, st: st, ctx: ctx, rule: rule, logs: &lockedBuffer{}}
	e.seed()
	svc := triage.New(st)
	log := zerolog.New(e.logs)
	con, err := New(Config{Triage: svc, Store: st, Users: usersFile(t), API: api.New(svc, &api.Tokens{}, log), Rules: pack, Log: log,
		Report: ReportHandler(st, nil, log)})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(con.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// seed stores four alerts: a-1 and a-2 of tenant t-1 in incident i-a
// (a-1 with two detections over two enriched events), a-3 of tenant t-2
// of the same MSP, and b-1 of another MSP.
func (e *env) seed() {
	t, ctx := e.t, e.ctx
	now := time.Now().UTC().Truncate(time.Second)
	rule := e.rule
	mk := func(id, msp, tenant, level, title string, events ...string) record.Alert {
		return record.Alert{AlertID: id, Fingerprint: "fp-" + id, RuleID: rule.ID, RuleTitle: title, Level: level, Tags: rule.Tags,
			MSP: msp, Tenant: tenant, ActorUser: "tech1", GroupKeys: []string{"msp", "actor.user"}, GroupValues: []string{msp, "tech1"},
			WindowStart: now.Truncate(24 * time.Hour), FirstTime: now.Add(-time.Hour), LastTime: now, Count: uint64(max(1, len(events))),
			EventIDs: events, IncidentID: map[string]string{"a-1": "i-a", "a-2": "i-a"}[id], Summary: title + " by tech1"}
	}
	alerts := []record.Alert{
		mk("a-1", "msp-a", "t-1", "high", "Clinic push outside window", "e-1", "e-2"),
		mk("a-2", "msp-a", "t-1", "low", "Clinic second alert"),
		mk("a-3", "msp-a", "t-2", "critical", "Election office takeover"),
		mk("b-1", "msp-b", "t-9", "critical", "Other MSP secret alert"),
	}
	if err := e.st.InsertAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	if err := e.st.InsertIncidents(ctx, []record.Incident{{IncidentID: "i-a", MSP: "msp-a", EntityKind: "actor.user", EntityValue: "tech1",
		Level: "high", WindowStart: now, FirstTime: now.Add(-time.Hour), LastTime: now, AlertIDs: []string{"a-1", "a-2"},
		Tenants: []string{"t-1"}, RuleIDs: []string{rule.ID}}}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	var evs []record.Event
	for i, id := range []string{"e-1", "e-2"} {
		ev := &contract.Event{EventID: id, EventType: contract.TypeSoftwarePush, Time: now.Add(time.Duration(i-60) * time.Minute), MSP: "msp-a", Tenant: "t-1",
			Tool: "kaseya", Actor: contract.Actor{User: "tech1", IP: "198.51.100.7", Country: "NL"}, Target: contract.Target{Host: "clinic-pc-" + id},
			Package: contract.Package{Name: "update.msi", Signed: &no}, Context: &contract.Context{ToolApproved: &yes, InMaintenanceWindow: &no}}
		evs = append(evs, record.Event{Event: ev, Topic: "tripline.events", Offset: int64(i)})
	}
	if err := e.st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var ds []record.Detection
	for i, ev := range []string{"e-1", "e-2"} {
		ds = append(ds, record.Detection{DetectionID: "d-" + ev, RuleID: rule.ID, RuleTitle: rule.Title, Level: "high", MSP: "msp-a", Tenant: "t-1",
			ActorUser: "tech1", FirstTime: now.Add(time.Duration(i-60) * time.Minute), LastTime: now.Add(time.Duration(i-60) * time.Minute),
			EventIDs: []string{ev}, Summary: "update.msi pushed to clinic-pc-" + ev, DetectedAt: now, AlertID: "a-1", IncidentID: "i-a"})
	}
	if err := e.st.InsertDetections(ctx, ds); err != nil {
		t.Fatal(err)
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see the 303s.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.srv.URL, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, body := b.do(http.MethodGet, path, nil)
	return resp.StatusCode, body
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

// login logs in and returns the session's CSRF token.
func (b *browser) login(name, password string) string {
	b.t.Helper()
	_, page := b.get("/")
	resp, body := b.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(b.t, page)}, "name": {name}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/queue" {
		b.t.Fatalf("login %s: %d %s: %s", name, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	status, q := b.get("/queue")
	if status != 200 {
		b.t.Fatalf("queue after login: %d", status)
	}
	return csrfOf(b.t, q)
}
