package correlate

import (
	"sort"
	"time"
)

// valueCountGroup counts the distinct values of the condition field over a
// sliding window: the last sighting of each value within the timespan.
type valueCountGroup struct {
	groupBase
	distinct map[string]seen
}

type seen struct {
	t  time.Time
	id string
}

func (g *valueCountGroup) feed(c feedCtx, o occ, v string) (Detection, bool) {
	r := c.r
	if g.distinct == nil {
		g.distinct = map[string]seen{}
	}
	id := ""
	if len(o.ids) > 0 {
		id = o.ids[len(o.ids)-1]
	}
	if prev, ok := g.distinct[v]; !ok || !o.t.Before(prev.t) {
		if !ok && len(g.distinct) >= c.e.cfg.MaxEntriesPerGroup {
			return Detection{}, false
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
		return Detection{}, false
	}
	n := float64(len(g.distinct))
	if !r.Cond.Holds(n) {
		return Detection{}, false
	}
	d := c.detection(&g.groupBase, g.sightings(), n)
	clear(g.distinct)
	g.muted = o.t.Add(r.Timespan)
	return d, true
}

// sightings are the last sighting of every value, in time then ID order
// (map order is random; detections must not be).
func (g *valueCountGroup) sightings() []occ {
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
	return occs
}

func (g *valueCountGroup) size() (int, int64) {
	return len(g.distinct), int64(len(g.distinct)) * valueBytes
}
