package detection_test

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/detection/detectiontest"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
)

var start = time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC)

var (
	trafficOnce sync.Once
	trafficSnap *detection.Snapshot
	trafficEvs  []contract.Event
	trafficErr  error
)

// traffic is three days of two MSPs with three attacks, generated once;
// callers get their own copy of the events.
func traffic(t *testing.T) (*detection.Snapshot, []contract.Event) {
	t.Helper()
	trafficOnce.Do(func() { trafficSnap, trafficEvs, trafficErr = generate() })
	if trafficErr != nil {
		t.Fatal(trafficErr)
	}
	return trafficSnap, append([]contract.Event(nil), trafficEvs...)
}

func generate() (*detection.Snapshot, []contract.Event, error) {
	snap, errs := rules.LoadBundle(rules.Source{}, engine.Config{})
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	g, err := simulate.New(simulate.Config{Seed: 3, Start: start, Duration: 3 * 24 * time.Hour, MSPs: 2, TenantsPerMSP: 4,
		Scenarios: []string{"brute-force", "tampered-update", "dormant-account"}, ScenarioAt: 2 * 24 * time.Hour, ScenarioSpacing: 2 * time.Hour})
	if err != nil {
		return nil, nil, err
	}
	dec := contract.Decoder{Now: func() time.Time { return start.Add(60 * 24 * time.Hour) }}
	var evs []contract.Event
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			return nil, nil, err
		}
		evs = append(evs, ev)
	}
	return snap, evs, nil
}

// The core's output does not depend on the order events arrive in, nor on
// events arriving twice.
func TestOrderAndDuplicatesDoNotMatter(t *testing.T) {
	snap, evs := traffic(t)
	want := detectiontest.Offline(snap, evs)
	if n := detectiontest.Correlations(snap, want); n < 3 {
		t.Fatalf("only %d correlation detections: the test proves nothing", n)
	}
	shuffled := append([]contract.Event(nil), evs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled = append(shuffled, shuffled[:len(shuffled)/3]...)
	core := detection.New(snap, detection.Config{})
	got := map[string]string{}
	emit := func(r detection.Result) { got[r.ID()] = r.RuleID() }
	for i := range shuffled {
		in := detection.ContractEvent(&shuffled[i])
		core.Process(&in, emit)
	}
	core.Flush(emit)
	if d := detectiontest.Diff(want, got); d != "" {
		t.Fatalf("shuffled with duplicates differs from in order:\n%s", d)
	}
	if core.Stats().Duplicates == 0 {
		t.Error("duplicates not counted")
	}
}

// Events behind the released frontier are counted and skipped; the held
// buffer is capped.
func TestBehindAndCap(t *testing.T) {
	snap, evs := traffic(t)
	core := detection.New(snap, detection.Config{MaxHeld: 50})
	var n int
	emit := func(detection.Result) { n++ }
	for i := range evs {
		in := detection.ContractEvent(&evs[i])
		core.Process(&in, emit)
		if st := core.Stats(); st.Held > 50 {
			t.Fatalf("held %d events, cap 50", st.Held)
		}
	}
	st := core.Stats()
	if st.Forced == 0 {
		t.Fatal("cap never reached: the test proves nothing")
	}
	// Everything is released up to the end; an old event is now behind.
	for _, p := range core.Partitions() {
		core.Advance(p, evs[len(evs)-1].Time, emit)
	}
	old := detection.ContractEvent(&evs[0])
	old.ID = "late-copy"
	before := core.Stats().Behind
	core.Process(&old, emit)
	if core.Stats().Behind != before+1 {
		t.Errorf("late event not counted as behind: %+v", core.Stats())
	}
}

// A rebuild replays stored events: those up to the frontier emit
// nothing, the rest emit what an uninterrupted core would.
func TestRestoreEmitsOnlyAfterTheFrontier(t *testing.T) {
	snap, evs := traffic(t)
	want := detectiontest.Offline(snap, evs)
	cut := len(evs) * 2 / 3
	frontier := detection.Key{Time: evs[cut].Time, ID: evs[cut].EventID}

	// Before the crash: everything up to the frontier, released.
	first := map[string]string{}
	core := detection.New(snap, detection.Config{})
	emit := func(out map[string]string) detection.Emit {
		return func(r detection.Result) { out[r.ID()] = r.RuleID() }
	}
	for i := range evs[:cut+1] {
		in := detection.ContractEvent(&evs[i])
		core.Process(&in, emit(first))
	}
	for _, p := range core.Partitions() {
		core.Advance(p, frontier.Time, emit(first))
	}
	// After: a new core rebuilt from every stored event per msp.
	second := map[string]string{}
	restarted := detection.New(snap, detection.Config{})
	msps := map[string]bool{}
	for _, ev := range evs {
		msps[ev.MSP] = true
	}
	for msp := range msps {
		restarted.Restore(msp, detection.Key{Time: frontier.Time, ID: frontier.ID})
		for i := range evs {
			if evs[i].MSP == msp {
				in := detection.ContractEvent(&evs[i])
				restarted.Replay(&in, emit(second))
			}
		}
	}
	restarted.Flush(emit(second))
	for id, rule := range second {
		if _, ok := want[id]; !ok {
			t.Errorf("restored core raised %s, which an uninterrupted one does not", rule)
		}
	}
	for id, rule := range want {
		_, a := first[id]
		_, b := second[id]
		if !a && !b {
			// Plain rules after the cut fire when Kafka delivers them
			// again; only correlations come from the rebuild.
			if isCorrelation(snap, rule) {
				t.Errorf("correlation %s lost across the restart", rule)
			}
		}
	}
}

func isCorrelation(snap *detection.Snapshot, id string) bool {
	for _, c := range snap.Correlations.Rules() {
		if c.ID == id {
			return true
		}
	}
	return false
}

// TestHeldEventMemory measures what one held event costs (README: bounded
// memory): the decoded event, its key, matched rule IDs and buffer slots.
func TestHeldEventMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	snap, evs := traffic(t)
	docs := make([][]byte, len(evs))
	for i := range evs {
		docs[i], _ = evs[i].MarshalJSON()
	}
	evs = nil
	dec := contract.Decoder{Now: func() time.Time { return start.Add(60 * 24 * time.Hour) }}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	core := detection.New(snap, detection.Config{MaxHeld: len(docs)})
	drop := func(detection.Result) {}
	for _, doc := range docs {
		// Held events own their decoded event, as in the detector.
		ev := new(contract.Event)
		var err error
		if *ev, err = dec.Decode(doc); err != nil {
			t.Fatal(err)
		}
		in := detection.ContractEvent(ev)
		core.Process(&in, drop)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := core.Stats().Held
	if held == 0 {
		t.Fatal("nothing held")
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(held)
	t.Logf("%d events held: %.0f bytes each", held, per)
	runtime.KeepAlive(core)
}
