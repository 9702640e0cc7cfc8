// Package detect is the detector worker: it evaluates the loaded rules on
// every normalised event from tripline.events and writes detections to
// ClickHouse.
//
// A detection's ID is a UUIDv5 of the rule ID and the IDs of the events that
// formed it, so replaying a partition (after a crash, a rebalance or on
// purpose) rewrites the same rows, which ReplacingMergeTree collapses.
// Offsets are committed by kafkaio.Consumer only after the insert is
// acknowledged.
package detect
