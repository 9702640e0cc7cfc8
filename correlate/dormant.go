package correlate

import (
	"fmt"
	"time"
)

// dormantGroup fires when an entity (the group) is active again after at
// least the timespan without activity, or, once the correlation has
// observed its learning period, active for the first time.
type dormantGroup struct {
	groupBase
	seen       bool // an earlier occurrence exists
	lastActive time.Time
}

func (g *dormantGroup) feed(c feedCtx, o occ, _ string) (Detection, bool) {
	r := c.r
	firstActivity := !g.seen
	g.seen = true
	var gap time.Duration
	var lastSeen time.Time
	if !firstActivity {
		lastSeen = g.lastActive
		gap = o.t.Sub(g.lastActive)
	}
	if o.t.After(g.lastActive) {
		g.lastActive = o.t
	}
	switch {
	case !firstActivity && gap >= r.Timespan:
		d := c.detection(&g.groupBase, []occ{o}, gap.Hours()/24)
		d.Summary = summaryPrefix(r, g.vals) + "active again after " + fmtDur(gap) + " unseen (last seen " + lastSeen.UTC().Format(time.RFC3339) + "); threshold " + fmtDur(r.Timespan)
		return d, true
	case firstActivity && r.Learning > 0 && o.t.Sub(c.st.start) >= r.Learning:
		observed := o.t.Sub(c.st.start)
		d := c.detection(&g.groupBase, []occ{o}, observed.Hours()/24)
		d.Summary = summaryPrefix(r, g.vals) + "first activity in " + fmtDur(observed) + " of observed history (learning " + fmtDur(r.Learning) + ")"
		return d, true
	}
	return Detection{}, false
}

func (g *dormantGroup) size() (int, int64) { return 0, 0 }

// checkDormant: the history (default a year) bounds how long an entity is
// remembered, so it must cover the dormancy (the timespan).
func checkDormant(r *Rule) error {
	if len(r.GroupBy) == 0 {
		return fmt.Errorf("dormant needs group-by (the entity)")
	}
	if r.History == 0 {
		r.History = 365 * 24 * time.Hour
	}
	if r.History < r.Timespan {
		return fmt.Errorf("dormant history must be at least the timespan")
	}
	return nil
}
