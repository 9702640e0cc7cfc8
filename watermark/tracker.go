package watermark

import (
	"sort"
	"sync"
	"time"
)

// Tracker is ingest's side: the newest event time it has forwarded per
// source partition, and the group's lag per source partition as last
// polled. It is safe for concurrent use (the batch handler publishes, a
// ticker writes markers when ingest is idle).
//
// A marker must name every raw source partition, not only those forwarded
// so far: the detector's watermark is the smallest time of the sources a
// marker names, so a source it has never heard of holds nothing back, and
// its events, older than what a faster source forwarded, would arrive
// behind the watermark. The tracker therefore makes no marker until a lag
// poll has told it every source partition (SetLags).
type Tracker struct {
	// Now stamps markers; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	sources map[sourceKey]*Source
	polled  bool // SetLags has named every source partition
}

type sourceKey struct {
	topic     string
	partition int
}

// Lag is the group's lag on one raw source partition.
type Lag struct {
	Topic     string
	Partition int
	Lag       int64
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{sources: map[sourceKey]*Source{}} }

func (t *Tracker) source(topic string, partition int) *Source {
	k := sourceKey{topic, partition}
	s := t.sources[k]
	if s == nil {
		s = &Source{Topic: topic, Partition: partition, Lag: -1}
		t.sources[k] = s
	}
	return s
}

// Forwarded records that the events of a source up to maxTime are written
// to the normalised topic. Call it only once the write is acknowledged:
// a marker must never run ahead of the events it vouches for.
func (t *Tracker) Forwarded(topic string, partition int, maxTime time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.source(topic, partition)
	if maxTime.After(s.MaxTime) {
		s.MaxTime = maxTime.UTC()
	}
}

// SetLags records one poll of the group's lag on every partition of the
// raw topics. It makes every source known, before any of its events
// arrived, so a backlogged partition holds the watermark back from the
// start; from the first call on, Progress makes markers.
func (t *Tracker) SetLags(lags []Lag) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range lags {
		t.source(l.Topic, l.Partition).Lag = l.Lag
	}
	t.polled = true
}

// Progress returns a marker of every source, ordered by source, and false
// until SetLags has named every source partition (see Tracker).
func (t *Tracker) Progress() (Progress, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.polled {
		return Progress{}, false
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	out := Progress{V: Version, At: now().UTC(), Sources: make([]Source, 0, len(t.sources))}
	for _, s := range t.sources {
		out.Sources = append(out.Sources, *s)
	}
	sort.Slice(out.Sources, func(i, j int) bool {
		a, b := out.Sources[i], out.Sources[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return out, true
}
