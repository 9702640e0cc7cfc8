package detect_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
)

// TestSilencedAlerts: a silence on one rule marks that rule's alerts, their
// detections and their messages on tripline.alerts (notify does not
// deliver them); other alerts are not marked, and every message names a
// stored alert.
func TestSilencedAlerts(t *testing.T) {
	raw := corpus(t, 4)
	snap := pack(t)
	const silenced = "Unsigned Package Pushed Through an RMM Tool"
	var ruleID string
	for _, r := range snap.Rules.Rules() {
		if r.Title == silenced {
			ruleID = r.Identity()
		}
	}
	for _, c := range snap.Correlations.Rules() {
		if c.Title == silenced {
			ruleID = c.ID
		}
	}
	if ruleID == "" {
		t.Fatalf("no rule %q in the pack", silenced)
	}
	now := simStart.Add(90 * 24 * time.Hour)
	set, err := silence.NewSet([]record.Silence{{
		SilenceID: "sil-1", Matchers: []string{"rule_id=" + ruleID}, Starts: now.Add(-time.Hour), Ends: now.Add(time.Hour),
		Author: "alice", Reason: "CHG-42: MFA rollout",
	}})
	if err != nil {
		t.Fatal(err)
	}
	alerts := &memAlerts{rows: map[string]record.Alert{}, incidents: map[string]record.Incident{}}
	found := &keptDetections{}
	var msgs []kafka.Message
	h := &detect.Handler{
		Rules: staticSnapshots{snap}, Store: found, Log: zerolog.Nop(),
		Decoder: contract.Decoder{Now: func() time.Time { return simStart.Add(60 * 24 * time.Hour) }},
		Now:     func() time.Time { return now },
		Alerts:  alerts, AlertTopic: "tripline.alerts", Producer: memProducer{alerts: alerts, keep: &msgs},
		Silences: func() *silence.Set { return set },
	}
	batch := make([]kafka.Message, len(raw))
	for i, m := range raw {
		batch[i] = kafka.Message{Topic: "tripline.events", Offset: int64(i), Value: m.value}
	}
	if err := h.HandleBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	marked, unmarked := 0, 0
	for _, a := range alerts.rows {
		switch {
		case a.RuleID == ruleID && a.SuppressedBy != "sil-1":
			t.Errorf("alert %s of the silenced rule: suppressed_by %q", a.AlertID, a.SuppressedBy)
		case a.RuleID != ruleID && a.SuppressedBy != "":
			t.Errorf("alert %s of %s: suppressed_by %q", a.AlertID, a.RuleTitle, a.SuppressedBy)
		case a.RuleID == ruleID:
			marked++
		default:
			unmarked++
		}
	}
	if marked == 0 || unmarked == 0 {
		t.Fatalf("%d silenced and %d other alerts: the corpus does not exercise the silence", marked, unmarked)
	}
	for _, d := range found.ds {
		if want := alerts.rows[d.AlertID].SuppressedBy; d.SuppressedBy != want {
			t.Errorf("detection %s: suppressed_by %q, its alert %q", d.DetectionID, d.SuppressedBy, want)
		}
	}
	for _, m := range msgs {
		am, err := alert.ParseMessage(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		row, ok := alerts.rows[am.Alert.AlertID]
		if !ok {
			t.Errorf("message %s about alert %s, which is not stored", am.MessageID, am.Alert.AlertID)
		}
		if am.Alert.SuppressedBy != row.SuppressedBy {
			t.Errorf("message %s: suppressed_by %q, the alert %q", am.MessageID, am.Alert.SuppressedBy, row.SuppressedBy)
		}
		if string(m.Key) != am.Alert.AlertID {
			t.Errorf("message key %q, want the alert ID %s", m.Key, am.Alert.AlertID)
		}
	}
	t.Logf("%d alerts silenced, %d not; %d messages", marked, unmarked, len(msgs))
}

type keptDetections struct{ ds []record.Detection }

func (s *keptDetections) InsertDetections(_ context.Context, ds []record.Detection) error {
	s.ds = append(s.ds, ds...)
	return nil
}
