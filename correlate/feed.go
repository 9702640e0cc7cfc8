package correlate

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/fields"
)

// group is the state of one group (one combination of group-by values) of
// one correlation. Each kind keeps its own state behind this interface, in
// its own file: eventcount.go, valuecount.go, temporal.go, closing.go,
// firstseen.go, dormant.go and baseline.go.
type group interface {
	base() *groupBase
	// feed adds one occurrence, whose condition field reads val (numeric
	// values are in o.v), and returns the detection it completes, if any.
	// Firing is the caller's: emit must not pass through an interface
	// call, or every caller's emit closure escapes to the heap.
	feed(c feedCtx, o occ, val string) (Detection, bool)
	// size is what the group holds for Stats: entries (occurrences,
	// values, buckets) and their estimated bytes.
	size() (entries int, bytes int64)
	// expired reports whether sweep may drop the group, the partition's
	// windows being complete up to wm. It may prune entries first.
	expired(r *Rule, wm time.Time) bool
}

// groupBase is what every kind keeps about a group.
type groupBase struct {
	vals  []string // group-by values, aligned with Rule.GroupBy
	start time.Time
	// lastT and last are the newest occurrence's time and event.
	lastT time.Time
	last  fields.Source
	// muted is when the group may fire again, one timespan after a
	// detection spent its events.
	muted time.Time
}

func (b *groupBase) base() *groupBase { return b }

// expired: idle for longer than the correlation's horizon and not muted.
func (b *groupBase) expired(r *Rule, wm time.Time) bool {
	return !b.muted.After(wm) && wm.Sub(b.lastT) > r.Horizon()
}

// newGroup returns the empty state of a group of r, which starts with an
// occurrence at b.start: closing windows for conditions evaluated when the
// window closes, whatever the kind.
func newGroup(r *Rule, b groupBase) group {
	if r.closing {
		return &closingGroup{groupBase: b}
	}
	switch r.Kind {
	case EventCount, ValueSum:
		return &slidingGroup{groupBase: b}
	case ValueCount:
		return &valueCountGroup{groupBase: b}
	case Temporal, TemporalOrdered:
		return &temporalGroup{groupBase: b, refs: make([][]occ, len(r.Refs))}
	case FirstSeen:
		return &firstSeenGroup{groupBase: b}
	case Dormant:
		return &dormantGroup{groupBase: b}
	case Baseline:
		return newBaselineGroup(r, b)
	}
	return &inertGroup{groupBase: b}
}

// inertGroup is a group of a correlation that never fires: value_avg and
// value_percentile without a condition, which Compile rejects.
type inertGroup struct{ groupBase }

func (*inertGroup) feed(feedCtx, occ, string) (Detection, bool) { return Detection{}, false }
func (*inertGroup) size() (int, int64)                          { return 0, 0 }

// Estimated bytes of the state, for Stats.
const (
	groupBytes  = 400
	occBytes    = 96
	valueBytes  = 80
	bucketBytes = 16
	numBytes    = 8
	idBytes     = 52
)

// occ is one occurrence of a referenced rule or correlation: an event, or
// a child correlation's detection (then ids holds its events).
type occ struct {
	t   time.Time
	ids []string
	v   float64 // the condition field's number (value_sum, _avg, _percentile)
	src fields.Source
}

func firstID(o *occ) string {
	if len(o.ids) == 0 {
		return ""
	}
	return o.ids[0]
}

// insertOcc keeps list in time order; late occurrences are rare, so the
// search starts from the end.
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

// feedCtx is where an occurrence is fed: the evaluator, the partition, the
// correlation with its state there and the reference the occurrence came
// from. It travels by value: passed by pointer through the group interface
// it would escape to the heap on every event.
type feedCtx struct {
	e     *Evaluator
	pname string
	p     *partition
	r     *Rule
	st    *ruleState
	ref   int // index into r.Refs
}

// feed adds one occurrence of rule reference cn.ref to correlation
// cn.rule and fires what it completes.
func (c feedCtx) feed(cn consumer, o occ, emit func(Detection)) {
	c.r, c.ref = cn.rule, cn.ref
	c.st = c.e.state(c.p, c.r)
	if c.st.start.IsZero() || o.t.Before(c.st.start) {
		c.st.start = o.t
	}
	vals, key := c.e.valBuf[:0], c.e.keyBuf[:0]
	for i := range c.r.GroupBy {
		v, _ := valueString(o.src.Lookup(c.r.aliases[i][cn.ref]))
		if i > 0 {
			key = append(key, 0)
		}
		key = append(key, v...)
		vals = append(vals, v)
	}
	c.e.valBuf, c.e.keyBuf = vals, key
	g := c.st.groups[string(key)] // no allocation: the compiler looks up in place
	if g == nil {
		if len(c.st.groups) >= c.e.cfg.MaxGroups {
			c.e.over++
			return
		}
		g = newGroup(c.r, groupBase{vals: slices.Clone(vals), start: o.t})
		c.st.groups[string(key)] = g
	}
	if b := g.base(); o.t.After(b.lastT) {
		b.lastT = o.t
		b.last = o.src
	}
	val, num, ok := fieldValue(c.r, cn.ref, o.src)
	if !ok {
		return
	}
	o.v = num
	if d, ok := g.feed(c, o, val); ok {
		c.fire(d, emit)
	}
}

// fieldValue reads the condition field(s) of r on an event of reference
// ref: a number for the value types that add up values, else the values
// joined by "|". ok is false when the event lacks them (baseline counts it
// anyway).
func fieldValue(r *Rule, ref int, src fields.Source) (val string, num float64, ok bool) {
	if len(r.Fields) == 0 {
		return "", 0, true
	}
	var inline [4]string // stays on the stack: Join does not keep parts
	parts := inline[:0]
	for i := range r.Fields {
		v := src.Lookup(r.fieldAliases[i][ref])
		switch r.Kind {
		case ValueSum, ValueAvg, ValuePercentile:
			n, ok := valueNumber(v)
			if !ok {
				return "", 0, false
			}
			num = n
		default:
			s, ok := valueString(v)
			if (!ok || s == "") && r.Kind != Baseline {
				return "", 0, false
			}
			parts = append(parts, s)
		}
	}
	if len(parts) == 1 {
		return parts[0], num, true // the common case, without a join
	}
	return strings.Join(parts, "|"), num, true
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

// detection builds a detection of c.r from the occurrences that formed it.
func (c feedCtx) detection(g *groupBase, occs []occ, value float64) Detection {
	d := Detection{Rule: c.r, Partition: c.pname, Group: g.vals, Value: value, Source: g.last}
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
	if maxIDs := c.e.cfg.MaxEventIDs; len(all) > maxIDs {
		d.EventIDs = append([]string(nil), all[:maxIDs]...)
	}
	d.Key = append([]string(nil), all...)
	sort.Strings(d.Key)
	d.Summary = summary(c.r, g.vals, d)
	return d
}

// fire emits d and feeds it to the correlations that reference its rule.
func (c feedCtx) fire(d Detection, emit func(Detection)) {
	if c.e.set.Generates(d.Rule.ID) {
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
		c.feed(cn, o, emit)
	}
}
