package correlate

import (
	"fmt"
	"sort"
)

// temporalGroup tracks temporal and temporal_ordered: per referenced rule,
// its recent occurrences within the timespan.
type temporalGroup struct {
	groupBase
	refs [][]occ // aligned with Rule.Refs
}

// perRef bounds the occurrences kept per referenced rule: a detection
// needs one of each, and recent ones.
const perRef = 32

func (g *temporalGroup) feed(c feedCtx, o occ, _ string) (Detection, bool) {
	r := c.r
	list := insertOcc(g.refs[c.ref], o)
	if len(list) > perRef {
		list = append(list[:0], list[len(list)-perRef:]...)
	}
	g.refs[c.ref] = list
	from := g.lastT.Add(-r.Timespan)
	present := 0
	for i := range g.refs {
		g.refs[i] = evictBefore(g.refs[i], from)
		if len(g.refs[i]) > 0 {
			present++
		}
	}
	if o.t.Before(g.muted) {
		return Detection{}, false
	}
	var chosen []occ
	var ok bool
	if r.Kind == Temporal {
		chosen, ok = g.all(r, present)
	} else {
		chosen, ok = g.inOrder()
		present = len(chosen)
	}
	if !ok {
		return Detection{}, false
	}
	d := c.detection(&g.groupBase, chosen, float64(present))
	for i := range g.refs {
		g.refs[i] = g.refs[i][:0]
	}
	g.muted = o.t.Add(r.Timespan)
	return d, true
}

// all is temporal's detection: every occurrence held, in time order, once
// present referenced rules satisfy the condition (all of them without one).
func (g *temporalGroup) all(r *Rule, present int) ([]occ, bool) {
	ok := present == len(r.Refs)
	if len(r.Cond.Ops) > 0 {
		ok = r.Cond.Holds(float64(present))
	}
	if !ok {
		return nil, false
	}
	var chosen []occ
	for i := range g.refs {
		chosen = append(chosen, g.refs[i]...)
	}
	sort.SliceStable(chosen, func(i, j int) bool { return chosen[i].t.Before(chosen[j].t) })
	return chosen, true
}

// inOrder is temporal_ordered's detection: the earliest occurrence of each
// referenced rule after the previous rule's pick, in the order written.
func (g *temporalGroup) inOrder() ([]occ, bool) {
	var chosen []occ
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
			return nil, false
		}
		chosen = append(chosen, *pick)
		prev = pick
	}
	return chosen, true
}

func (g *temporalGroup) size() (int, int64) {
	n := 0
	for _, l := range g.refs {
		n += len(l)
	}
	return n, int64(n) * occBytes
}

func checkTemporal(r *Rule) error {
	if r.Sigma.ConditionExpr != "" {
		return fmt.Errorf("%s: boolean condition expressions are not supported; use a count (e.g. gte: 2) or omit the condition", r.Sigma.Type)
	}
	if len(r.Sigma.Rules) < 2 {
		return fmt.Errorf("%s needs at least two rules", r.Sigma.Type)
	}
	return nil
}
