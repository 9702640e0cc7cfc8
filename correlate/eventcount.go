package correlate

import "fmt"

// slidingGroup counts event_count and value_sum with lower-bound-only
// conditions over a sliding window: the occurrences of the last timespan,
// in time order. The detection fires as soon as the condition holds.
type slidingGroup struct {
	groupBase
	occs []occ
}

func (g *slidingGroup) feed(c feedCtx, o occ, _ string) (Detection, bool) {
	r := c.r
	g.occs = insertOcc(g.occs, o)
	newest := g.occs[len(g.occs)-1].t
	g.occs = evictBefore(g.occs, newest.Add(-r.Timespan))
	// A count condition needs no more than r.need occurrences: keeping
	// only the newest bounds the state of busy groups.
	limit := c.e.cfg.MaxEntriesPerGroup
	if r.Kind == EventCount && r.need > 0 {
		limit = min(limit, r.need)
	}
	if len(g.occs) > limit {
		g.occs = append(g.occs[:0], g.occs[len(g.occs)-limit:]...)
	}
	if o.t.Before(g.muted) {
		return Detection{}, false
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
		return Detection{}, false
	}
	d := c.detection(&g.groupBase, g.occs, value)
	g.occs = g.occs[:0]
	g.muted = o.t.Add(r.Timespan)
	return d, true
}

func (g *slidingGroup) size() (int, int64) {
	return len(g.occs), int64(len(g.occs)) * occBytes
}

func checkEventCount(r *Rule) error {
	if len(r.Cond.Ops) == 0 {
		return fmt.Errorf("event_count needs a condition")
	}
	return nil
}
