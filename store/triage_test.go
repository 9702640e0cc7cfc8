package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tripline/tripline/record"
)

func testAlerts(base time.Time) []record.Alert {
	mk := func(id, msp, tenant, level string, age time.Duration) record.Alert {
		return record.Alert{
			AlertID: id, Fingerprint: "fp-" + id, RuleID: "rule-" + level, RuleTitle: "Rule " + level, Level: level,
			Tags: []string{"attack.t1072"}, MSP: msp, Tenant: tenant, ActorUser: "tech1",
			GroupKeys: []string{"msp", "tenant", "actor.user"}, GroupValues: []string{msp, tenant, "tech1"},
			WindowStart: base.Add(-age).Truncate(24 * time.Hour), FirstTime: base.Add(-age), LastTime: base.Add(-age),
			Count: 1, EventIDs: []string{"ev-" + id}, IncidentID: "inc-" + msp, Summary: "summary " + id,
		}
	}
	return []record.Alert{
		mk("a1", "msp-a", "t-1", "high", time.Hour),
		mk("a2", "msp-a", "t-2", "medium", 2*time.Hour),
		mk("a3", "msp-b", "t-9", "critical", 3*time.Hour),
		mk("a4", "msp-a", "t-1", "low", 48*time.Hour),
	}
}

func ids(as []AlertState) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.AlertID)
	}
	return out
}

func TestAlertsTriage(t *testing.T) {
	s := openTest(t, "t_triage")
	ctx := testCtx(t)
	base := time.Now().UTC().Truncate(time.Second)
	as := testAlerts(base)
	if err := s.InsertAlerts(ctx, as); err != nil {
		t.Fatal(err)
	}
	// A newer version of a1 (count 2) must replace the first.
	a1 := as[0]
	a1.Count, a1.UpdatedNs = 2, time.Now().UnixNano()+1
	if err := s.InsertAlerts(ctx, []record.Alert{a1}); err != nil {
		t.Fatal(err)
	}

	all, msp := AllMSPs(), OnlyMSP("msp-a")
	list := func(scope Scope, f AlertFilter) []string {
		t.Helper()
		got, err := s.Alerts(ctx, scope, f)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	for _, c := range []struct {
		name  string
		scope Scope
		f     AlertFilter
		want  []string
	}{
		{"all", all, AlertFilter{}, []string{"a1", "a2", "a3", "a4"}},
		{"scoped", msp, AlertFilter{}, []string{"a1", "a2", "a4"}},
		{"scoped asks for another msp", msp, AlertFilter{MSP: "msp-b"}, nil},
		{"msp filter", all, AlertFilter{MSP: "msp-b"}, []string{"a3"}},
		{"tenant", all, AlertFilter{Tenant: "t-1"}, []string{"a1", "a4"}},
		{"levels", all, AlertFilter{Levels: []string{"high", "critical"}}, []string{"a1", "a3"}},
		{"rule", all, AlertFilter{RuleID: "rule-medium"}, []string{"a2"}},
		{"since", all, AlertFilter{Since: base.Add(-150 * time.Minute)}, []string{"a1", "a2"}},
		{"limit", all, AlertFilter{Limit: 2}, []string{"a1", "a2"}},
		{"open", all, AlertFilter{Status: StatusOpen}, []string{"a1", "a2", "a3", "a4"}},
	} {
		if got := list(c.scope, c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := s.Alerts(ctx, Scope{}, AlertFilter{}); err == nil {
		t.Error("the zero scope listed alerts")
	}

	act := func(id int, alertID, msp, action, from, to, assignee, reason string) record.AlertAction {
		return record.AlertAction{ActionID: fmt.Sprintf("act-%d", id), AlertID: alertID, MSP: msp, At: base.Add(time.Duration(id) * time.Second),
			Actor: "alice", Action: action, StatusFrom: from, StatusTo: to, Assignee: assignee, Reason: reason}
	}
	if err := s.AppendActions(ctx, msp, []record.AlertAction{
		act(1, "a1", "msp-a", "ack", "open", "acknowledged", "", ""),
		act(2, "a1", "msp-a", "assign", "acknowledged", "acknowledged", "bob", ""),
		act(3, "a2", "msp-a", "close", "open", "closed", "", "false_positive"),
		act(4, "a4", "msp-a", "close", "open", "closed", "", "duplicate"),
		act(5, "a4", "msp-a", "reopen", "closed", "open", "", ""),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendActions(ctx, msp, []record.AlertAction{act(6, "a3", "msp-b", "ack", "open", "acknowledged", "", "")}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a scoped caller acted on another msp's alert: %v", err)
	}
	for status, want := range map[string][]string{
		StatusOpen:         {"a3", "a4"},
		StatusAcknowledged: {"a1"},
		StatusClosed:       {"a2"},
	} {
		if got := list(all, AlertFilter{Status: status}); !slices.Equal(got, want) {
			t.Errorf("status %s: %v, want %v", status, got, want)
		}
	}

	got, err := s.Alert(ctx, msp, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 2 || got.Status != StatusAcknowledged || got.Assignee != "bob" || !got.ActionAt.Equal(base.Add(2*time.Second)) ||
		!slices.Equal(got.GroupValues, []string{"msp-a", "t-1", "tech1"}) || got.Summary != "summary a1" {
		t.Errorf("Alert a1 = %+v", got)
	}
	if c, err := s.Alert(ctx, all, "a2"); err != nil || c.CloseReason != "false_positive" {
		t.Errorf("Alert a2 close reason = %q, %v", c.CloseReason, err)
	}
	if c, err := s.Alert(ctx, all, "a4"); err != nil || c.CloseReason != "" || c.Status != StatusOpen {
		t.Errorf("reopened a4 = %q %q, %v", c.Status, c.CloseReason, err)
	}
	if _, err := s.Alert(ctx, msp, "a3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("scoped Alert of another msp: %v, want ErrNotFound", err)
	}
	if _, err := s.Alert(ctx, all, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing alert: %v", err)
	}

	log, err := s.AlertActions(ctx, msp, "a1")
	if err != nil || len(log) != 2 || log[0].Action != "ack" || log[1].Assignee != "bob" || !log[1].At.Equal(base.Add(2*time.Second)) {
		t.Errorf("AlertActions a1 = %+v, %v", log, err)
	}
	if log, err := s.AlertActions(ctx, OnlyMSP("msp-b"), "a1"); err != nil || len(log) != 0 {
		t.Errorf("another msp read a1's actions: %+v %v", log, err)
	}

	// Detections carry their alert's ID (the detector fills the columns).
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO t_triage.detections (detection_id, rule_id, level, msp, tenant, first_time, last_time, detected_at, alert_id, incident_id, suppressed_by)")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][3]string{{"d1", "a1", ""}, {"d2", "a1", "sil-1"}, {"d3", "other", ""}} {
		if err := b.Append(r[0], "rule-high", "high", "msp-a", "t-1", base, base, base, r[1], "inc-msp-a", r[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	ds, err := s.AlertDetections(ctx, msp, &got.Alert, 0)
	if err != nil || len(ds) != 2 || ds[0].DetectionID != "d1" || ds[1].SuppressedBy != "sil-1" {
		t.Errorf("AlertDetections = %+v, %v", ds, err)
	}
	if _, err := s.AlertDetections(ctx, OnlyMSP("msp-b"), &got.Alert, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("another msp read a1's detections: %v", err)
	}
}

func TestIncidents(t *testing.T) {
	s := openTest(t, "t_incidents")
	ctx := testCtx(t)
	base := time.Now().UTC().Truncate(time.Second)
	if err := s.InsertIncidents(ctx, []record.Incident{
		{IncidentID: "i1", MSP: "msp-a", EntityKind: "package.sha256", EntityValue: "abc", Level: "high", WindowStart: base.Truncate(24 * time.Hour),
			FirstTime: base.Add(-time.Hour), LastTime: base, AlertIDs: []string{"a1", "a2"}, Tenants: []string{"t-1", "t-2"}, RuleIDs: []string{"r"}},
		{IncidentID: "i2", MSP: "msp-b", EntityKind: "actor.user", EntityValue: "x", Level: "low", WindowStart: base.Truncate(24 * time.Hour),
			FirstTime: base.Add(-2 * time.Hour), LastTime: base.Add(-time.Hour), AlertIDs: []string{"a3"}},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Incidents(ctx, AllMSPs(), IncidentFilter{})
	if err != nil || len(got) != 2 || got[0].IncidentID != "i1" || !slices.Equal(got[0].Tenants, []string{"t-1", "t-2"}) {
		t.Fatalf("Incidents = %+v, %v", got, err)
	}
	got, err = s.Incidents(ctx, OnlyMSP("msp-b"), IncidentFilter{})
	if err != nil || len(got) != 1 || got[0].IncidentID != "i2" {
		t.Errorf("scoped Incidents = %+v, %v", got, err)
	}
	got, err = s.Incidents(ctx, AllMSPs(), IncidentFilter{Levels: []string{"high"}, Since: base.Add(-time.Minute)})
	if err != nil || len(got) != 1 || got[0].IncidentID != "i1" {
		t.Errorf("filtered Incidents = %+v, %v", got, err)
	}
	// i2 merges into another incident: the grouper writes it once more,
	// empty and newer, and it is no longer listed.
	if err := s.InsertIncidents(ctx, []record.Incident{{IncidentID: "i2", MSP: "msp-b", UpdatedNs: time.Now().UnixNano()}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Incidents(ctx, AllMSPs(), IncidentFilter{})
	if err != nil || len(got) != 1 || got[0].IncidentID != "i1" {
		t.Errorf("Incidents after i2 merged away = %+v, %v", got, err)
	}
}

func TestSilences(t *testing.T) {
	s := openTest(t, "t_silences")
	ctx := testCtx(t)
	now := time.Now().UTC()
	mk := func(id, msp string, starts, ends time.Time) record.Silence {
		return record.Silence{SilenceID: id, Matchers: []string{"rule_id=r", "tenant=~t-.*"}, Starts: starts, Ends: ends, Author: "alice", Reason: "CHG-1", MSP: msp}
	}
	for _, sil := range []record.Silence{
		mk("s1", "msp-a", now.Add(-time.Hour), now.Add(time.Hour)),
		mk("s2", "", now.Add(-time.Hour), now.Add(time.Hour)),
		mk("s3", "msp-b", now.Add(time.Hour), now.Add(2*time.Hour)),   // future
		mk("s4", "msp-a", now.Add(-2*time.Hour), now.Add(-time.Hour)), // over
	} {
		if err := s.SaveSilence(ctx, AllMSPs(), sil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveSilence(ctx, OnlyMSP("msp-a"), mk("s5", "", now, now.Add(time.Hour))); !errors.Is(err, ErrForbidden) {
		t.Errorf("a scoped caller saved a global silence: %v", err)
	}
	silIDs := func(ss []record.Silence, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range ss {
			out = append(out, s.SilenceID)
		}
		slices.Sort(out)
		return out
	}
	if got := silIDs(s.ActiveSilences(ctx, now)); !slices.Equal(got, []string{"s1", "s2", "s3"}) {
		t.Errorf("ActiveSilences = %v", got)
	}
	// Expire s1: a new version ending now.
	one, err := s.Silence(ctx, OnlyMSP("msp-a"), "s1")
	if err != nil || !slices.Equal(one.Matchers, []string{"rule_id=r", "tenant=~t-.*"}) || one.Author != "alice" || !one.Starts.Equal(now.Add(-time.Hour)) {
		t.Fatalf("Silence s1 = %+v, %v", one, err)
	}
	created := one.CreatedAt
	one.Ends, one.UpdatedNs = now, 0
	if err := s.SaveSilence(ctx, OnlyMSP("msp-a"), one); err != nil {
		t.Fatal(err)
	}
	if got := silIDs(s.ActiveSilences(ctx, now)); !slices.Equal(got, []string{"s2", "s3"}) {
		t.Errorf("ActiveSilences after expiring s1 = %v", got)
	}
	if got := silIDs(s.Silences(ctx, OnlyMSP("msp-a"), SilenceFilter{})); !slices.Equal(got, []string{"s1", "s4"}) {
		t.Errorf("msp-a's silences (expired kept) = %v", got)
	}
	if got := silIDs(s.Silences(ctx, OnlyMSP("msp-a"), SilenceFilter{Active: true, At: now})); len(got) != 0 {
		t.Errorf("msp-a's active silences = %v", got)
	}
	if got := silIDs(s.Silences(ctx, AllMSPs(), SilenceFilter{Active: true})); !slices.Equal(got, []string{"s2", "s3"}) {
		t.Errorf("active silences = %v", got)
	}
	again, err := s.Silence(ctx, AllMSPs(), "s1")
	if err != nil || !again.Ends.Equal(now) || !again.CreatedAt.Equal(created) {
		t.Errorf("expired s1 = %+v (created %v), %v", again, created, err)
	}
	if _, err := s.Silence(ctx, OnlyMSP("msp-b"), "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("msp-b read msp-a's silence: %v", err)
	}
}

// TestTenantScope: a client's viewer sees its tenant's alerts, their log
// and detections, the incidents involving it, and no silences.
func TestTenantScope(t *testing.T) {
	s := openTest(t, "t_tenant_scope")
	ctx := testCtx(t)
	base := time.Now().UTC().Truncate(time.Second)
	if err := s.InsertAlerts(ctx, testAlerts(base)); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendActions(ctx, AllMSPs(), []record.AlertAction{
		{ActionID: "x1", AlertID: "a1", MSP: "msp-a", At: base, Actor: "alice", Action: ActionAck, StatusFrom: StatusOpen, StatusTo: StatusAcknowledged},
		{ActionID: "x2", AlertID: "a2", MSP: "msp-a", At: base, Actor: "alice", Action: ActionAck, StatusFrom: StatusOpen, StatusTo: StatusAcknowledged},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertIncidents(ctx, []record.Incident{
		{IncidentID: "i1", MSP: "msp-a", Level: "high", WindowStart: base, FirstTime: base, LastTime: base, AlertIDs: []string{"a1", "a2"}, Tenants: []string{"t-1", "t-2"}},
		{IncidentID: "i2", MSP: "msp-a", Level: "high", WindowStart: base, FirstTime: base, LastTime: base, AlertIDs: []string{"a3"}, Tenants: []string{"t-2"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSilence(ctx, AllMSPs(), record.Silence{SilenceID: "s1", Matchers: []string{"level=low"}, Starts: base, Ends: base.Add(time.Hour), Author: "a", Reason: "r", MSP: "msp-a"}); err != nil {
		t.Fatal(err)
	}
	t1 := OnlyTenant("msp-a", "t-1")
	got, err := s.Alerts(ctx, t1, AlertFilter{})
	if err != nil || !slices.Equal(ids(got), []string{"a1", "a4"}) || got[0].Status != StatusAcknowledged {
		t.Errorf("tenant t-1's alerts = %v, %v", ids(got), err)
	}
	if _, err := s.Alert(ctx, t1, "a2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("t-1 read t-2's alert: %v", err)
	}
	if log, err := s.AlertActions(ctx, t1, "a1"); err != nil || len(log) != 1 {
		t.Errorf("t-1's log of a1 = %v, %v", log, err)
	}
	if log, err := s.AlertActions(ctx, t1, "a2"); err != nil || len(log) != 0 {
		t.Errorf("t-1 read t-2's log: %v, %v", log, err)
	}
	// a1 holds a detection of another tenant too (an alert grouped by
	// package spans tenants): t-1 sees only its own.
	a1 := testAlerts(base)[0]
	if err := s.InsertDetections(ctx, []record.Detection{
		{DetectionID: "d-own", RuleID: a1.RuleID, Level: "high", MSP: "msp-a", Tenant: "t-1", AlertID: "a1", FirstTime: base, LastTime: base, EventIDs: []string{"e1"}, DetectedAt: base},
		{DetectionID: "d-other", RuleID: a1.RuleID, Level: "high", MSP: "msp-a", Tenant: "t-2", AlertID: "a1", FirstTime: base, LastTime: base, EventIDs: []string{"e2"}, DetectedAt: base},
	}); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.AlertDetections(ctx, t1, &a1, 0); err != nil || len(ds) != 1 || ds[0].DetectionID != "d-own" {
		t.Errorf("t-1's detections of a1 = %+v, %v", ds, err)
	}
	if ds, err := s.AlertDetections(ctx, OnlyMSP("msp-a"), &a1, 0); err != nil || len(ds) != 2 {
		t.Errorf("msp-a's detections of a1 = %d, %v", len(ds), err)
	}
	a2 := testAlerts(base)[1]
	if _, err := s.AlertDetections(ctx, t1, &a2, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("t-1 read t-2's detections: %v", err)
	}
	if inc, err := s.Incidents(ctx, t1, IncidentFilter{}); err != nil || len(inc) != 1 || inc[0].IncidentID != "i1" {
		t.Errorf("t-1's incidents = %+v, %v", inc, err)
	}
	if sil, err := s.Silences(ctx, t1, SilenceFilter{}); err != nil || len(sil) != 0 {
		t.Errorf("t-1's silences = %+v, %v", sil, err)
	}
	if err := s.SaveSilence(ctx, t1, record.Silence{SilenceID: "s2", MSP: "msp-a"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("t-1 saved a silence: %v", err)
	}
	if OnlyTenant("msp-a", "") != OnlyMSP("msp-a") || !t1.AllowsAlert("msp-a", "t-1") || t1.AllowsAlert("msp-a", "t-2") || t1.Allows("msp-a") {
		t.Error("scope predicates")
	}
}
