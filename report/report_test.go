package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/report"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/store"
)

var ch chserver.Shared

func TestMain(m *testing.M) { os.Exit(ch.Run(m)) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// world is simulated traffic with a stolen-credential attack, ingested as
// ingest would (context from the simulator's registry) into one store.
type world struct {
	st       *store.Store
	reg      *registry.Registry
	regFile  []byte
	victim   store.TenantRef // a tenant the attacker's sessions reached
	attacker string          // the stolen technician account
	quiet    store.TenantRef // a tenant of an MSP the attack did not touch
	hostile  string          // an actor name built to break HTML and CSV
	alertID  string
	ackAt    time.Time
	closedAt time.Time
}

const month = "2026-11"

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

// loadWorld builds the world once per test binary (every test reads it).
func loadWorld(t testing.TB) *world {
	t.Helper()
	srv := ch.Get(t)
	worldOnce.Do(func() { theWorld, worldErr = buildWorld(srv.Addr()) })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

func buildWorld(addr string) (*world, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: addr, Database: "t_report"})
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	g, err := simulate.New(simulate.Config{Seed: 7, Start: time.Date(2026, 11, 9, 6, 0, 0, 0, time.UTC), Events: 20000,
		Scenarios: []string{"stolen-credential"}})
	if err != nil {
		return nil, err
	}
	w := &world{st: st, regFile: g.Registry()}
	if w.reg, err = registry.Parse(w.regFile, "sim-registry.yml"); err != nil {
		return nil, err
	}
	dec := contract.Decoder{DiscardContext: true, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}
	var rows []record.Event
	attacked := map[string]bool{}
	tenantsOf := map[string][]string{}
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, doc, err := dec.DecodeNormalised(m.Value)
		if err != nil {
			return nil, fmt.Errorf("decode simulated event: %w", err)
		}
		if ev.Context = w.reg.Context(&ev); ev.Context != nil {
			doc = contract.WithContext(doc, ev.Context)
		}
		rows = append(rows, record.Event{Event: &ev, Doc: doc, Topic: m.Topic})
		if m.Scenario != "" {
			attacked[ev.MSP] = true
			if ev.EventType == "session.start" && w.victim.Tenant == "" {
				w.victim, w.attacker = store.TenantRef{MSP: ev.MSP, Tenant: ev.Tenant}, ev.Actor.User
			}
		}
		if ev.Tenant != "" && !slices.Contains(tenantsOf[ev.MSP], ev.Tenant) {
			tenantsOf[ev.MSP] = append(tenantsOf[ev.MSP], ev.Tenant)
		}
	}
	for msp, ts := range tenantsOf {
		if !attacked[msp] && w.quiet.MSP == "" || !attacked[msp] && msp < w.quiet.MSP {
			slices.Sort(ts)
			w.quiet = store.TenantRef{MSP: msp, Tenant: ts[0]}
		}
	}
	if w.victim.Tenant == "" || w.quiet.Tenant == "" {
		return nil, fmt.Errorf("simulation: no victim (%v) or quiet tenant (%v)", w.victim, w.quiet)
	}

	// An actor no registry knows, named to break an HTML page or a
	// spreadsheet if either were rendered carelessly.
	w.hostile = `=HYPERLINK("http://x")<script>alert(1)</script>`
	raw := fmt.Sprintf(`{"event_type":"session.start","time":"2026-11-09T09:30:00Z","msp":%q,"tenant":%q,"tool":"anydesk",
		"actor":{"user":%q,"ip":"198.51.100.99","country":"RU","asn":64999},"target":{"host":"srv-x"},"session":{"id":"hostile-1"}}`,
		w.victim.MSP, w.victim.Tenant, w.hostile)
	ev, doc, err := dec.DecodeNormalised([]byte(raw))
	if err != nil {
		return nil, err
	}
	ev.Context = w.reg.Context(&ev)
	doc = contract.WithContext(doc, ev.Context)
	rows = append(rows, record.Event{Event: &ev, Doc: doc, Topic: simulate.TopicRemoteSessions})
	for i := 0; i < len(rows); i += 5000 {
		if err := st.InsertEvents(ctx, rows[i:min(i+5000, len(rows))]); err != nil {
			return nil, err
		}
	}

	// The detector's alert on the attack, acknowledged after 20 minutes
	// and closed as a true positive after two hours.
	first := time.Date(2026, 11, 9, 16, 0, 0, 0, time.UTC)
	w.alertID, w.ackAt, w.closedAt = "alert-stolen-1", first.Add(20*time.Minute), first.Add(2*time.Hour)
	if err := st.InsertAlerts(ctx, []record.Alert{{AlertID: w.alertID, Fingerprint: "fp", RuleID: "msp-login-without-mfa",
		RuleTitle: "Login Without MFA", Level: "high", MSP: w.victim.MSP, Tenant: w.victim.Tenant, ActorUser: w.attacker,
		WindowStart: first.Truncate(time.Hour), FirstTime: first, LastTime: first.Add(10 * time.Minute), Count: 3, EventIDs: []string{"e1"}}}); err != nil {
		return nil, err
	}
	acts := []record.AlertAction{
		{ActionID: "act-1", AlertID: w.alertID, MSP: w.victim.MSP, At: w.ackAt, Actor: "analyst", Action: store.ActionAck, StatusFrom: "open", StatusTo: store.StatusAcknowledged},
		{ActionID: "act-2", AlertID: w.alertID, MSP: w.victim.MSP, At: w.closedAt, Actor: "analyst", Action: store.ActionClose, StatusFrom: store.StatusAcknowledged, StatusTo: store.StatusClosed, Reason: "true_positive"},
	}
	if err := st.AppendActions(ctx, store.AllMSPs(), acts); err != nil {
		return nil, err
	}
	return w, nil
}

func build(t testing.TB, w *world, ref store.TenantRef, now time.Time) *report.Report {
	t.Helper()
	r, err := report.Build(testCtx(t), w.st, report.Options{Scope: store.AllMSPs(), MSP: ref.MSP, Tenant: ref.Tenant, Month: month,
		Registry: w.reg, RegistryFile: w.regFile, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportShowsTheStolenCredential(t *testing.T) {
	w := loadWorld(t)
	r := build(t, w, w.victim, time.Now())
	d := &r.Data

	// The attacker's session: no MFA (from its console login), from a
	// country the technician never uses.
	var attackSession *report.Session
	for i := range d.Sessions {
		if s := &d.Sessions[i]; s.User == w.attacker && s.MFA != nil && !*s.MFA {
			attackSession = s
		}
	}
	if attackSession == nil {
		t.Fatalf("no session without MFA by %s among %d sessions", w.attacker, len(d.Sessions))
	}
	if attackSession.MFASource != "login" || attackSession.UsualCountry == nil || *attackSession.UsualCountry {
		t.Errorf("attack session: mfa source %q, usual country %v; want login, false", attackSession.MFASource, attackSession.UsualCountry)
	}
	if len(attackSession.Hosts) == 0 || attackSession.Contracted == nil || !*attackSession.Contracted || attackSession.ToolApproved == nil {
		t.Errorf("attack session lacks hosts or context: %+v", attackSession)
	}
	kinds := map[string]map[string]int{}
	for _, e := range d.Exceptions {
		if kinds[e.User] == nil {
			kinds[e.User] = map[string]int{}
		}
		kinds[e.User][e.Kind]++
	}
	if kinds[w.attacker][report.ExNoMFA] == 0 || kinds[w.attacker][report.ExUnusualLocation] == 0 {
		t.Errorf("exceptions of %s: %v; want no_mfa and unusual_country", w.attacker, kinds[w.attacker])
	}
	// The hostile actor: unknown, with a tool nobody approved.
	if kinds[w.hostile][report.ExUnknownActor] != 1 || kinds[w.hostile][report.ExUnapprovedTool] != 1 {
		t.Errorf("exceptions of the unregistered actor: %v", kinds[w.hostile])
	}
	if !slices.ContainsFunc(d.AccessReview.NotInRegistry, func(a report.Actor) bool { return a.User == w.hostile }) {
		t.Errorf("access review misses the unregistered actor: %+v", d.AccessReview.NotInRegistry)
	}
	for _, u := range d.AccessReview.Dormant {
		if !slices.Contains(d.Registry.Technicians, u) {
			t.Errorf("dormant %q is not a registered technician", u)
		}
		if slices.ContainsFunc(d.Technicians, func(x report.TechnicianSummary) bool { return strings.EqualFold(x.User, u) }) {
			t.Errorf("dormant %q worked at the tenant this month", u)
		}
	}
	if len(d.Registry.Technicians) == 0 || !d.Registry.Contracted || !d.HeatMap.HasMaintenance || d.HeatMap.Max == 0 {
		t.Errorf("registry or heat map missing: registry %+v, heat map max %d, maintenance %v", d.Registry, d.HeatMap.Max, d.HeatMap.HasMaintenance)
	}

	// The alert with its outcome.
	if len(d.Alerts) != 1 {
		t.Fatalf("alerts: %+v", d.Alerts)
	}
	a := d.Alerts[0]
	if a.Status != store.StatusClosed || a.CloseReason != "true_positive" || a.TimeToAckS == nil || *a.TimeToAckS != 1200 ||
		a.TimeToCloseS == nil || *a.TimeToCloseS != 7200 {
		t.Errorf("alert outcome: %+v (ack %v close %v)", a, a.TimeToAckS, a.TimeToCloseS)
	}
	if d.Summary.Sessions == 0 || d.Summary.Events == 0 || len(d.Daily) != 30 || d.Retention.DataSince == nil {
		t.Errorf("summary %+v, %d days, data since %v", d.Summary, len(d.Daily), d.Retention.DataSince)
	}
	var daySessions int
	for _, day := range d.Daily {
		daySessions += day.Sessions
	}
	if daySessions == 0 || daySessions > d.Summary.Sessions {
		t.Errorf("sessions per day sum to %d of %d sessions", daySessions, d.Summary.Sessions)
	}
	t.Logf("victim %s/%s: %d events, %d sessions, %d changes, %d privileged credential uses, %d failed-login rows, %d exceptions, %d dormant",
		w.victim.MSP, w.victim.Tenant, d.Summary.Events, len(d.Sessions), len(d.Changes), len(d.Credentials), len(d.FailedLogins), len(d.Exceptions), len(d.AccessReview.Dormant))
}

func TestReportQuietTenant(t *testing.T) {
	w := loadWorld(t)
	d := build(t, w, w.quiet, time.Now()).Data
	// Benign traffic never logs in without MFA, from an unusual country,
	// with an unapproved tool or as an unregistered actor.
	for _, e := range d.Exceptions {
		if e.Kind != report.ExOutOfWindow {
			t.Errorf("quiet tenant %s/%s: exception %+v", w.quiet.MSP, w.quiet.Tenant, e)
		}
	}
	if len(d.Alerts) != 0 || len(d.AccessReview.NotInRegistry) != 0 || d.Summary.Events == 0 {
		t.Errorf("quiet tenant: %d alerts, not in registry %+v, %d events", len(d.Alerts), d.AccessReview.NotInRegistry, d.Summary.Events)
	}
	for _, s := range d.Sessions {
		if s.MFA == nil || !*s.MFA {
			t.Errorf("benign session %s has MFA %v", s.SessionID, s.MFA)
		}
	}
}

func TestReportScope(t *testing.T) {
	w := loadWorld(t)
	ctx := testCtx(t)
	for name, scope := range map[string]store.Scope{
		"other tenant": store.OnlyTenant(w.victim.MSP, w.victim.Tenant+"-other"),
		"other msp":    store.OnlyMSP(w.victim.MSP + "-other"),
		"no scope":     {},
	} {
		_, err := report.Build(ctx, w.st, report.Options{Scope: scope, MSP: w.victim.MSP, Tenant: w.victim.Tenant, Month: month})
		if err == nil {
			t.Errorf("%s: built another tenant's report", name)
		}
	}
	r, err := report.Build(ctx, w.st, report.Options{Scope: store.OnlyTenant(w.victim.MSP, w.victim.Tenant), MSP: w.victim.MSP, Tenant: w.victim.Tenant, Month: month})
	if err != nil {
		t.Fatalf("the tenant's own scope: %v", err)
	}
	if len(r.Data.Sessions) == 0 || len(r.Data.Alerts) != 1 {
		t.Errorf("tenant scope: %d sessions, %d alerts", len(r.Data.Sessions), len(r.Data.Alerts))
	}
	if _, err := report.Build(ctx, w.st, report.Options{Scope: store.AllMSPs(), MSP: "m", Tenant: "t", Month: "2026-13"}); err == nil {
		t.Error("month 2026-13 accepted")
	}
}

func TestDigestStableAndVerifiable(t *testing.T) {
	w := loadWorld(t)
	r1 := build(t, w, w.victim, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	r2 := build(t, w, w.victim, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	if r1.Digest != r2.Digest || !strings.HasPrefix(r1.Digest, "sha256:") || len(r1.Digest) != 71 {
		t.Fatalf("digests %s and %s of the same data", r1.Digest, r2.Digest)
	}
	var js bytes.Buffer
	if err := report.WriteJSON(&js, r1); err != nil {
		t.Fatal(err)
	}
	got, err := report.Verify(js.Bytes())
	if err != nil || got != r1.Digest {
		t.Fatalf("verify: %s, %v", got, err)
	}
	// The JSON is the model: it decodes back to the same data.
	var back report.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	c1, _ := report.Canonical(&r1.Data)
	c2, _ := report.Canonical(&back.Data)
	if !bytes.Equal(c1, c2) {
		t.Error("the JSON does not decode back to the same canonical data")
	}
	// One changed figure breaks it.
	tampered := bytes.Replace(js.Bytes(), []byte(`"status": "closed"`), []byte(`"status": "open"`), 1)
	if bytes.Equal(tampered, js.Bytes()) {
		t.Fatal("nothing to tamper with")
	}
	if _, err := report.Verify(tampered); !errors.Is(err, report.ErrDigestMismatch) {
		t.Errorf("tampered report verified: %v", err)
	}
	// A different month is different data.
	r3, err := report.Build(testCtx(t), w.st, report.Options{Scope: store.AllMSPs(), MSP: w.victim.MSP, Tenant: w.victim.Tenant, Month: "2026-10"})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Digest == r1.Digest || r3.Data.Summary.Events != 0 {
		t.Errorf("October: digest %s, %d events", r3.Digest, r3.Data.Summary.Events)
	}
}

func TestCSV(t *testing.T) {
	w := loadWorld(t)
	r := build(t, w, w.victim, time.Now())
	var b bytes.Buffer
	if err := report.WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(&b)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][][]string{}
	var order []string
	var cur string
	header := false
	for _, rec := range recs {
		switch {
		case len(rec) == 2 && rec[0] == "#section":
			cur, header = rec[1], true
			order = append(order, cur)
		case len(rec) == 1 && rec[0] == "":
			cur = ""
		case header:
			header = false
			sections[cur+"#header"] = [][]string{rec}
		default:
			sections[cur] = append(sections[cur], rec)
		}
	}
	want := []string{"report", "summary", "technicians", "sessions", "changes", "privileged_credentials", "failed_logins", "exceptions", "alerts", "access_review", "heat_map", "daily"}
	if !slices.Equal(order, want) {
		t.Fatalf("sections %v, want %v", order, want)
	}
	if got := sections["report"][0][5]; got != r.Digest {
		t.Errorf("report digest cell %q", got)
	}
	if len(sections["sessions"]) != len(r.Data.Sessions) || len(sections["exceptions"]) != len(r.Data.Exceptions) ||
		len(sections["heat_map"]) != 7*24 || len(sections["daily"]) != 30 || len(sections["alerts"]) != 1 {
		t.Errorf("rows: %d sessions, %d exceptions, %d heat map, %d days, %d alerts", len(sections["sessions"]), len(sections["exceptions"]),
			len(sections["heat_map"]), len(sections["daily"]), len(sections["alerts"]))
	}
	if h := sections["alerts#header"][0]; !slices.Equal(h[len(h)-2:], []string{"time_to_ack_s", "time_to_close_s"}) {
		t.Errorf("alerts header %v", h)
	}
	if a := sections["alerts"][0]; a[8] != "closed" || a[9] != "true_positive" || a[11] != "1200" || a[12] != "7200" {
		t.Errorf("alert row %v", a)
	}
	noMFA := 0
	for _, e := range sections["exceptions"] {
		if e[1] == report.ExNoMFA && e[2] == w.attacker {
			noMFA++
		}
		// The hostile actor's formula is defused.
		if strings.Contains(e[2], "HYPERLINK") && !strings.HasPrefix(e[2], "'=") {
			t.Errorf("formula cell not defused: %q", e[2])
		}
	}
	if noMFA == 0 {
		t.Error("no no_mfa exception row for the attacker")
	}
}

func TestHTML(t *testing.T) {
	w := loadWorld(t)
	r := build(t, w, w.victim, time.Now())
	var b bytes.Buffer
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<svg", r.Digest, "Sessions by technician", "Pushes and scripts", "Privileged credentials used",
		"Failed logins", "Exceptions", "Access review", "Login Without MFA", "true_positive", "maintenance window", w.attacker,
		"&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import"} {
		// The hostile actor's URL is escaped text, not a link or a load.
		if bad == "http://" {
			rest := strings.ReplaceAll(page, "&#34;http://x&#34;", "")
			rest = strings.ReplaceAll(rest, `xmlns="http://www.w3.org/2000/svg"`, "") // a name, not a load
			if strings.Contains(rest, "http://") {
				t.Errorf("page holds a URL outside escaped text")
			}
			continue
		}
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}

func BenchmarkTenantMonth(b *testing.B) {
	w := loadWorld(b)
	ctx := context.Background()
	for b.Loop() {
		r, err := report.Build(ctx, w.st, report.Options{Scope: store.AllMSPs(), MSP: w.victim.MSP, Tenant: w.victim.Tenant, Month: month,
			Registry: w.reg, RegistryFile: w.regFile})
		if err != nil {
			b.Fatal(err)
		}
		if err := report.WriteHTML(&bytes.Buffer{}, r); err != nil {
			b.Fatal(err)
		}
	}
}
