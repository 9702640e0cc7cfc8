package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/simulate"
)

// BenchmarkPackMatch evaluates the shipped pack's plain rules on simulated
// MSP traffic (decoded contract events, attacks included), one goroutine:
// "all" is every plain rule, including the building blocks the
// correlations consume (they match most events by design); "stateless" is
// the rules outside correlation/, which raise detections on their own.
// "cold" cycles through 20,000 events (cache misses on every event);
// "hot" through 1,000 of them, which stay in cache.
func BenchmarkPackMatch(b *testing.B) {
	stateless := b.TempDir()
	for _, sub := range []string{"remote_session", "software_update", "registry"} {
		if err := os.CopyFS(filepath.Join(stateless, sub), os.DirFS(filepath.Join("msp", sub))); err != nil {
			b.Fatal(err)
		}
	}
	for _, hot := range []bool{false, true} {
		name := "cold"
		if hot {
			name = "hot"
		}
		b.Run("all/"+name, func(b *testing.B) { benchmarkPackMatch(b, Source{}, hot) })
		b.Run("stateless/"+name, func(b *testing.B) { benchmarkPackMatch(b, Source{Path: stateless}, hot) })
	}
}

func benchmarkPackMatch(b *testing.B, src Source, hot bool) {
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
	if hot {
		// Every 20th event: the same mix, in a working set that stays in
		// cache, as an event just decoded by the detector is.
		var sample []*contract.Event
		for i := 0; i < len(events); i += 20 {
			sample = append(sample, events[i])
		}
		events = sample
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

// BenchmarkParseOfflineEvent decodes Sysmon process-creation lines as rules
// eval does (plain JSON, not contract events).
func BenchmarkParseOfflineEvent(b *testing.B) {
	var buf bytes.Buffer
	if err := simulate.WriteSysmon(&buf, 1000, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	ls := fields.Logsource{Product: "windows", Category: "process_creation"}
	var dec contract.Decoder
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len() / len(lines)))
	for i := 0; b.Loop(); i++ {
		if _, err := ParseOfflineEvent(&dec, lines[i%len(lines)], ls); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoadBundleSigmaHQ is the load phase of `rules eval --rules` on
// the 1,183 SigmaHQ windows/process_creation rules: files read, parsed on
// every core, compiled, correlations and alert policies checked.
func BenchmarkLoadBundleSigmaHQ(b *testing.B) {
	dir := sigmaHQProcessCreation(b)
	cfg := engine.Config{Placeholders: map[string][]string{
		"Administrators": {"administrator", "adm_*"}, "JumpServers": {"jump*"}, "Workstations": {"ws*"},
		"Servers": {"srv*"}, "DomainControllers": {"dc*"},
	}}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		bundle, errs := LoadBundle(Source{Path: dir}, cfg)
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		n = bundle.Rules.Len()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/load")
	b.ReportMetric(float64(n), "rules")
}

// sigmaHQProcessCreation finds the SigmaHQ corpus's
// rules/windows/process_creation above the working directory (it is not
// part of the repository).
func sigmaHQProcessCreation(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	for err == nil {
		cand := filepath.Join(dir, "shared", "sigmahq-rules", "rules", "windows", "process_creation")
		if st, statErr := os.Stat(cand); statErr == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("SigmaHQ corpus (shared/sigmahq-rules/rules) not found above the working directory")
	}
	tb.Skip("SigmaHQ corpus (shared/sigmahq-rules/rules) not found; skipping")
	return ""
}
