package watermark

import (
	"time"
)

// Defaults of Merger.
const (
	DefaultLateness    = 5 * time.Minute
	DefaultIdleTimeout = 30 * time.Second
)

// Merger is detect's side: it reads the markers of each partition of the
// normalised topic and says up to which event time that partition's input
// is complete. It is not safe for concurrent use (the batch handler owns
// it).
type Merger struct {
	// Lateness is how far out of order one source's events may be (default
	// DefaultLateness): the watermark trails the sources' newest times by
	// this much.
	Lateness time.Duration
	// IdleTimeout is how long a source with nothing left to ingest keeps
	// holding the watermark back after its last progress, on the markers'
	// clock (default DefaultIdleTimeout). It covers a producer that pauses
	// and resumes: within the timeout its next events are still in time.
	// A partition that has never carried a marker (an ingest too old to
	// write them, or a producer writing the normalised topic directly)
	// follows the reader's wall clock once it has been read for this long.
	IdleTimeout time.Duration

	parts map[int]*partitionProgress
}

type partitionProgress struct {
	sources   map[sourceKey]*sourceProgress
	firstRead time.Time // wall clock of the first message read
	marked    bool      // a marker was read
	markedAt  time.Time // the newest marker's clock
	wm        time.Time
}

type sourceProgress struct {
	maxTime time.Time
	lag     int64
	changed time.Time // marker clock of the last advance
}

func (m *Merger) lateness() time.Duration {
	if m.Lateness <= 0 {
		return DefaultLateness
	}
	return m.Lateness
}

func (m *Merger) idle() time.Duration {
	if m.IdleTimeout <= 0 {
		return DefaultIdleTimeout
	}
	return m.IdleTimeout
}

func (m *Merger) part(partition int, now time.Time) *partitionProgress {
	if m.parts == nil {
		m.parts = map[int]*partitionProgress{}
	}
	p := m.parts[partition]
	if p == nil {
		p = &partitionProgress{sources: map[sourceKey]*sourceProgress{}, firstRead: now}
		m.parts[partition] = p
	}
	return p
}

// Read notes that a message was read on partition at wall-clock now.
func (m *Merger) Read(partition int, now time.Time) { m.part(partition, now) }

// Observe applies a marker read on partition at wall-clock now. Markers of
// several ingest workers interleave: each knows the times of its own
// sources, so a source's time only moves forward.
func (m *Merger) Observe(partition int, p Progress, now time.Time) {
	pp := m.part(partition, now)
	pp.marked = true
	at := p.At
	if at.After(pp.markedAt) {
		pp.markedAt = at
	}
	for _, s := range p.Sources {
		k := sourceKey{s.Topic, s.Partition}
		sp := pp.sources[k]
		if sp == nil {
			sp = &sourceProgress{lag: s.Lag, changed: at}
			pp.sources[k] = sp
		}
		if s.MaxTime.After(sp.maxTime) {
			sp.maxTime = s.MaxTime
			sp.changed = at
		}
		if s.Lag >= 0 {
			sp.lag = s.Lag
		}
	}
}

// Forget drops a partition (it was revoked); if it comes back its
// progress is learnt again from its markers.
func (m *Merger) Forget(partition int) { delete(m.parts, partition) }

// Watermark returns the event time up to which partition's input is
// complete at wall-clock now, and whether there is one yet. It never moves
// back.
func (m *Merger) Watermark(partition int, now time.Time) (time.Time, bool) {
	p := m.parts[partition]
	if p == nil {
		return time.Time{}, false
	}
	wm, ok := m.compute(p, now)
	if ok && wm.After(p.wm) {
		p.wm = wm
	}
	return p.wm, !p.wm.IsZero()
}

func (m *Merger) compute(p *partitionProgress, now time.Time) (time.Time, bool) {
	if !p.marked {
		if now.Sub(p.firstRead) >= m.idle() {
			return now.UTC().Add(-m.lateness()), true
		}
		return time.Time{}, false
	}
	var low time.Time
	holding := false
	for _, s := range p.sources {
		if s.lag == 0 && p.markedAt.Sub(s.changed) >= m.idle() {
			continue // idle: nothing left to ingest, no progress for the timeout
		}
		if s.maxTime.IsZero() {
			return time.Time{}, false // a source with data on its way, none forwarded yet
		}
		if !holding || s.maxTime.Before(low) {
			low = s.maxTime
		}
		holding = true
	}
	if !holding {
		// Every source idle: event time follows the writer's clock.
		return p.markedAt.UTC().Add(-m.lateness()), true
	}
	return low.Add(-m.lateness()), true
}

// Lag is how far partition's watermark trails the wall clock (zero
// without one); exported as a metric.
func (m *Merger) Lag(partition int, now time.Time) time.Duration {
	p := m.parts[partition]
	if p == nil || p.wm.IsZero() {
		return 0
	}
	return now.Sub(p.wm)
}

// Partitions lists the partitions with progress.
func (m *Merger) Partitions() []int {
	out := make([]int, 0, len(m.parts))
	for k := range m.parts {
		out = append(out, k)
	}
	return out
}

// SourceProgress is how far one raw source partition has been forwarded,
// as the markers read so far tell.
type SourceProgress struct {
	Topic     string
	Partition int
	MaxTime   time.Time
	Lag       int64
}

// Sources lists every raw source partition named by the markers read, with
// its newest forwarded event time over all partitions of the normalised
// topic; exported as a metric of how far each source's event time trails.
func (m *Merger) Sources() []SourceProgress {
	by := map[sourceKey]*SourceProgress{}
	for _, p := range m.parts {
		for k, s := range p.sources {
			sp := by[k]
			if sp == nil {
				sp = &SourceProgress{Topic: k.topic, Partition: k.partition, Lag: s.lag}
				by[k] = sp
			}
			if s.maxTime.After(sp.MaxTime) {
				sp.MaxTime = s.maxTime
				sp.Lag = s.lag
			}
		}
	}
	out := make([]SourceProgress, 0, len(by))
	for _, sp := range by {
		out = append(out, *sp)
	}
	return out
}
