package correlate

import (
	"math"
	"sort"
	"strconv"
	"strings"
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
}

type partition struct {
	maxTime    time.Time
	states     map[string]*ruleState // by rule fingerprint
	events     int
	lastSweep  time.Time
	closeCheck time.Time // earliest end of an open closing window (zero: none)
}

type ruleState struct {
	groups map[string]*group
	start  time.Time // first event time this correlation saw in the partition
}

type occ struct {
	t   time.Time
	ids []string
	v   float64
	src fields.Source
}

type seen struct {
	t  time.Time
	id string
}

type bucketVal struct {
	b int64
	v float64
}

type group struct {
	vals      []string // group-by values
	lastT     time.Time
	muted     time.Time
	start     time.Time
	last      fields.Source
	occs      []occ           // event_count, value_sum
	refs      [][]occ         // temporal
	distinct  map[string]seen // value_count (last sighting per value), first_seen, baseline current bucket
	open      bool            // closing window
	winStart  time.Time
	count     int
	sum       float64
	nums      []float64
	ids       []string
	first     time.Time
	bucket    int64
	firstB    int64
	cur       float64
	hist      []bucketVal
	fired     bool
	sawBucket bool
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
		o := occ{t: ev.Time, ids: []string{ev.ID}, src: ev.Source}
		for _, id := range ev.Matched {
			for _, cn := range e.set.byRef[id] {
				e.feed(ev.Partition, p, cn, o, emit)
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
		var due []string
		for k, g := range st.groups {
			if !g.open {
				continue
			}
			end := g.winStart.Add(r.Timespan)
			if !end.After(wm) {
				due = append(due, k)
			} else if next.IsZero() || end.Before(next) {
				next = end
			}
		}
		sort.Strings(due)
		for _, k := range due {
			e.closeWindow(name, p, r, st.groups[k], emit)
		}
	}
	p.closeCheck = next
}

func (e *Evaluator) state(p *partition, r *Rule) *ruleState {
	st := p.states[r.fingerprint]
	if st == nil {
		st = &ruleState{groups: map[string]*group{}}
		p.states[r.fingerprint] = st
	}
	return st
}

func valueString(v fields.Value) (string, bool) {
	switch v.Kind {
	case fields.String:
		return v.Str, true
	case fields.Number:
		return strconv.FormatFloat(v.Num, 'f', -1, 64), true
	case fields.Bool:
		return strconv.FormatBool(v.Bool), true
	case fields.Strings:
		return strings.Join(v.Strs, ","), true
	}
	return "", false
}

func valueNumber(v fields.Value) (float64, bool) {
	switch v.Kind {
	case fields.Number:
		return v.Num, true
	case fields.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
		return f, err == nil
	case fields.Bool:
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// feed adds one occurrence of rule reference cn.ref to correlation cn.rule.
func (e *Evaluator) feed(pname string, p *partition, cn consumer, o occ, emit func(Detection)) {
	r := cn.rule
	st := e.state(p, r)
	if st.start.IsZero() || o.t.Before(st.start) {
		st.start = o.t
	}
	vals := make([]string, len(r.GroupBy))
	for i := range r.GroupBy {
		vals[i], _ = valueString(o.src.Lookup(r.aliases[i][cn.ref]))
	}
	key := strings.Join(vals, "\x00")
	g := st.groups[key]
	if g == nil {
		if len(st.groups) >= e.cfg.MaxGroups {
			e.over++
			return
		}
		g = &group{vals: vals, start: o.t}
		st.groups[key] = g
	}
	if o.t.After(g.lastT) {
		g.lastT = o.t
		g.last = o.src
	}
	// The value of the condition field(s), when the type needs one.
	var fieldVal string
	var fieldNum float64
	if len(r.Fields) > 0 {
		parts := make([]string, 0, len(r.Fields))
		for i := range r.Fields {
			v := o.src.Lookup(r.fieldAliases[i][cn.ref])
			switch r.Kind {
			case ValueSum, ValueAvg, ValuePercentile:
				n, ok := valueNumber(v)
				if !ok {
					return
				}
				fieldNum = n
			default:
				s, ok := valueString(v)
				if !ok || s == "" {
					if r.Kind != Baseline {
						return
					}
				}
				parts = append(parts, s)
			}
		}
		fieldVal = strings.Join(parts, "|")
	}
	o.v = fieldNum
	if r.closing {
		e.feedClosing(pname, p, r, g, o, emit)
		return
	}
	switch r.Kind {
	case EventCount, ValueSum:
		e.feedCount(pname, p, r, st, key, g, o, emit)
	case ValueCount:
		e.feedValueCount(pname, p, r, st, key, g, o, fieldVal, emit)
	case Temporal, TemporalOrdered:
		e.feedTemporal(pname, p, r, st, key, g, cn.ref, o, emit)
	case FirstSeen:
		e.feedFirstSeen(pname, p, r, g, o, fieldVal, emit)
	case Dormant:
		e.feedDormant(pname, p, r, st, g, o, emit)
	case Baseline:
		e.feedBaseline(pname, p, r, key, g, o, fieldVal, emit)
	}
}

func insertOcc(list []occ, o occ) []occ {
	i := len(list)
	for i > 0 && list[i-1].t.After(o.t) {
		i--
	}
	list = append(list, occ{})
	copy(list[i+1:], list[i:])
	list[i] = o
	return list
}

func evictBefore(list []occ, from time.Time) []occ {
	n := 0
	for n < len(list) && list[n].t.Before(from) {
		n++
	}
	if n == 0 {
		return list
	}
	return append(list[:0], list[n:]...)
}

func (e *Evaluator) feedCount(pname string, p *partition, r *Rule, st *ruleState, key string, g *group, o occ, emit func(Detection)) {
	g.occs = insertOcc(g.occs, o)
	newest := g.occs[len(g.occs)-1].t
	g.occs = evictBefore(g.occs, newest.Add(-r.Timespan))
	limit := e.cfg.MaxEntriesPerGroup
	if r.Kind == EventCount && r.need > 0 {
		limit = min(limit, r.need)
	}
	if len(g.occs) > limit {
		g.occs = append(g.occs[:0], g.occs[len(g.occs)-limit:]...)
	}
	if o.t.Before(g.muted) {
		return
	}
	var value float64
	if r.Kind == EventCount {
		value = float64(len(g.occs))
	} else {
		for _, x := range g.occs {
			value += x.v
		}
	}
	if !r.Cond.Holds(value) {
		return
	}
	d := e.detection(pname, r, g, g.occs, value)
	g.occs = g.occs[:0]
	g.muted = o.t.Add(r.Timespan)
	e.fire(pname, p, d, emit)
}

func (e *Evaluator) feedValueCount(pname string, p *partition, r *Rule, st *ruleState, key string, g *group, o occ, v string, emit func(Detection)) {
	if g.distinct == nil {
		g.distinct = map[string]seen{}
	}
	id := ""
	if len(o.ids) > 0 {
		id = o.ids[len(o.ids)-1]
	}
	if prev, ok := g.distinct[v]; !ok || !o.t.Before(prev.t) {
		if !ok && len(g.distinct) >= e.cfg.MaxEntriesPerGroup {
			return
		}
		g.distinct[v] = seen{t: o.t, id: id}
	}
	from := g.lastT.Add(-r.Timespan)
	for k, s := range g.distinct {
		if s.t.Before(from) {
			delete(g.distinct, k)
		}
	}
	if o.t.Before(g.muted) {
		return
	}
	n := float64(len(g.distinct))
	if !r.Cond.Holds(n) {
		return
	}
	occs := make([]occ, 0, len(g.distinct))
	for _, s := range g.distinct {
		occs = append(occs, occ{t: s.t, ids: []string{s.id}})
	}
	sort.Slice(occs, func(i, j int) bool {
		if !occs[i].t.Equal(occs[j].t) {
			return occs[i].t.Before(occs[j].t)
		}
		return occs[i].ids[0] < occs[j].ids[0]
	})
	d := e.detection(pname, r, g, occs, n)
	clear(g.distinct)
	g.muted = o.t.Add(r.Timespan)
	e.fire(pname, p, d, emit)
}

func (e *Evaluator) feedTemporal(pname string, p *partition, r *Rule, st *ruleState, key string, g *group, ref int, o occ, emit func(Detection)) {
	if g.refs == nil {
		g.refs = make([][]occ, len(r.Refs))
	}
	g.refs[ref] = insertOcc(g.refs[ref], o)
	const perRef = 32
	if len(g.refs[ref]) > perRef {
		g.refs[ref] = append(g.refs[ref][:0], g.refs[ref][len(g.refs[ref])-perRef:]...)
	}
	from := g.lastT.Add(-r.Timespan)
	present := 0
	for i := range g.refs {
		g.refs[i] = evictBefore(g.refs[i], from)
		if len(g.refs[i]) > 0 {
			present++
		}
	}
	if o.t.Before(g.muted) {
		return
	}
	var chosen []occ
	if r.Kind == Temporal {
		ok := present == len(r.Refs)
		if len(r.Cond.Ops) > 0 {
			ok = r.Cond.Holds(float64(present))
		}
		if !ok {
			return
		}
		for i := range g.refs {
			chosen = append(chosen, g.refs[i]...)
		}
		sort.SliceStable(chosen, func(i, j int) bool { return chosen[i].t.Before(chosen[j].t) })
	} else {
		var prev *occ
		for i := range g.refs {
			var pick *occ
			for j := range g.refs[i] {
				c := &g.refs[i][j]
				if prev == nil || c.t.After(prev.t) || (c.t.Equal(prev.t) && firstID(c) != firstID(prev)) {
					pick = c
					break
				}
			}
			if pick == nil {
				return
			}
			chosen = append(chosen, *pick)
			prev = pick
		}
		present = len(chosen)
	}
	d := e.detection(pname, r, g, chosen, float64(present))
	for i := range g.refs {
		g.refs[i] = g.refs[i][:0]
	}
	g.muted = o.t.Add(r.Timespan)
	e.fire(pname, p, d, emit)
}

func firstID(o *occ) string {
	if len(o.ids) == 0 {
		return ""
	}
	return o.ids[0]
}

func (e *Evaluator) feedFirstSeen(pname string, p *partition, r *Rule, g *group, o occ, v string, emit func(Detection)) {
	if g.distinct == nil {
		g.distinct = map[string]seen{}
	}
	prev, known := g.distinct[v]
	isNew := !known || o.t.Sub(prev.t) > r.History
	if !known || o.t.After(prev.t) {
		if known || len(g.distinct) < e.cfg.MaxEntriesPerGroup {
			g.distinct[v] = seen{t: o.t}
		}
	}
	if !isNew || o.t.Sub(g.start) < r.Learning {
		return
	}
	d := e.detection(pname, r, g, []occ{o}, float64(len(g.distinct)))
	d.Summary = e.summaryFirstSeen(r, g, v, known, prev.t)
	e.fire(pname, p, d, emit)
}

func (e *Evaluator) feedDormant(pname string, p *partition, r *Rule, st *ruleState, g *group, o occ, emit func(Detection)) {
	isNewGroup := g.sawBucket == false
	g.sawBucket = true
	var gap time.Duration
	var lastSeen time.Time
	if !isNewGroup {
		lastSeen = g.first
		gap = o.t.Sub(g.first)
	}
	if o.t.After(g.first) {
		g.first = o.t // latest activity
	}
	switch {
	case !isNewGroup && gap >= r.Timespan:
		d := e.detection(pname, r, g, []occ{o}, gap.Hours()/24)
		d.Summary = summaryPrefix(r, g) + "active again after " + fmtDur(gap) + " unseen (last seen " + lastSeen.UTC().Format(time.RFC3339) + "); threshold " + fmtDur(r.Timespan)
		e.fire(pname, p, d, emit)
	case isNewGroup && r.Learning > 0 && o.t.Sub(st.start) >= r.Learning:
		observed := o.t.Sub(st.start)
		d := e.detection(pname, r, g, []occ{o}, observed.Hours()/24)
		d.Summary = summaryPrefix(r, g) + "first activity in " + fmtDur(observed) + " of observed history (learning " + fmtDur(r.Learning) + ")"
		e.fire(pname, p, d, emit)
	}
}

func (e *Evaluator) feedBaseline(pname string, p *partition, r *Rule, key string, g *group, o occ, v string, emit func(Detection)) {
	span := int64(r.Timespan)
	b := o.t.UnixNano() / span
	if !g.sawBucket {
		g.sawBucket, g.bucket, g.firstB = true, b, b
	}
	if b < g.bucket {
		// A late event for a past bucket: count it there (event mode).
		if len(r.Fields) == 0 {
			for i := range g.hist {
				if g.hist[i].b == b {
					g.hist[i].v++
					return
				}
			}
		}
		return
	}
	if b > g.bucket {
		if g.cur > 0 {
			g.hist = append(g.hist, bucketVal{b: g.bucket, v: g.cur})
		}
		g.cur, g.fired, g.bucket = 0, false, b
		if g.distinct != nil {
			clear(g.distinct)
		}
		g.occs = g.occs[:0]
		keep := b - int64(r.History/r.Timespan)
		n := 0
		for n < len(g.hist) && g.hist[n].b < keep {
			n++
		}
		g.hist = append(g.hist[:0], g.hist[n:]...)
	}
	if len(r.Fields) == 0 {
		g.cur++
	} else {
		if g.distinct == nil {
			g.distinct = map[string]seen{}
		}
		if _, dup := g.distinct[v]; !dup {
			g.distinct[v] = seen{t: o.t}
			g.cur++
		}
	}
	if len(g.occs) < e.cfg.MaxEventIDs {
		g.occs = append(g.occs, o)
	}
	if g.fired || !r.Cond.Holds(g.cur) || time.Duration(b-g.firstB)*r.Timespan < r.Learning {
		return
	}
	n := min(int64(r.History/r.Timespan), b-g.firstB)
	if n <= 0 {
		return
	}
	var sum float64
	var nonzero []float64
	for _, h := range g.hist {
		if h.b >= b-n {
			sum += h.v
			nonzero = append(nonzero, h.v)
		}
	}
	mean := sum / float64(n)
	thr := 0.0
	var how []string
	if r.Multiple > 0 {
		thr = r.Multiple * mean
		how = append(how, strconv.FormatFloat(r.Multiple, 'f', -1, 64)+"× mean "+fmtNum(mean))
	}
	if r.Percentile > 0 {
		all := make([]float64, int(n)-len(nonzero), int(n))
		all = append(all, nonzero...)
		pv := percentile(all, r.Percentile)
		thr = max(thr, pv)
		how = append(how, "p"+fmtNum(r.Percentile)+" "+fmtNum(pv))
	}
	if g.cur <= thr {
		return
	}
	g.fired = true
	d := e.detection(pname, r, g, g.occs, g.cur)
	start := time.Unix(0, b*span).UTC()
	d.Key = append([]string{"baseline", start.Format(time.RFC3339Nano)}, g.vals...)
	what := "events"
	if len(r.Fields) > 0 {
		what = "distinct " + strings.Join(r.Fields, "+")
	}
	d.Summary = summaryPrefix(r, g) + fmtNum(g.cur) + " " + what + " in the " + fmtDur(r.Timespan) + " from " + start.Format(time.RFC3339) +
		"; baseline over " + fmtDur(time.Duration(n)*r.Timespan) + ": " + strings.Join(how, ", ") + " = " + fmtNum(thr) + "; minimum " + r.Cond.String() + listNote(d, e.cfg.MaxEventIDs)
	e.fire(pname, p, d, emit)
}

func (e *Evaluator) feedClosing(pname string, p *partition, r *Rule, g *group, o occ, emit func(Detection)) {
	if g.open && !o.t.Before(g.winStart.Add(r.Timespan)) {
		e.closeWindow(pname, p, r, g, emit)
	}
	if !g.open {
		g.open = true
		g.winStart, g.first = o.t, o.t
		g.count, g.sum = 0, 0
		g.nums, g.ids = g.nums[:0], g.ids[:0]
		end := o.t.Add(r.Timespan)
		if p.closeCheck.IsZero() || end.Before(p.closeCheck) {
			p.closeCheck = end
		}
	}
	if o.t.Before(g.first) {
		g.first = o.t
	}
	g.count++
	g.sum += o.v
	if r.Kind == ValuePercentile && len(g.nums) < e.cfg.MaxEntriesPerGroup {
		g.nums = append(g.nums, o.v)
	}
	for _, id := range o.ids {
		if len(g.ids) < e.cfg.MaxEventIDs {
			g.ids = append(g.ids, id)
		}
	}
}

func (e *Evaluator) closeWindow(pname string, p *partition, r *Rule, g *group, emit func(Detection)) {
	g.open = false
	var v float64
	switch r.Kind {
	case EventCount:
		v = float64(g.count)
	case ValueSum:
		v = g.sum
	case ValueAvg:
		v = g.sum / float64(max(g.count, 1))
	case ValuePercentile:
		v = percentile(append([]float64(nil), g.nums...), r.Percentile)
	default:
		return
	}
	if !r.Cond.Holds(v) {
		return
	}
	d := Detection{
		Rule: r, Partition: pname, Group: g.vals, First: g.first, Last: g.lastT,
		EventIDs: append([]string(nil), g.ids...), Events: g.count, Value: v, Source: g.last,
		Key: append([]string{"window", g.winStart.UTC().Format(time.RFC3339Nano)}, g.vals...),
	}
	d.Summary = e.summary(r, g, d)
	e.fire(pname, p, d, emit)
}

// detection builds a detection from the occurrences that formed it.
func (e *Evaluator) detection(pname string, r *Rule, g *group, occs []occ, value float64) Detection {
	d := Detection{Rule: r, Partition: pname, Group: g.vals, Value: value, Source: g.last}
	var all []string
	for _, o := range occs {
		all = append(all, o.ids...)
		if d.First.IsZero() || o.t.Before(d.First) {
			d.First = o.t
		}
		if o.t.After(d.Last) {
			d.Last = o.t
		}
		if o.src != nil {
			d.Source = o.src
		}
	}
	d.Events = len(all)
	d.EventIDs = all
	if len(all) > e.cfg.MaxEventIDs {
		d.EventIDs = append([]string(nil), all[:e.cfg.MaxEventIDs]...)
	}
	d.Key = append([]string(nil), all...)
	sort.Strings(d.Key)
	d.Summary = e.summary(r, g, d)
	return d
}

// fire emits d and feeds it to the correlations that reference r.
func (e *Evaluator) fire(pname string, p *partition, d Detection, emit func(Detection)) {
	if e.set.Generates(d.Rule.ID) {
		emit(d)
	}
	if len(d.Rule.consumers) == 0 {
		return
	}
	ids := d.Key
	if len(ids) > 0 && (ids[0] == "window" || ids[0] == "baseline") {
		ids = d.EventIDs
	}
	o := occ{t: d.Last, ids: ids, src: d.Source}
	for _, cn := range d.Rule.consumers {
		e.feed(pname, p, cn, o, emit)
	}
}

// sweep drops expired groups and values.
func (e *Evaluator) sweep(p *partition) {
	wm := p.maxTime.Add(-e.cfg.AllowedLateness)
	for _, r := range e.set.Rules() {
		st := p.states[r.fingerprint]
		if st == nil {
			continue
		}
		horizon := r.Horizon()
		for k, g := range st.groups {
			if r.Kind == FirstSeen && g.distinct != nil {
				for v, s := range g.distinct {
					if wm.Sub(s.t) > r.History {
						delete(g.distinct, v)
					}
				}
				if len(g.distinct) == 0 {
					delete(st.groups, k)
				}
				continue
			}
			if g.open || g.muted.After(wm) {
				continue
			}
			if wm.Sub(g.lastT) > horizon {
				delete(st.groups, k)
			}
		}
	}
}

// Stats measures the state.
func (e *Evaluator) Stats() Stats {
	s := Stats{Partitions: len(e.parts), Late: e.late, Overflow: e.over}
	const groupBytes, occBytes, valBytes, bucketBytes = 400, 96, 80, 16
	for _, p := range e.parts {
		for _, st := range p.states {
			s.Groups += len(st.groups)
			s.Bytes += int64(len(st.groups)) * groupBytes
			for k, g := range st.groups {
				s.Bytes += int64(len(k))
				n := len(g.occs) + len(g.distinct) + len(g.hist) + len(g.nums) + len(g.ids)
				for _, l := range g.refs {
					n += len(l)
				}
				s.Entries += n
				s.Bytes += int64(len(g.occs))*occBytes + int64(len(g.distinct))*valBytes + int64(len(g.hist))*bucketBytes +
					int64(len(g.nums))*8 + int64(len(g.ids))*52
				for _, l := range g.refs {
					s.Bytes += int64(len(l)) * occBytes
				}
			}
		}
	}
	return s
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	// Nearest rank.
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	rank = min(max(rank, 1), len(xs))
	return xs[rank-1]
}
