package ingest_test

import (
	"runtime/debug"
	"testing"

	"github.com/tripline/tripline/ingest"
)

// TestTuneGC: the ingest process runs at GCPercent, unless GOGC is set.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	for _, tt := range []struct {
		gogc string
		want int
	}{{"", ingest.GCPercent}, {"50", 100}, {"off", 100}} {
		debug.SetGCPercent(100)
		ingest.TuneGC(func(k string) string {
			if k == "GOGC" {
				return tt.gogc
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != tt.want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", tt.gogc, got, tt.want)
		}
	}
}
