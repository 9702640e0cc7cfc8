package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tripline/tripline/simulate"
)

// sigmaHQProcessCreation finds shared/sigmahq-rules/rules/windows/process_creation
// above the working directory; the corpus is not part of the repository.
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

// BenchmarkRulesEvalSigmaHQ runs `tripline rules eval` in process, load
// included, with the 1,183 SigmaHQ windows/process_creation rules over
// Sysmon events (TRIPLINE_EVAL_BENCH_EVENTS, default 20,000; the README's
// whole-process figure uses 100,000), detections written to io.Discard.
// events/s is the whole run's: what a user of the command sees, less
// process start.
func BenchmarkRulesEvalSigmaHQ(b *testing.B) {
	rulesDir := sigmaHQProcessCreation(b)
	n := 20000
	if s := os.Getenv("TRIPLINE_EVAL_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("TRIPLINE_EVAL_BENCH_EVENTS=%q: want a positive number", s)
		}
		n = v
	}
	events := filepath.Join(b.TempDir(), "sysmon.jsonl")
	f, err := os.Create(events)
	if err != nil {
		b.Fatal(err)
	}
	if err := simulate.WriteSysmon(f, n, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	args := []string{"eval", "--rules", rulesDir, "--events", events, "--logsource", "windows/process_creation"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := runRules(context.Background(), args, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
