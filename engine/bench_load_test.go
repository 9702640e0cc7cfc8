package engine_test

// Rule LOAD benchmarks: parse + compile time and the heap a compiled RuleSet
// keeps alive. They live in the external test package because package rules
// (the embedded MSP pack) imports engine.

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/sigma"
)

// sigmaHQDir finds shared/sigmahq-rules/rules by walking up from the working
// directory, like the in-package corpus tests. It skips when the corpus is
// absent, unless CI=true.
func sigmaHQDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err == nil {
		for {
			cand := filepath.Join(dir, "shared", "sigmahq-rules", "rules")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return cand
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("SigmaHQ corpus (shared/sigmahq-rules/rules) not found above the working directory")
	}
	tb.Skip("SigmaHQ corpus (shared/sigmahq-rules/rules) not found; skipping")
	return ""
}

// loadBenchConfig mirrors the in-package corpusConfig: values for SigmaHQ's
// standard |expand placeholders, so rules using them compile.
var loadBenchConfig = engine.Config{
	Placeholders: map[string][]string{
		"Administrators":    {"administrator", "adm_*"},
		"JumpServers":       {"jump*"},
		"Workstations":      {"ws*"},
		"Servers":           {"srv*"},
		"DomainControllers": {"dc*"},
	},
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle finalises what the first freed
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchLoad times load (which must return a complete RuleSet) and reports
// ms/load, the rule count, and the heap retained by one compiled RuleSet.
func benchLoad(b *testing.B, load func(testing.TB) *engine.RuleSet) {
	// Retained heap, measured once outside the timed loop: the set is
	// kept alive across the second GC so only its own heap is counted
	// (parse-time garbage is collected).
	before := heapAlloc()
	rs := load(b)
	after := heapAlloc()
	n := rs.Len()
	runtime.KeepAlive(rs)
	retained := float64(int64(after)-int64(before)) / (1 << 20)
	rs = nil

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs = load(b)
	}
	b.StopTimer()
	if rs.Len() != n {
		b.Fatalf("loaded %d rules, then %d", n, rs.Len())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/load")
	b.ReportMetric(float64(n), "rules")
	b.ReportMetric(retained, "MiB-retained")
}

// BenchmarkLoadMSPPack loads the embedded MSP rule pack the way the detector
// does at start-up and on every reload.
func BenchmarkLoadMSPPack(b *testing.B) {
	benchLoad(b, func(tb testing.TB) *engine.RuleSet {
		rs, errs := rules.Load(rules.Source{}, engine.Config{})
		if len(errs) > 0 {
			tb.Fatalf("embedded pack: %v", errs)
		}
		return rs
	})
}

// BenchmarkLoadSigmaHQProcessCreation parses and compiles every
// windows/process_creation rule of the SigmaHQ corpus.
func BenchmarkLoadSigmaHQProcessCreation(b *testing.B) {
	dir := filepath.Join(sigmaHQDir(b), "windows", "process_creation")
	benchLoad(b, func(tb testing.TB) *engine.RuleSet {
		coll, errs := sigma.ParseDir(dir)
		if len(errs) > 0 {
			tb.Fatalf("parse: %v", errs[0])
		}
		rs, cerrs := engine.CompileCollection(coll, loadBenchConfig)
		if len(cerrs) > 0 {
			tb.Fatalf("compile: %v", cerrs[0])
		}
		return rs
	})
}
