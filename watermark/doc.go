// Package watermark carries the progress of every raw source partition from
// ingest to detect, so that the detector knows how far in event time its
// input is complete.
//
// Ingest consumes several raw topics at whatever speed Kafka serves them
// and interleaves them on tripline.events, so one partition of
// tripline.events is not in event-time order: in a backlog, one topic's
// events can run hours ahead of another's. The detector cannot tell from
// the events alone whether an older event is still on its way. So ingest
// writes, after every batch it has forwarded and every few seconds when
// idle, a progress marker to every partition of tripline.events: for each
// raw source partition, the newest event time it has forwarded and the
// ingest group's lag on it. A marker is in-band: everything ingest wrote to
// a partition before the marker is read before it, so "source S is at
// time T" read on partition k means every event of S up to T that is bound
// for k has been read. A marker names every raw source partition, as a
// poll of the group's lag lists them, not only those the writer has
// forwarded from: the merger can only wait for sources it has heard of, so
// Tracker makes no marker before the first poll (issue 14: a marker
// written after ingest's first batch and before its first poll named the
// fast topic alone, and the watermark passed the slower topics' backlog).
//
// Merger turns the markers read on each partition into a watermark: the
// smallest newest-time of the sources that still hold it back, minus the
// allowed lateness (out-of-orderness within one source). A source stops
// holding the watermark back when it has nothing left to ingest (lag 0)
// and has not advanced for the idle timeout; when no source holds it, the
// watermark follows the wall clock minus the lateness. Events behind the
// watermark are late: plain rules still see them, correlations do not.
package watermark
