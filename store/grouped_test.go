package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// TestGroupedDetectionsReplay stores what the alert grouper makes of a
// Kaseya-style push (one package to many tenants) and stores it again,
// as a detector replaying after a crash does: the rows collapse, every
// detection names its alert, and the push is one alert and one incident.
func TestGroupedDetectionsReplay(t *testing.T) {
	s := openTest(t, "t_grouped")
	ctx := testCtx(t)
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour).Add(9 * time.Hour)
	push := alert.Policy{GroupBy: []string{"msp", "package.sha256"}}
	var ds []record.Detection
	var alerts map[string]record.Alert
	var incidents map[string]record.Incident
	for run := range 2 {
		g := alert.NewGrouper(alert.Config{})
		alerts, incidents = map[string]record.Alert{}, map[string]record.Incident{}
		ds = ds[:0]
		for i := range 30 {
			ev := &contract.Event{EventID: fmt.Sprintf("ev-%02d", i), EventType: contract.TypeSoftwarePush, MSP: "msp-a",
				Tenant: fmt.Sprintf("t-%02d", i%10), Time: base.Add(time.Duration(i) * time.Minute)}
			ev.Actor.User, ev.Package.SHA256 = "tech1", "ABC"
			d := record.Detection{DetectionID: "d-" + ev.EventID, RuleID: "r-push", RuleTitle: "Push", Level: "high",
				MSP: ev.MSP, Tenant: ev.Tenant, ActorUser: "tech1", FirstTime: ev.Time, LastTime: ev.Time,
				EventIDs: []string{ev.EventID}, DetectedAt: base.Add(time.Hour)}
			ch := g.Add(&d, ev, push)
			for _, a := range ch.Alerts {
				alerts[a.AlertID] = a
			}
			for _, inc := range ch.Incidents {
				incidents[inc.IncidentID] = inc
			}
			ds = append(ds, d)
		}
		if err := s.InsertDetections(ctx, ds); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertAlerts(ctx, mapValues(alerts)); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertIncidents(ctx, mapValues(incidents)); err != nil {
			t.Fatal(err)
		}
		_ = run
	}
	if len(alerts) != 1 || len(incidents) != 1 {
		t.Fatalf("%d alerts, %d incidents, want one each", len(alerts), len(incidents))
	}
	a := mapValues(alerts)[0]
	count := func(q string) uint64 {
		t.Helper()
		var n uint64
		if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count("SELECT count() FROM t_grouped.alerts FINAL"); n != 1 {
		t.Errorf("%d alert rows after the replay, want 1", n)
	}
	if n := count("SELECT count() FROM t_grouped.incidents FINAL"); n != 1 {
		t.Errorf("%d incident rows after the replay, want 1", n)
	}
	if n := count("SELECT count() FROM t_grouped.detections FINAL WHERE alert_id = '" + a.AlertID + "' AND incident_id = '" + a.IncidentID + "'"); n != 30 {
		t.Errorf("%d detections name the alert and incident, want 30", n)
	}
	var gotCount, alertCount uint64
	var tenants, eventIDs []string
	if err := s.conn.QueryRow(ctx, "SELECT a.count, length(a.event_ids), i.alert_count, i.tenants FROM t_grouped.alerts AS a FINAL "+
		"ANY INNER JOIN (SELECT incident_id, alert_count, tenants FROM t_grouped.incidents FINAL) AS i USING incident_id").Scan(
		&gotCount, new(uint64), &alertCount, &tenants); err != nil {
		t.Fatal(err)
	}
	if gotCount != 30 || alertCount != 1 || len(tenants) != 10 {
		t.Errorf("stored alert count %d, incident alerts %d, tenants %v", gotCount, alertCount, tenants)
	}
	if err := s.conn.QueryRow(ctx, "SELECT event_ids FROM t_grouped.alerts FINAL").Scan(&eventIDs); err != nil {
		t.Fatal(err)
	}
	if len(eventIDs) != alert.MaxSamples || eventIDs[0] != "ev-00" || !slices.IsSorted(eventIDs) {
		t.Errorf("stored samples %v", eventIDs)
	}
}

func mapValues[T any](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
