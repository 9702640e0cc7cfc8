package ingest

import "runtime/debug"

// GCPercent is the garbage collector's target (GOGC) of an ingest worker
// process, unless GOGC is set in its environment. The worker's live heap
// is small and bounded (the batches in flight, the reader's queue) while
// every event allocates its decoding, normalisation and messages, so at
// Go's default of 100 the collector runs often for little: at 200 it runs
// half as often, for a heap up to three times the live one instead of
// two. The detector keeps the default: its heap is mostly held events (up
// to --max-held), and a higher target would scale that bound without
// saving it CPU (measured: README, "Capacity model").
const GCPercent = 200

// TuneGC sets the process's GC target to GCPercent unless getenv("GOGC")
// says otherwise. The ingest command calls it; a process that runs more
// than the ingest worker (the demo, the pipeline tests) does not.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
