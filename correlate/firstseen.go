package correlate

import (
	"strings"
	"time"
)

// firstSeenGroup fires on a value of the condition field not seen in the
// group within the history (the timespan), once the group is past its
// learning period.
type firstSeenGroup struct {
	groupBase
	// lastSeen is when each value was last seen; nil until the first
	// event that has the field.
	lastSeen map[string]time.Time
}

func (g *firstSeenGroup) feed(c feedCtx, o occ, v string) (Detection, bool) {
	r := c.r
	if g.lastSeen == nil {
		g.lastSeen = map[string]time.Time{}
	}
	prev, known := g.lastSeen[v]
	isNew := !known || o.t.Sub(prev) > r.History
	if !known || o.t.After(prev) {
		if known || len(g.lastSeen) < c.e.cfg.MaxEntriesPerGroup {
			g.lastSeen[v] = o.t
		}
	}
	if !isNew || o.t.Sub(g.start) < r.Learning {
		return Detection{}, false
	}
	d := c.detection(&g.groupBase, []occ{o}, float64(len(g.lastSeen)))
	d.Summary = g.summary(r, v, known, prev)
	return d, true
}

func (g *firstSeenGroup) summary(r *Rule, v string, known bool, prev time.Time) string {
	s := summaryPrefix(r, g.vals) + "first " + strings.Join(r.Fields, "+") + "=" + v
	if known {
		s += " since " + prev.UTC().Format(time.RFC3339) + " (outside the " + fmtDur(r.History) + " history)"
	} else {
		s += " in " + fmtDur(r.History) + " of history"
	}
	if r.Learning > 0 {
		s += " (learning " + fmtDur(r.Learning) + ")"
	}
	return s
}

// expired forgets values older than the history; the group goes with its
// last value. Groups are never muted, so that is all that bounds them.
func (g *firstSeenGroup) expired(r *Rule, wm time.Time) bool {
	if g.lastSeen == nil {
		return g.groupBase.expired(r, wm)
	}
	for v, t := range g.lastSeen {
		if wm.Sub(t) > r.History {
			delete(g.lastSeen, v)
		}
	}
	return len(g.lastSeen) == 0
}

func (g *firstSeenGroup) size() (int, int64) {
	return len(g.lastSeen), int64(len(g.lastSeen)) * valueBytes
}

// checkFirstSeen: the timespan is the history a value is remembered for.
func checkFirstSeen(r *Rule) error {
	if err := needField(r); err != nil {
		return err
	}
	r.History = r.Timespan
	return nil
}
