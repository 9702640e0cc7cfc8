// Package detection is tripline's one detection core: from an event, and
// the state of the snapshot of rules in use, to detections. The streaming
// detector, `tripline rules eval`, `rules test` and the pack-quality tests
// all call it, so they cannot disagree.
//
// Plain (stateless) rules fire as each event is processed. Correlations
// need their input in event-time order, which Kafka consumption does not
// give (topics and partitions are consumed at different speeds), so the
// core holds the events that correlations read in a reorder buffer per
// state partition (the msp) and releases them in (time, event ID) order
// once the caller's watermark says nothing older can still arrive. Offline
// evaluation is the same core with one release at the end of the input
// (Flush); streaming releases as the watermark advances. Both feed the
// correlation evaluator the same sequence, hence the same detections with
// the same IDs, whatever the consumption order.
package detection
