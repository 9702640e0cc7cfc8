package detect_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
)

type memStore struct{ ds []record.Detection }

func (s *memStore) InsertDetections(_ context.Context, ds []record.Detection) error {
	s.ds = append(s.ds, ds...)
	return nil
}

// memHistory is the events table: every event ingested so far.
type memHistory struct {
	evs []contract.Event
}

func (h *memHistory) ReplayEvents(_ context.Context, msp string, from, to time.Time, fn func([]byte) error) error {
	for _, ev := range h.evs {
		if ev.MSP == msp && !ev.Time.Before(from) && ev.Time.Before(to) {
			doc, err := ev.MarshalJSON()
			if err != nil {
				return err
			}
			if err := fn(doc); err != nil {
				return err
			}
		}
	}
	return nil
}

var simStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func simulated(t *testing.T, scenarios ...string) ([]kafka.Message, []contract.Event) {
	t.Helper()
	g, err := simulate.New(simulate.Config{Seed: 1, Start: simStart, Events: 200000, Scenarios: scenarios})
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return simStart.Add(30 * 24 * time.Hour) }}
	var msgs []kafka.Message
	var evs []contract.Event
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := ev.MarshalJSON()
		msgs = append(msgs, kafka.Message{Topic: "tripline.events", Partition: 0, Offset: int64(len(msgs)), Key: m.Key, Value: doc})
		evs = append(evs, ev)
	}
	return msgs, evs
}

func newHandler(t *testing.T, st detect.DetectionStore, hist detect.HistoryReader) *detect.Handler {
	t.Helper()
	mgr, err := rules.NewManager(rules.ManagerConfig{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return simStart.Add(30 * 24 * time.Hour) }}
	h := &detect.Handler{Decoder: dec, Rules: mgr, Correlations: mgr, Store: st, Log: zerolog.Nop(),
		Now: func() time.Time { return simStart }}
	if hist != nil {
		h.History = hist
	}
	return h
}

func feed(t *testing.T, h *detect.Handler, msgs []kafka.Message) {
	t.Helper()
	for i := 0; i < len(msgs); i += 500 {
		if err := h.HandleBatch(context.Background(), msgs[i:min(i+500, len(msgs))]); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(ds []record.Detection) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.RuleID+" "+d.DetectionID)
	}
	sort.Strings(out)
	return out
}

// The detector runs the correlations: the brute-force scenario yields the
// brute-force-then-success correlation, its base rules stay silent, and
// a detector restarted halfway that rebuilds its state from the events
// table stores exactly the detections of one that never stopped.
func TestCorrelationsInDetectorSurviveRestart(t *testing.T) {
	msgs, evs := simulated(t, "brute-force", "dormant-account", "tampered-update")
	whole := &memStore{}
	feed(t, newHandler(t, whole, nil), msgs)

	byRule := map[string]int{}
	for _, d := range whole.ds {
		byRule[d.RuleID]++
	}
	for _, id := range []string{
		"06c1adaf-d7bf-41bc-9cce-a89142b408d0", // brute force then success
		"341d4124-ec5e-49f2-997a-ee1a1416e30d", // dormant account
		"83eb65b4-6107-42b5-8bef-19c5426312d3", // one version, two hashes
	} {
		if byRule[id] == 0 {
			t.Errorf("correlation %s did not fire: %v", id, byRule)
		}
	}
	for _, silent := range []string{"0ec58b06-9cc5-4443-bf7d-d6993a2dc6fc", "msp_console_login_failure"} {
		if byRule[silent] > 0 {
			t.Errorf("base rule %s generated detections", silent)
		}
	}
	for _, d := range whole.ds {
		if d.RuleID == "06c1adaf-d7bf-41bc-9cce-a89142b408d0" && (len(d.EventIDs) < 11 || d.Summary == "" || d.MSP == "") {
			t.Errorf("correlation detection lacks its events or summary: %+v", d)
		}
	}

	// Restart at the middle of the stream, just before the attacks: the
	// new process starts empty, and the events before the committed
	// offset are in the events table.
	cut := 0
	for i, ev := range evs {
		if ev.Time.After(evs[len(evs)/2].Time.Add(-30 * time.Minute)) {
			cut = i
			break
		}
	}
	first, second := &memStore{}, &memStore{}
	feed(t, newHandler(t, first, nil), msgs[:cut])
	restarted := newHandler(t, second, &memHistory{evs: evs[:cut]})
	feed(t, restarted, msgs[cut:])
	got := ids(append(first.ds, second.ds...))
	want := ids(whole.ds)
	if len(got) != len(want) {
		t.Fatalf("restart: %d detections, uninterrupted: %d\n%v\n%v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("restart: detection %d is %s, uninterrupted %s", i, got[i], want[i])
		}
	}
	// Without the rebuild the first-seen and dormant state is gone and
	// the restarted detector misses or invents detections.
	blind := &memStore{}
	feed(t, newHandler(t, blind, nil), msgs[cut:])
	if fmt.Sprint(ids(append(first.ds, blind.ds...))) == fmt.Sprint(want) {
		t.Error("a restart without rebuild gives the same detections: the test does not exercise the rebuild")
	}
	if s := restarted.CorrelationStats(); s.Groups == 0 || s.Bytes == 0 {
		t.Errorf("state stats: %+v", s)
	}
}
