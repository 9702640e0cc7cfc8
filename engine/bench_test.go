package engine

import (
	"path/filepath"
	"testing"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
	"github.com/tripline/tripline/simulate"
)

type sysmonEvent struct {
	doc  map[string]any
	flat *flatEvent
}

var procCreation = fields.Logsource{Product: "windows", Category: "process_creation"}

// sysmonEvents are realistic Sysmon EID 1 process-creation events, mostly
// benign (as in production), a few suspicious.
func sysmonEvents() []sysmonEvent {
	raw := simulate.SysmonProcessCreation()
	out := make([]sysmonEvent, len(raw))
	for i, r := range raw {
		doc := map[string]any{"EventID": 1.0}
		fe := &flatEvent{vals: map[string]fields.Value{"EventID": fields.Num(1)}, ls: procCreation}
		for k, v := range r {
			doc[k] = v
			fe.vals[k] = fields.Str(v)
		}
		out[i] = sysmonEvent{doc: doc, flat: fe}
	}
	return out
}

func loadProcessCreation(tb testing.TB) *RuleSet {
	dir := filepath.Join(corpusDir(tb), "windows", "process_creation")
	coll, errs := sigma.ParseDir(dir)
	if len(errs) > 0 {
		tb.Fatalf("parse: %v", errs)
	}
	rs, cerrs := CompileCollection(coll, corpusConfig)
	if len(cerrs) > 0 {
		tb.Fatalf("compile: %v", cerrs)
	}
	return rs
}

func BenchmarkMatchSigmaHQProcessCreation(b *testing.B) {
	rs := loadProcessCreation(b)
	evs := sysmonEvents()
	m := rs.NewMatcher()
	var dst []*Rule
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.Match(evs[i%len(evs)].flat, dst[:0])
		hits += len(dst)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rs.Len()), "rules")
}

func BenchmarkMatchSigmaHQProcessCreationNoPrefilter(b *testing.B) {
	dir := filepath.Join(corpusDir(b), "windows", "process_creation")
	coll, _ := sigma.ParseDir(dir)
	cfg := corpusConfig
	cfg.DisablePrefilter = true
	rs, _ := CompileCollection(coll, cfg)
	evs := sysmonEvents()
	m := rs.NewMatcher()
	var dst []*Rule
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.Match(evs[i%len(evs)].flat, dst[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkMatchSigmaHQProcessCreationMap(b *testing.B) {
	rs := loadProcessCreation(b)
	evs := sysmonEvents()
	var dst []*Rule
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = rs.Match(fields.Map{Doc: evs[i%len(evs)].doc, Source: procCreation}, dst[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
