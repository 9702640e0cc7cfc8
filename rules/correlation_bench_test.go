package rules

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/simulate"
)

// BenchmarkPackWithCorrelations is the detector's per-event work with the
// full pack: plain rules plus every correlation, state included, on
// simulated MSP traffic with all attacks (events pre-decoded, one core).
func BenchmarkPackWithCorrelations(b *testing.B) {
	bundle, errs := LoadBundle(Source{}, engine.Config{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	var names []string
	for _, s := range simulate.Scenarios() {
		names = append(names, s.Name)
	}
	g, err := simulate.New(simulate.Config{Seed: 1, Start: qualityStart, Events: 100000, Scenarios: names})
	if err != nil {
		b.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return qualityStart.Add(30 * 24 * time.Hour) }}
	var evs []OfflineEvent
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, err := ParseOfflineEvent(&dec, m.Value, fields.Logsource{})
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	b.ReportAllocs()
	b.ResetTimer()
	inputs := make([]detection.Event, len(evs))
	for i, ev := range evs {
		inputs[i] = ev.Input(ev.ID)
	}
	// As the detector does: events in, and after every batch of 1000 the
	// watermark (here the batch's newest time minus 5 minutes) releases
	// the held events to the correlations.
	core := detection.New(bundle, detection.Config{})
	n := 0
	count := func(detection.Result) { n++ }
	for i := 0; i < b.N; i++ {
		if i%len(inputs) == 0 {
			core = detection.New(bundle, detection.Config{}) // event time starts over
		}
		in := &inputs[i%len(inputs)]
		core.Process(in, count)
		if i%1000 == 999 {
			wm := in.Time.Add(-5 * time.Minute)
			for _, p := range core.Partitions() {
				core.Advance(p, wm, count)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestCorrelationStatePer10kEntities measures the state of the full pack
// for 10,000 technicians, each with a login, a session and a job at its
// own tenant: the heap it takes and the evaluator's own estimate.
func TestCorrelationStatePer10kEntities(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	bundle, errs := LoadBundle(Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	dec := contract.Decoder{Now: func() time.Time { return qualityStart.Add(30 * 24 * time.Hour) }}
	const entities = 10000
	var evs []OfflineEvent
	at := qualityStart
	for i := range entities {
		user := fmt.Sprintf("tech%05d@msp.example", i)
		tenant := fmt.Sprintf("tenant-%05d", i)
		for _, doc := range []map[string]any{
			{"event_type": "auth.login", "msp": "m", "tool": "screenconnect", "outcome": "success",
				"actor": map[string]any{"user": user, "ip": "198.51.100.1", "country": "US", "asn": 7018, "mfa": true}},
			{"event_type": "session.start", "msp": "m", "tenant": tenant, "tool": "screenconnect", "actor": map[string]any{"user": user}},
			{"event_type": "script.run", "msp": "m", "tenant": tenant, "tool": "kaseya-vsa", "actor": map[string]any{"user": user},
				"target": map[string]any{"host_count": 3}, "script": map[string]any{"name": "x"}},
			{"event_type": "software.install", "msp": "m", "tenant": tenant, "tool": "kaseya-vsa", "target": map[string]any{"host": "ws-1"},
				"package": map[string]any{"name": fmt.Sprint("pkg", i), "version": "1.0", "sha256": fmt.Sprintf("%064x", i), "signed": true}},
		} {
			at = at.Add(time.Second)
			doc["time"] = at.Format(time.RFC3339Nano)
			raw, _ := json.Marshal(doc)
			ev, err := ParseOfflineEvent(&dec, raw, fields.Logsource{})
			if err != nil || ev.ContractErr != nil {
				t.Fatal(err, ev.ContractErr)
			}
			evs = append(evs, ev)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	core := detection.New(bundle, detection.Config{})
	drop := func(detection.Result) {}
	for _, ev := range evs {
		in := ev.Input(ev.ID)
		core.Process(&in, drop)
	}
	core.Flush(drop)
	evs = nil // the state keeps one event per group, not the input
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := core.Stats().Correlation
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("state for %d entities: %d groups, %d entries, estimate %.1f MiB, heap %.1f MiB (%.0f bytes per entity)",
		entities, st.Groups, st.Entries, float64(st.Bytes)/(1<<20), float64(heap)/(1<<20), float64(heap)/entities)
	runtime.KeepAlive(core)
	if st.Groups < entities {
		t.Errorf("expected at least one group per entity: %+v", st)
	}
}
