// Package pipeline runs the whole of tripline in one process: ingest and
// detect workers side by side on the same brokers and ClickHouse. The demo
// and the end-to-end tests and benchmarks use it; production runs the two
// workers as separate processes (tripline ingest, tripline detect), which is
// the same code.
package pipeline
