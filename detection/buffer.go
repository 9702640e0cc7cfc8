package detection

import (
	"math"
	"time"
)

// buffer holds one partition's events in key order until they are
// released. Events mostly arrive in order (one source partition at a
// time), so an in-order arrival is appended to a sorted run, O(1) in and
// out; only an event older than the run's tail (another source behind, a
// backlog interleaving two topics) goes to a min-heap. The oldest event is
// the smaller of the run's head and the heap's top.
//
// A duplicate (the same key delivered again while held) comes out right
// after its first copy, whichever structure each sits in, since nothing
// orders between equal keys.
type buffer struct {
	run  []*held // sorted; run[head:] is live
	head int
	heap []*held // min-heap by key
}

// before orders held events by (time, ID) on the precomputed nanoseconds:
// comparing time.Time values is most of the cost of a heap step.
func before(a, b *held) bool {
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	return a.key.ID < b.key.ID
}

func (b *buffer) len() int { return len(b.run) - b.head + len(b.heap) }

func (b *buffer) push(h *held) {
	if n := len(b.run); n == b.head || !before(h, b.run[n-1]) {
		if b.head > 0 && b.head >= cap(b.run)/2 && n == cap(b.run) {
			// Reuse the released front instead of growing.
			m := copy(b.run, b.run[b.head:])
			clear(b.run[m:])
			b.run, b.head = b.run[:m], 0
		}
		b.run = append(b.run, h)
		return
	}
	b.heap = append(b.heap, h)
	b.up(len(b.heap) - 1)
}

// peek returns the oldest held event, nil when empty.
func (b *buffer) peek() *held {
	var r *held
	if b.head < len(b.run) {
		r = b.run[b.head]
	}
	if len(b.heap) > 0 && (r == nil || before(b.heap[0], r)) {
		return b.heap[0]
	}
	return r
}

// pop removes and returns the oldest held event; b must not be empty.
func (b *buffer) pop() *held {
	if b.head < len(b.run) && (len(b.heap) == 0 || !before(b.heap[0], b.run[b.head])) {
		h := b.run[b.head]
		b.run[b.head] = nil
		b.head++
		if b.head == len(b.run) {
			b.run, b.head = b.run[:0], 0
		}
		return h
	}
	h := b.heap[0]
	n := len(b.heap) - 1
	b.heap[0] = b.heap[n]
	b.heap[n] = nil
	b.heap = b.heap[:n]
	if n > 0 {
		b.down(0)
	}
	return h
}

func (b *buffer) up(i int) {
	q := b.heap
	for i > 0 {
		parent := (i - 1) / 2
		if !before(q[i], q[parent]) {
			return
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

func (b *buffer) down(i int) {
	q := b.heap
	n := len(q)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && before(q[r], q[l]) {
			m = r
		}
		if !before(q[m], q[i]) {
			return
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
}

// The times whose Unix nanoseconds fit an int64.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// unixNanos is t in Unix nanoseconds, clamped to the int64 range (a zero
// watermark, an event from the year 1: time.UnixNano is undefined there),
// so ordering stays correct for every time that fits.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
