package triage

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/sigma"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/store"
)

var ch chserver.Shared

func TestMain(m *testing.M) { os.Exit(ch.Run(m)) }

func open(t *testing.T, db string) (*store.Store, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := store.Open(ctx, store.Config{Addr: ch.Get(t).Addr(), Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// defenderRule is a rule of the pack; a filter drafted for it must lint
// together with it.
const (
	defenderRuleFile = "../rules/msp/software_update/defender_disabled_by_script.yml"
	defenderRuleID   = "7c2e9b1a-3f0d-4d8e-8a41-2d6f1e9b7c02"
)

func testAlert() record.Alert {
	now := time.Now().UTC().Truncate(time.Second)
	return record.Alert{
		AlertID: "alert-1", Fingerprint: "fp", RuleID: defenderRuleID, RuleTitle: "Pushed Script Disables or Blinds Microsoft Defender",
		Level: "high", MSP: "msp-a", Tenant: "t-1", ActorUser: "tech1",
		GroupKeys: []string{"msp", "tenant", "actor.user", "script.sha256"}, GroupValues: []string{"msp-a", "t-1", "tech1", ""},
		WindowStart: now.Truncate(24 * time.Hour), FirstTime: now, LastTime: now, Count: 3,
	}
}

func TestWorkflow(t *testing.T) {
	st, ctx := open(t, "t_triage_flow")
	a := testAlert()
	if err := st.InsertAlerts(ctx, []record.Alert{a}); err != nil {
		t.Fatal(err)
	}
	svc := New(st)
	all, scoped, other := store.AllMSPs(), store.OnlyMSP("msp-a"), store.OnlyMSP("msp-b")

	if _, err := svc.Ack(ctx, other, a.AlertID, "eve", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another msp acked: %v", err)
	}
	if _, err := svc.Ack(ctx, scoped, a.AlertID, "", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("ack without an actor: %v", err)
	}
	if _, err := svc.Reopen(ctx, scoped, a.AlertID, "alice", ""); !errors.Is(err, ErrConflict) {
		t.Errorf("reopen an open alert: %v", err)
	}
	r, err := svc.Ack(ctx, scoped, a.AlertID, "alice", "looking")
	if err != nil || r.Alert.Status != store.StatusAcknowledged || r.Action.StatusFrom != "open" || r.Action.Actor != "alice" {
		t.Fatalf("ack: %+v, %v", r, err)
	}
	if _, err := svc.Ack(ctx, scoped, a.AlertID, "alice", ""); !errors.Is(err, ErrConflict) {
		t.Errorf("second ack: %v", err)
	}
	if r, err = svc.Assign(ctx, scoped, a.AlertID, "alice", "bob", ""); err != nil || r.Alert.Assignee != "bob" || r.Alert.Status != store.StatusAcknowledged {
		t.Fatalf("assign: %+v, %v", r, err)
	}
	if _, err := svc.Note(ctx, all, a.AlertID, "carol", "  "); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty note: %v", err)
	}
	if _, err := svc.Note(ctx, all, a.AlertID, "carol", "seen in CHG-7"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Close(ctx, scoped, a.AlertID, "bob", "meh", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("close with an unknown reason: %v", err)
	}
	r, err = svc.Close(ctx, scoped, a.AlertID, "bob", ReasonFalsePositive, "backup agent update")
	if err != nil || r.Alert.Status != store.StatusClosed || r.Alert.CloseReason != ReasonFalsePositive {
		t.Fatalf("close: %+v, %v", r, err)
	}
	if !strings.Contains(r.DraftFilter, defenderRuleID) || !strings.Contains(r.DraftFilter, "actor.user: tech1") {
		t.Errorf("draft filter:\n%s", r.DraftFilter)
	}
	if _, err := svc.Assign(ctx, scoped, a.AlertID, "bob", "carol", ""); !errors.Is(err, ErrConflict) {
		t.Errorf("assign a closed alert: %v", err)
	}
	if _, err := svc.Close(ctx, scoped, a.AlertID, "bob", ReasonDuplicate, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("close a closed alert: %v", err)
	}
	if r, err = svc.Reopen(ctx, scoped, a.AlertID, "alice", "not a FP after all"); err != nil || r.Alert.Status != store.StatusOpen || r.DraftFilter != "" {
		t.Fatalf("reopen: %+v, %v", r, err)
	}

	d, err := svc.Show(ctx, scoped, a.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, x := range d.Actions {
		acts = append(acts, x.Action+":"+x.StatusTo)
	}
	if got := strings.Join(acts, " "); got != "ack:acknowledged assign:acknowledged note:acknowledged close:closed reopen:open" {
		t.Errorf("actions: %s", got)
	}
	if d.Alert.Status != store.StatusOpen || d.Alert.Assignee != "bob" || d.Alert.CloseReason != "" {
		t.Errorf("shown alert: %+v", d.Alert)
	}
	list, err := svc.List(ctx, all, ListFilter{Status: "open", MinLevel: "medium"})
	if err != nil || len(list) != 1 {
		t.Errorf("list: %+v, %v", list, err)
	}
	if _, err := svc.List(ctx, all, ListFilter{MinLevel: "severe"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown level: %v", err)
	}
	if _, err := svc.List(ctx, all, ListFilter{Status: "resolved"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown status: %v", err)
	}
}

func TestSilenceLifecycle(t *testing.T) {
	st, ctx := open(t, "t_triage_silences")
	svc := New(st)
	scoped := store.OnlyMSP("msp-a")
	req := NewSilence{Matchers: []string{"rule_id=" + defenderRuleID}, For: 2 * time.Hour, Author: "alice", Reason: "CHG-42"}
	sil, err := svc.CreateSilence(ctx, scoped, req)
	if err != nil || sil.MSP != "msp-a" || sil.Ends.Sub(sil.Starts) != 2*time.Hour {
		t.Fatalf("create: %+v, %v", sil, err)
	}
	for name, mod := range map[string]func(*NewSilence){
		"no reason":   func(r *NewSilence) { r.Reason = "" },
		"31 days":     func(r *NewSilence) { r.For = 31 * 24 * time.Hour },
		"no end":      func(r *NewSilence) { r.For = 0 },
		"bad matcher": func(r *NewSilence) { r.Matchers = []string{"level=~("} },
		"no author":   func(r *NewSilence) { r.Author = "" },
	} {
		r := req
		mod(&r)
		if _, err := svc.CreateSilence(ctx, scoped, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := req
	r.MSP = "msp-b"
	if _, err := svc.CreateSilence(ctx, scoped, r); !errors.Is(err, store.ErrForbidden) {
		t.Errorf("a scoped caller silenced another msp: %v", err)
	}

	// The detector's view: the silence holds the alert back.
	active, err := st.ActiveSilences(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	set, err := silence.NewSet(active)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	if got := set.Match(&a, time.Now()); got != sil.SilenceID {
		t.Errorf("Match = %q, want %s", got, sil.SilenceID)
	}

	if _, err := svc.ExpireSilence(ctx, store.OnlyMSP("msp-b"), sil.SilenceID, "eve"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another msp expired it: %v", err)
	}
	exp, err := svc.ExpireSilence(ctx, scoped, sil.SilenceID, "alice")
	if err != nil || exp.Ends.After(time.Now()) {
		t.Fatalf("expire: %+v, %v", exp, err)
	}
	if _, err := svc.ExpireSilence(ctx, scoped, sil.SilenceID, "alice"); !errors.Is(err, ErrConflict) {
		t.Errorf("expire twice: %v", err)
	}
	if got, err := svc.Silences(ctx, scoped, false, 0); err != nil || len(got) != 0 {
		t.Errorf("active after expiry: %+v, %v", got, err)
	}
	if got, err := svc.Silences(ctx, scoped, true, 0); err != nil || len(got) != 1 || got[0].Reason != "CHG-42" {
		t.Errorf("all after expiry (kept for audit): %+v, %v", got, err)
	}
}

// TestDraftFilterLints holds the draft to what the detector loads: rules
// lint, over the filter and the rule it names, finds no error.
func TestDraftFilterLints(t *testing.T) {
	a := testAlert()
	a.RuleTitle = `Tricky: "quotes", # hash and: colons`
	a.GroupKeys = append(a.GroupKeys, "package.sha256", "attributes.site")
	a.GroupValues = append(a.GroupValues, "ABC'DEF", "- not: a list")
	doc, err := DraftFilter(&a, "bob", "note: with\nnewline", time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("draft:\n%s", doc)
	path := filepath.Join(t.TempDir(), "fp_filter.yml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	findings, err := rules.LintPaths([]string{defenderRuleFile, path}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Severity == rules.SeverityError || strings.Contains(f.Pos.File, "fp_filter") {
			t.Errorf("lint: %s", f)
		}
	}
	for _, v := range []string{`a*b?c`, `back\slash\*`, `plain`, `\`} {
		if got := sigma.ParsePattern(sigmaLiteral(v)); !got.IsLiteral() || got.Literal() != v {
			t.Errorf("sigmaLiteral(%q) reads back as %v", v, got)
		}
	}
	if _, err := DraftFilter(&record.Alert{AlertID: "x", RuleID: "r"}, "bob", "", time.Now()); err == nil {
		t.Error("a draft without group values")
	}
}

type memPublisher struct {
	msgs []alert.Message
	err  error
}

func (p *memPublisher) Publish(_ context.Context, m alert.Message) error {
	if p.err != nil {
		return p.err
	}
	p.msgs = append(p.msgs, m)
	return nil
}

// TestPublishesClosesAndReopens: notify resolves PagerDuty incidents on a
// close, so triage tells tripline.alerts about closes and reopens (and
// nothing else), each with its own message ID.
func TestPublishesClosesAndReopens(t *testing.T) {
	st, ctx := open(t, "t_triage_publish")
	a := testAlert()
	if err := st.InsertAlerts(ctx, []record.Alert{a}); err != nil {
		t.Fatal(err)
	}
	pub := &memPublisher{}
	svc := New(st).WithPublisher(pub)
	scope := store.AllMSPs()
	if _, err := svc.Ack(ctx, scope, a.AlertID, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Close(ctx, scope, a.AlertID, "alice", ReasonTruePositive, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reopen(ctx, scope, a.AlertID, "bob", ""); err != nil {
		t.Fatal(err)
	}
	pub.err = errors.New("broker down")
	res, err := svc.Close(ctx, scope, a.AlertID, "bob", ReasonFalsePositive, "")
	if !errors.Is(err, ErrNotPublished) || res.Action.ActionID == "" || res.DraftFilter == "" {
		t.Errorf("close with the broker down: %+v, %v (want stored, drafted, ErrNotPublished)", res, err)
	}
	if cur, err := st.Alert(ctx, scope, a.AlertID); err != nil || cur.Status != store.StatusClosed {
		t.Errorf("the unpublished close was not stored: %+v %v", cur, err)
	}
	if len(pub.msgs) != 2 {
		t.Fatalf("published %d messages, want 2", len(pub.msgs))
	}
	c, r := pub.msgs[0], pub.msgs[1]
	if c.Kind != alert.KindClosed || c.Status != "closed" || c.CloseReason != ReasonTruePositive || c.Actor != "alice" || c.Alert.AlertID != a.AlertID ||
		r.Kind != alert.KindReopened || r.Actor != "bob" || c.MessageID == r.MessageID || c.Alert.Group["actor.user"] != "tech1" {
		t.Errorf("messages: %+v\n%+v", c, r)
	}
	b, _ := json.Marshal(c)
	if m, err := alert.ParseMessage(b); err != nil || m.MessageID != c.MessageID {
		t.Errorf("notify cannot read the close: %v", err)
	}
}

// TestTenantViewOfIncident: a client sees its own tenant in an incident
// that spans several, not the others.
func TestTenantViewOfIncident(t *testing.T) {
	st, ctx := open(t, "t_triage_tenant")
	a := testAlert()
	a.IncidentID = "inc-1"
	b := testAlert()
	b.AlertID, b.Tenant, b.IncidentID = "alert-2", "t-2", "inc-1"
	if err := st.InsertAlerts(ctx, []record.Alert{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIncidents(ctx, []record.Incident{{IncidentID: "inc-1", MSP: "msp-a", Level: "high", WindowStart: a.WindowStart,
		FirstTime: a.FirstTime, LastTime: a.LastTime, AlertIDs: []string{"alert-1", "alert-2"}, Tenants: []string{"t-1", "t-2"}}}); err != nil {
		t.Fatal(err)
	}
	svc := New(st)
	scope := store.OnlyTenant("msp-a", "t-2")
	d, err := svc.Incident(ctx, scope, "inc-1")
	if err != nil || len(d.Alerts) != 1 || d.Alerts[0].AlertID != "alert-2" || strings.Join(d.Incident.Tenants, ",") != "t-2" ||
		strings.Join(d.Incident.AlertIDs, ",") != "alert-2" {
		t.Errorf("t-2's view of inc-1: %+v, %v", d, err)
	}
	list, err := svc.Incidents(ctx, scope, IncidentFilter{})
	if err != nil || len(list) != 1 || strings.Join(list[0].Tenants, ",") != "t-2" || len(list[0].AlertIDs) != 0 {
		t.Errorf("t-2's incidents: %+v, %v", list, err)
	}
	if d, err := svc.Incident(ctx, store.AllMSPs(), "inc-1"); err != nil || len(d.Incident.Tenants) != 2 || len(d.Alerts) != 2 {
		t.Errorf("the operator's view of inc-1: %+v, %v", d, err)
	}
	if _, err := svc.Incident(ctx, store.OnlyMSP("msp-b"), "inc-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("msp-b read inc-1: %v", err)
	}
}
