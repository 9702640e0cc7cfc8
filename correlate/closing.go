package correlate

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// closingGroup is a tumbling window, opened by the group's first event,
// whose condition is evaluated when it closes: conditions with an upper
// bound (a count that may still grow cannot be judged early), value_avg
// and value_percentile.
type closingGroup struct {
	groupBase
	open     bool
	winStart time.Time
	first    time.Time // earliest occurrence in the window
	count    int
	sum      float64
	nums     []float64 // value_percentile
	ids      []string
}

// feed closes the window when o falls after it, and returns its detection
// once o is in the next window.
func (g *closingGroup) feed(c feedCtx, o occ, _ string) (Detection, bool) {
	r := c.r
	var closed Detection
	var fired bool
	if g.open && !o.t.Before(g.end(r)) {
		closed, fired = g.close(c)
	}
	if !g.open {
		g.open = true
		g.winStart, g.first = o.t, o.t
		g.count, g.sum = 0, 0
		g.nums, g.ids = g.nums[:0], g.ids[:0]
		if end := g.end(r); c.p.closeCheck.IsZero() || end.Before(c.p.closeCheck) {
			c.p.closeCheck = end
		}
	}
	if o.t.Before(g.first) {
		g.first = o.t
	}
	g.count++
	g.sum += o.v
	if r.Kind == ValuePercentile && len(g.nums) < c.e.cfg.MaxEntriesPerGroup {
		g.nums = append(g.nums, o.v)
	}
	for _, id := range o.ids {
		if len(g.ids) < c.e.cfg.MaxEventIDs {
			g.ids = append(g.ids, id)
		}
	}
	return closed, fired
}

func (g *closingGroup) end(r *Rule) time.Time { return g.winStart.Add(r.Timespan) }

// close evaluates the window and returns its detection when its condition
// holds. Its key is the group and the window start: the window's events
// may be more than the detection lists.
func (g *closingGroup) close(c feedCtx) (Detection, bool) {
	r := c.r
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
		return Detection{}, false
	}
	if !r.Cond.Holds(v) {
		return Detection{}, false
	}
	d := Detection{
		Rule: r, Partition: c.pname, Group: g.vals, First: g.first, Last: g.lastT,
		EventIDs: append([]string(nil), g.ids...), Events: g.count, Value: v, Source: g.last,
		Key: append([]string{"window", g.winStart.UTC().Format(time.RFC3339Nano)}, g.vals...),
	}
	d.Summary = summary(r, g.vals, d)
	return d, true
}

// closeDue closes, in group order, the windows of c.r that end at or
// before wm, and returns the earliest end of the windows left open (zero:
// none).
func (c feedCtx) closeDue(wm time.Time, emit func(Detection)) (next time.Time) {
	var due []string
	for k, g := range c.st.groups {
		g := g.(*closingGroup)
		if !g.open {
			continue
		}
		end := g.end(c.r)
		if !end.After(wm) {
			due = append(due, k)
		} else if next.IsZero() || end.Before(next) {
			next = end
		}
	}
	sort.Strings(due)
	for _, k := range due {
		if d, ok := c.st.groups[k].(*closingGroup).close(c); ok {
			c.fire(d, emit)
		}
	}
	return next
}

func (g *closingGroup) expired(r *Rule, wm time.Time) bool {
	return !g.open && g.groupBase.expired(r, wm)
}

func (g *closingGroup) size() (int, int64) {
	return len(g.nums) + len(g.ids), int64(len(g.nums))*numBytes + int64(len(g.ids))*idBytes
}

// percentile is the nearest-rank percentile p of xs, which it sorts.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	rank = min(max(rank, 1), len(xs))
	return xs[rank-1]
}

// checkValuePercentile: the percentile defaults to 50 (value_median).
func checkValuePercentile(r *Rule, p params) error {
	if err := needField(r); err != nil {
		return err
	}
	r.Percentile = 50
	if v, ok, err := p.number("percentile"); err != nil {
		return err
	} else if ok {
		r.Percentile = v
	}
	if r.Percentile < 0 || r.Percentile > 100 {
		return fmt.Errorf("percentile must be within 0..100")
	}
	return needCondition(r)
}
