// Package correlate evaluates Sigma correlation rules and tripline's
// anomaly extension types over the matches of plain rules, with state, in
// event time.
//
// Compile a Set from the parsed correlations and the rule set compiled from
// the same collection, then feed an Evaluator every event with the
// identities of the rules it matched:
//
//	set, errs := correlate.Compile(coll.Correlations, rs)
//	ev := correlate.New(set, correlate.Config{AllowedLateness: 5 * time.Minute})
//	ev.Process(correlate.Event{Partition: msp, Time: t, ID: id, Source: src, Matched: ids}, emit)
//	ev.Flush(emit) // end of offline input: close open windows
//
// Types: the seven of the Sigma correlation specification (event_count,
// value_count, temporal, temporal_ordered, value_sum, value_avg,
// value_percentile, plus value_median) and the tripline extensions
// first_seen, baseline and dormant. docs/rule-authoring.md describes their
// semantics for rule authors; in short:
//
//   - Windows run on the event's time. Conditions with only lower bounds
//     fire as soon as they hold over the sliding window ending at the
//     newest event; conditions with an upper bound, value_avg and
//     value_percentile are evaluated when a tumbling window (opened by the
//     group's first event) closes, i.e. once the partition's event time
//     minus the allowed lateness has passed its end.
//   - After a detection the group's events are spent and the group is muted
//     for one timespan.
//   - Correlations may reference correlations; a child's detection is one
//     occurrence for its parent. Referenced rules and correlations generate
//     no detections of their own unless a referencing correlation sets
//     generate: true (Set.Generates).
//   - State is scoped by Event.Partition (the msp), bounded per group and
//     per correlation (Config), and expires once event time has passed a
//     group's last activity by the correlation's horizon. Stats measures it.
//   - Detection.Key is what a deterministic detection ID derives from: the
//     sorted IDs of all events that formed the detection, or the group and
//     window start for closing windows and baseline buckets; a replay of the
//     same events reproduces it exactly.
//
// An Evaluator is not safe for concurrent use; SetRules swaps the Set on a
// rule reload and keeps the state of correlations whose definition did not
// change.
//
// Layout: eval.go holds the Evaluator, its partitions, event time and
// expiry; feed.go routes an occurrence to its group and turns what a group
// completes into a detection. Each way of evaluating a correlation keeps
// its group state, its evaluation and its compile-time checks in one file,
// so a kind can be read and changed alone: eventcount.go (event_count and
// value_sum over a sliding window), valuecount.go, temporal.go, closing.go
// (windows evaluated when they close: upper-bound conditions, value_avg,
// value_percentile), firstseen.go, dormant.go and baseline.go. compile.go
// resolves and orders a Set; rule.go, condition.go and set.go hold its
// types.
package correlate
