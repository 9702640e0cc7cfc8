package rules

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/simulate"
)

// BenchmarkPackMatch evaluates the shipped pack's plain rules on simulated
// MSP traffic (decoded contract events, attacks included), one goroutine:
// "all" is every plain rule, including the building blocks the
// correlations consume (they match most events by design); "stateless" is
// the rules outside correlation/, which raise detections on their own.
func BenchmarkPackMatch(b *testing.B) {
	b.Run("all", func(b *testing.B) { benchmarkPackMatch(b, Source{}) })
	b.Run("stateless", func(b *testing.B) {
		dir := b.TempDir()
		for _, sub := range []string{"remote_session", "software_update", "registry"} {
			if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join("msp", sub))); err != nil {
				b.Fatal(err)
			}
		}
		benchmarkPackMatch(b, Source{Path: dir})
	})
}

func benchmarkPackMatch(b *testing.B, src Source) {
	rs, errs := Load(src, engine.Config{})
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
	b.ReportMetric(float64(rs.Len()), "rules")
	if matches == 0 && b.N > len(events) {
		b.Fatal("no matches on traffic with attacks")
	}
}
