package rules

import (
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/simulate"
)

// BenchmarkPackMatch evaluates the shipped pack on simulated MSP traffic
// (decoded contract events, attacks included), one goroutine.
func BenchmarkPackMatch(b *testing.B) {
	rs, errs := Load(Source{}, engine.Config{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	gen, err := simulate.New(simulate.Config{Seed: 3, Events: 20000, Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		Scenarios: []string{"kaseya-style", "stolen-credential", "screenconnect-takeover"}})
	if err != nil {
		b.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }}
	var events []*contract.Event
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, &ev)
	}
	m := rs.NewMatcher()
	var dst []*engine.Rule
	matches := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		dst = m.Match(events[i%len(events)], dst[:0])
		matches += len(dst)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if matches == 0 && b.N > len(events) {
		b.Fatal("no matches on traffic with attacks")
	}
}
