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
type Tracker struct {
	// Now stamps markers; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	sources map[sourceKey]*Source
}

type sourceKey struct {
	topic     string
	partition int
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

// SetLag records the group's lag on a source (which also makes the source
// known before any of its events arrived, so a backlogged partition holds
// the watermark back from the start).
func (t *Tracker) SetLag(topic string, partition int, lag int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.source(topic, partition).Lag = lag
}

// Progress returns a marker of everything known, ordered by source.
func (t *Tracker) Progress() Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
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
	return out
}
