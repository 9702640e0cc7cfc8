package correlate

import (
	"sort"
	"time"

	"github.com/tripline/tripline/fields"
)

// Config bounds and tunes an Evaluator.
type Config struct {
	// AllowedLateness is how far behind the newest event time of its
	// partition an event may arrive and still count (default 5m). Windows
	// evaluated when they close (upper-bound conditions, value_avg,
	// value_percentile) close only once the partition's event time has
	// passed their end by this much. Later events are counted in
	// Stats.Late and skipped by the correlations (plain rules still see
	// them).
	AllowedLateness time.Duration
	// MaxEventIDs caps the event IDs listed in one detection (default 100).
	// The detection ID is still derived from all of them.
	MaxEventIDs int
	// MaxEntriesPerGroup caps the occurrences or values one group keeps
	// (default 10,000); the oldest go first.
	MaxEntriesPerGroup int
	// MaxGroups caps the groups of one correlation in one partition
	// (default 200,000); events for new groups beyond it are dropped and
	// counted in Stats.Overflow.
	MaxGroups int
}

func (c Config) withDefaults() Config {
	if c.AllowedLateness <= 0 {
		c.AllowedLateness = 5 * time.Minute
	}
	if c.MaxEventIDs <= 0 {
		c.MaxEventIDs = 100
	}
	if c.MaxEntriesPerGroup <= 0 {
		c.MaxEntriesPerGroup = 10000
	}
	if c.MaxGroups <= 0 {
		c.MaxGroups = 200000
	}
	return c
}

// Event is one input of the evaluator: an event and the identities of the
// rules it matched.
type Event struct {
	// Partition scopes all state: tripline passes the msp, the key of the
	// normalised topic, so correlations never mix MSPs and each detector
	// holds the state of its own partitions.
	Partition string
	Time      time.Time
	ID        string
	Source    fields.Source
	// Matched are the identities of the rules that matched the event.
	Matched []string
}

// Detection is one correlation result.
type Detection struct {
	Rule      *Rule
	Partition string
	// Group holds the group-by values, aligned with Rule.GroupBy.
	Group       []string
	First, Last time.Time
	// EventIDs lists the events that formed the detection, at most
	// Config.MaxEventIDs of them; Events is how many there were.
	EventIDs []string
	Events   int
	// Value is the measured value (count, distinct count, sum, ...).
	Value float64
	// Key is what the detection ID derives from: the sorted IDs of all
	// events that formed it, or, for windows closed on event time and
	// anomaly buckets, the group and window start.
	Key     []string
	Summary string
	// Source is the last event that contributed.
	Source fields.Source
}

// Stats describe the evaluator's state.
type Stats struct {
	Partitions int
	Groups     int
	// Entries counts occurrences, distinct values and history buckets
	// held across all groups.
	Entries int
	// Bytes is an estimate of the state's memory.
	Bytes int64
	// Late counts events skipped for arriving later than the allowed
	// lateness; Overflow events skipped because a correlation had too
	// many groups.
	Late, Overflow int64
}

// Evaluator holds correlation state and evaluates events against a Set. It
// is not safe for concurrent use.
type Evaluator struct {
	cfg   Config
	set   *Set
	parts map[string]*partition
	late  int64
	over  int64

	// Scratch for the group key of each fed occurrence: most occurrences
	// join an existing group, and building the key in place spares two
	// allocations per correlation an event feeds.
	keyBuf []byte
	valBuf []string
}

type partition struct {
	maxTime    time.Time
	states     map[string]*ruleState // by rule fingerprint
	events     int
	lastSweep  time.Time
	closeCheck time.Time // earliest end of an open closing window (zero: none)
	// byIdx caches states by Rule.idx for the rules of set, rebuilt when
	// the Set changes: every occurrence fed looks its state up, and
	// hashing the fingerprint (the ID and 24 hex digits) there was 0.29 s
	// of the 3.7 s spent feeding in BenchmarkPackWithCorrelations' profile.
	set   *Set
	byIdx []*ruleState
}

type ruleState struct {
	groups map[string]group // by group-by values joined by NUL
	start  time.Time        // first event time this correlation saw in the partition
}

// New returns an Evaluator over set (which may be nil: no correlations).
func New(set *Set, cfg Config) *Evaluator {
	return &Evaluator{cfg: cfg.withDefaults(), set: set, parts: map[string]*partition{}}
}

// Set returns the correlations in use.
func (e *Evaluator) Set() *Set { return e.set }

// SetRules swaps the correlation set (hot reload). State of correlations
// whose definition is unchanged carries over; the rest is dropped.
func (e *Evaluator) SetRules(s *Set) {
	if s == e.set {
		return
	}
	keep := map[string]bool{}
	for _, r := range s.Rules() {
		keep[r.fingerprint] = true
	}
	for _, p := range e.parts {
		for fp := range p.states {
			if !keep[fp] {
				delete(p.states, fp)
			}
		}
	}
	e.set = s
}

// Reset drops the state of one partition (before rebuilding it).
func (e *Evaluator) Reset(partition string) { delete(e.parts, partition) }

// Partitions lists the partitions holding state.
func (e *Evaluator) Partitions() []string {
	out := make([]string, 0, len(e.parts))
	for k := range e.parts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Watermark is the event time up to which a partition's windows are
// complete (its newest event time minus the allowed lateness).
func (e *Evaluator) Watermark(partition string) time.Time {
	p := e.parts[partition]
	if p == nil {
		return time.Time{}
	}
	return p.maxTime.Add(-e.cfg.AllowedLateness)
}

// Process evaluates one event. Detections of correlations that generate
// (those no other correlation references, or referenced with `generate:
// true`) are passed to emit, in a deterministic order.
func (e *Evaluator) Process(ev Event, emit func(Detection)) {
	if e.set.Len() == 0 {
		return
	}
	consumed := false
	for _, id := range ev.Matched {
		if len(e.set.byRef[id]) > 0 {
			consumed = true
			break
		}
	}
	p := e.parts[ev.Partition]
	if p == nil {
		if !consumed {
			return
		}
		p = &partition{states: map[string]*ruleState{}}
		e.parts[ev.Partition] = p
	}
	if !p.maxTime.IsZero() && ev.Time.Before(p.maxTime.Add(-e.cfg.AllowedLateness)) {
		if consumed {
			e.late++
		}
		return
	}
	if ev.Time.After(p.maxTime) {
		p.maxTime = ev.Time
	}
	// Close windows that ended before this event's time (minus lateness)
	// first, so their detections precede this event's.
	e.closeDue(ev.Partition, p, emit)
	if consumed {
		c := feedCtx{e: e, pname: ev.Partition, p: p}
		o := occ{t: ev.Time, ids: []string{ev.ID}, src: ev.Source}
		for _, id := range ev.Matched {
			for _, cn := range e.set.byRef[id] {
				c.feed(cn, o, emit)
			}
		}
	}
	p.events++
	if p.events&4095 == 0 || p.maxTime.Sub(p.lastSweep) > time.Hour {
		e.sweep(p)
		p.lastSweep = p.maxTime
	}
}

// Flush closes every open window as if event time had run past it (end of
// offline input).
func (e *Evaluator) Flush(emit func(Detection)) {
	for _, name := range e.Partitions() {
		p := e.parts[name]
		e.closeWindows(name, p, time.Unix(1<<40, 0), emit)
	}
}

// Advance tells the evaluator that every event of partition up to
// watermark has been processed: windows evaluated when they close and that
// end at or before it are evaluated now, instead of when the partition's
// next event happens to arrive. It changes nothing else (no sweep), so the
// state after a sequence of Process calls does not depend on how often
// Advance ran between them.
func (e *Evaluator) Advance(partition string, watermark time.Time, emit func(Detection)) {
	p := e.parts[partition]
	if p == nil || p.closeCheck.IsZero() || watermark.Before(p.closeCheck) {
		return
	}
	e.closeWindows(partition, p, watermark, emit)
}

func (e *Evaluator) closeDue(name string, p *partition, emit func(Detection)) {
	wm := p.maxTime.Add(-e.cfg.AllowedLateness)
	if p.closeCheck.IsZero() || wm.Before(p.closeCheck) {
		return
	}
	e.closeWindows(name, p, wm, emit)
}

// closeWindows evaluates every closing window that ends at or before wm,
// in rule then group order.
func (e *Evaluator) closeWindows(name string, p *partition, wm time.Time, emit func(Detection)) {
	var next time.Time
	for _, r := range e.set.Rules() {
		if !r.closing {
			continue
		}
		st := p.states[r.fingerprint]
		if st == nil {
			continue
		}
		c := feedCtx{e: e, pname: name, p: p, r: r, st: st}
		if end := c.closeDue(wm, emit); !end.IsZero() && (next.IsZero() || end.Before(next)) {
			next = end
		}
	}
	p.closeCheck = next
}

// state is r's state in p, created when missing; r is a rule of the Set
// in use.
func (e *Evaluator) state(p *partition, r *Rule) *ruleState {
	if p.set != e.set {
		p.set = e.set
		p.byIdx = make([]*ruleState, e.set.Len())
	}
	if st := p.byIdx[r.idx]; st != nil {
		return st
	}
	st := p.states[r.fingerprint]
	if st == nil {
		st = &ruleState{groups: map[string]group{}}
		p.states[r.fingerprint] = st
	}
	p.byIdx[r.idx] = st
	return st
}

// sweep drops expired groups and values.
func (e *Evaluator) sweep(p *partition) {
	wm := p.maxTime.Add(-e.cfg.AllowedLateness)
	for _, r := range e.set.Rules() {
		st := p.states[r.fingerprint]
		if st == nil {
			continue
		}
		for k, g := range st.groups {
			if g.expired(r, wm) {
				delete(st.groups, k)
			}
		}
	}
}

// Stats measures the state.
func (e *Evaluator) Stats() Stats {
	s := Stats{Partitions: len(e.parts), Late: e.late, Overflow: e.over}
	for _, p := range e.parts {
		for _, st := range p.states {
			s.Groups += len(st.groups)
			s.Bytes += int64(len(st.groups)) * groupBytes
			for k, g := range st.groups {
				entries, bytes := g.size()
				s.Entries += entries
				s.Bytes += int64(len(k)) + bytes
			}
		}
	}
	return s
}
