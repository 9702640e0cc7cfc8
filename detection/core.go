package detection

import (
	"sort"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
)

// DefaultMaxHeld caps the events held for correlations across all
// partitions (see Config.MaxHeld).
const DefaultMaxHeld = 500_000

// Config tunes a Core.
type Config struct {
	Correlation correlate.Config
	// MaxHeld caps the events held in the reorder buffers (default
	// DefaultMaxHeld). While a lagging source holds the watermark back,
	// the buffers grow; at the cap the oldest event of the fullest
	// partition is released early (counted in Stats.Forced), and events
	// older than it that arrive later are behind. This bounds memory at
	// roughly MaxHeld times the size of one decoded event.
	MaxHeld int
	// Replayed, when set, receives the results a rebuild recomputes but
	// does not emit because they were emitted before it (see Restore):
	// plain matches of replayed events and correlation results up to the
	// restored frontier. Layers above the detections (alerts) rebuild
	// their own state from them. nil drops them.
	Replayed Emit
}

// Event is one input of the core.
type Event struct {
	Source fields.Source
	// Contract is the decoded contract event, when the input is one (its
	// summary line is built from it).
	Contract *contract.Event
	// ID identifies the event in detections (event_id, or an offline
	// substitute such as the input line).
	ID string
	// Time is the event time; correlations skip events without one.
	Time time.Time
	// Partition is the state partition: the msp.
	Partition string
}

// Result is one detection: a plain rule on one event, or a correlation.
type Result struct {
	// Rule and Event are set for a plain rule match.
	Rule  *engine.Rule
	Event *Event
	// Correlation is set for a correlation detection.
	Correlation *correlate.Detection
}

// Emit receives results. The pointers are valid during the call only.
type Emit func(Result)

// Key orders events for correlations: by time, then event ID, so that ties
// do not depend on arrival order.
type Key struct {
	Time time.Time
	ID   string
}

// Before reports whether k orders before o.
func (k Key) Before(o Key) bool {
	if !k.Time.Equal(o.Time) {
		return k.Time.Before(o.Time)
	}
	return k.ID < o.ID
}

// IsZero reports whether k is unset.
func (k Key) IsZero() bool { return k.Time.IsZero() && k.ID == "" }

// Stats describe the core's buffers and state.
type Stats struct {
	// Held is the number of events waiting for the watermark.
	Held int
	// Behind counts events that arrived behind their partition's released
	// frontier: late data, or events replayed after a crash or rebalance
	// that correlations had already seen. Plain rules still saw them.
	Behind int64
	// Duplicates counts events that were already waiting in a buffer when
	// they arrived again (counted when they come out).
	Duplicates int64
	// Forced counts events released before the watermark passed them
	// because MaxHeld was reached.
	Forced int64
	// Correlation is the evaluator's state.
	Correlation correlate.Stats
}

// Core evaluates events against one snapshot at a time. It is not safe for
// concurrent use: one goroutine (the batch handler, or an offline loop)
// owns it.
type Core struct {
	cfg   Config
	snap  *Snapshot
	eval  *correlate.Evaluator
	parts map[string]*reorder
	held  int
	stats Stats

	matched []*engine.Rule
	// free recycles released held events: the detector holds and releases
	// every event correlations read, and the garbage would otherwise be
	// most of what it allocates.
	free []*held

	// The sink of correlation detections during one release or advance:
	// set before each evaluator call, so the callback is one method value
	// made once, not a closure per event.
	sink       Emit
	sinkSilent bool
	onDetect   func(correlate.Detection)
}

// maxFree caps the recycled held events kept after a spike.
const maxFree = 4096

// reorder holds one partition's events for correlations.
type reorder struct {
	// queue is ordered by key; a duplicate (an event delivered again
	// while held) sits next to its first copy and is dropped when it
	// comes out, which saves an index of held IDs.
	queue buffer
	// released is the key of the last event handed to the evaluator.
	released Key
	// silentUntil: results caused by events up to this key are not
	// emitted (they were, before the state was rebuilt; see Restore).
	silentUntil Key
}

type held struct {
	ev  Event
	key Key
	// ns is key.Time in Unix nanoseconds, for ordering (see before).
	ns      int64
	matched []string
	// inline holds matched when few rules matched (the common case), so
	// holding an event is one allocation.
	inline [8]string
}

// New returns a core over snap with empty state.
func New(snap *Snapshot, cfg Config) *Core {
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = DefaultMaxHeld
	}
	c := &Core{cfg: cfg, snap: snap, eval: correlate.New(snap.Correlations, cfg.Correlation), parts: map[string]*reorder{}}
	c.onDetect = c.detected
	return c
}

// detected passes a correlation detection to the current sink.
func (c *Core) detected(d correlate.Detection) {
	switch {
	case !c.sinkSilent:
		c.sink(Result{Correlation: &d})
	case c.cfg.Replayed != nil:
		c.cfg.Replayed(Result{Correlation: &d})
	}
}

// correlationEmit points the evaluator's callback at emit.
func (c *Core) correlationEmit(silent bool, emit Emit) func(correlate.Detection) {
	c.sink, c.sinkSilent = emit, silent
	return c.onDetect
}

// Snapshot returns the snapshot in use.
func (c *Core) Snapshot() *Snapshot { return c.snap }

// Swap installs a new snapshot (hot reload). Correlation state of
// unchanged correlations carries over.
func (c *Core) Swap(snap *Snapshot) {
	if snap == c.snap {
		return
	}
	c.snap = snap
	c.eval.SetRules(snap.Correlations)
}

// Process evaluates one event: plain rules now, correlations once the
// watermark passes it (Advance) or at the end of the input (Flush).
func (c *Core) Process(ev *Event, emit Emit) {
	c.matched = c.snap.Rules.Match(ev.Source, c.matched[:0])
	c.process(ev, emit)
}

// ProcessMatched is Process for an event already matched against the
// snapshot's plain rules (Snapshot().Rules), in the order Match returns
// them: matching is stateless and may run ahead on other goroutines, while
// what follows it (detections in input order, correlation state) stays
// here. matched is not retained.
func (c *Core) ProcessMatched(ev *Event, matched []*engine.Rule, emit Emit) {
	c.matched = append(c.matched[:0], matched...)
	c.process(ev, emit)
}

func (c *Core) process(ev *Event, emit Emit) {
	cs := c.snap.Correlations
	consumed := false
	for _, r := range c.matched {
		if cs.Generates(r.Identity()) {
			emit(Result{Rule: r, Event: ev})
		}
		consumed = consumed || cs.Consumes(r.Identity())
	}
	if consumed {
		c.hold(ev, emit)
	}
}

// hold queues ev for the correlations.
func (c *Core) hold(ev *Event, emit Emit) {
	if ev.Time.IsZero() {
		return
	}
	p := c.part(ev.Partition)
	k := Key{ev.Time, ev.ID}
	if !p.released.IsZero() && !p.released.Before(k) {
		c.stats.Behind++
		return
	}
	var h *held
	if n := len(c.free); n > 0 {
		h, c.free = c.free[n-1], c.free[:n-1]
	} else {
		h = new(held)
	}
	h.ev, h.key, h.ns = *ev, k, unixNanos(ev.Time)
	h.matched = h.inline[:0]
	for _, r := range c.matched {
		h.matched = append(h.matched, r.Identity())
	}
	p.queue.push(h)
	c.held++
	if c.held > c.cfg.MaxHeld {
		c.forceOne(emit)
	}
}

func (c *Core) part(name string) *reorder {
	p := c.parts[name]
	if p == nil {
		p = &reorder{}
		c.parts[name] = p
	}
	return p
}

// forceOne releases the oldest event of the fullest partition.
func (c *Core) forceOne(emit Emit) {
	var fullest string
	n := -1
	for name, p := range c.parts {
		if l := p.queue.len(); l > n || (l == n && name < fullest) {
			fullest, n = name, l
		}
	}
	if n <= 0 {
		return
	}
	c.stats.Forced++
	c.release(fullest, c.parts[fullest], emit)
}

// release hands the oldest held event of p to the evaluator.
func (c *Core) release(name string, p *reorder, emit Emit) {
	h := p.queue.pop()
	c.held--
	if h.key == p.released {
		c.stats.Duplicates++ // its first copy came out just before
		c.recycle(h)
		return
	}
	p.released = h.key
	silent := !p.silentUntil.IsZero() && !p.silentUntil.Before(h.key)
	c.eval.Process(correlate.Event{Partition: name, Time: h.ev.Time, ID: h.ev.ID, Source: h.ev.Source, Matched: h.matched}, c.correlationEmit(silent, emit))
	c.recycle(h)
}

// recycle keeps a released slot for the next held event (the evaluator
// keeps the event's Source, never the slot).
func (c *Core) recycle(h *held) {
	if len(c.free) < maxFree {
		*h = held{}
		c.free = append(c.free, h)
	}
}

// Advance releases partition's events up to watermark, in key order, and
// closes the correlation windows that end by then.
func (c *Core) Advance(partition string, watermark time.Time, emit Emit) {
	p := c.parts[partition]
	if p == nil {
		return
	}
	wm := unixNanos(watermark)
	for h := p.queue.peek(); h != nil && h.ns <= wm; h = p.queue.peek() {
		c.release(partition, p, emit)
	}
	silent := !p.silentUntil.IsZero() && !p.silentUntil.Time.Before(watermark)
	c.eval.Advance(partition, watermark, c.correlationEmit(silent, emit))
}

// Flush releases every held event, across partitions in key order, and
// closes every open window: the end of an offline input.
func (c *Core) Flush(emit Emit) {
	names := c.Partitions()
	for {
		var next string
		var nk Key
		for _, name := range names {
			h := c.parts[name].queue.peek()
			if h == nil {
				continue
			}
			if next == "" || h.key.Before(nk) {
				next, nk = name, h.key
			}
		}
		if next == "" {
			break
		}
		c.release(next, c.parts[next], emit)
	}
	c.eval.Flush(c.correlationEmit(false, emit))
}

// Partitions lists the partitions with buffers, sorted.
func (c *Core) Partitions() []string {
	out := make([]string, 0, len(c.parts))
	for k := range c.parts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Frontier is the key up to which partition's events have been handed to
// the correlations (including a restored frontier that has not been
// replayed yet). The detector stores it so that a restart knows which
// events' results were already emitted.
func (c *Core) Frontier(partition string) Key {
	p := c.parts[partition]
	if p == nil {
		return Key{}
	}
	if p.released.Before(p.silentUntil) {
		return p.silentUntil
	}
	return p.released
}

// Restore drops partition's state to rebuild it from stored events, fed
// with Replay in any order: results caused by events up to frontier were
// emitted before and are not again; later events are held like new input.
// Events arriving again later are recognised as duplicates or behind.
func (c *Core) Restore(partition string, frontier Key) {
	c.Reset(partition)
	c.part(partition).silentUntil = frontier
}

// Replay feeds one stored event during a rebuild (see Restore): it takes
// part in the correlations. Its plain matches were emitted when it first
// arrived if it is up to the restored frontier: those go to
// Config.Replayed. A later one may not have reached the detector before
// the restart: its plain matches go to emit (detection IDs are
// deterministic, so emitting one again is harmless).
func (c *Core) Replay(ev *Event, emit Emit) {
	c.matched = c.snap.Rules.Match(ev.Source, c.matched[:0])
	cs := c.snap.Correlations
	var plain Emit
	if p := c.parts[ev.Partition]; p != nil && !p.silentUntil.Before(Key{ev.Time, ev.ID}) {
		plain = c.cfg.Replayed
	} else {
		plain = emit
	}
	consumed := false
	for _, r := range c.matched {
		if plain != nil && cs.Generates(r.Identity()) {
			plain(Result{Rule: r, Event: ev})
		}
		consumed = consumed || cs.Consumes(r.Identity())
	}
	if consumed {
		c.hold(ev, emit)
	}
}

// Reset drops partition's buffer and correlation state.
func (c *Core) Reset(partition string) {
	if p := c.parts[partition]; p != nil {
		c.held -= p.queue.len()
		delete(c.parts, partition)
	}
	c.eval.Reset(partition)
}

// Stats measures the buffers and state.
func (c *Core) Stats() Stats {
	s := c.stats
	s.Held = c.held
	s.Correlation = c.eval.Stats()
	return s
}
