package correlate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// baselineGroup counts events (or distinct values of the condition field)
// per bucket of one timespan, and fires once per bucket when the count
// exceeds both the condition's floor and the group's own history: a
// multiple of its mean and/or a percentile of its past buckets.
type baselineGroup struct {
	groupBase
	bucket      int64 // the current bucket: event time / timespan
	firstBucket int64
	cur         float64 // the current bucket's count
	fired       bool    // in the current bucket
	hist        []bucketVal
	distinct    map[string]struct{} // the current bucket's values (field mode)
	occs        []occ               // the current bucket's first events, to list
}

// bucketVal is a past bucket's count; buckets without events are absent.
type bucketVal struct {
	b int64
	v float64
}

// newBaselineGroup starts the history at the bucket of the group's first
// occurrence: buckets before it are unknown, not empty.
func newBaselineGroup(r *Rule, b groupBase) *baselineGroup {
	first := b.start.UnixNano() / int64(r.Timespan)
	return &baselineGroup{groupBase: b, bucket: first, firstBucket: first}
}

func (g *baselineGroup) feed(c feedCtx, o occ, v string) (Detection, bool) {
	r := c.r
	b := o.t.UnixNano() / int64(r.Timespan)
	if b < g.bucket {
		g.countLate(r, b)
		return Detection{}, false
	}
	if b > g.bucket {
		g.roll(r, b)
	}
	if len(r.Fields) == 0 {
		g.cur++
	} else {
		if g.distinct == nil {
			g.distinct = map[string]struct{}{}
		}
		if _, dup := g.distinct[v]; !dup {
			g.distinct[v] = struct{}{}
			g.cur++
		}
	}
	if len(g.occs) < c.e.cfg.MaxEventIDs {
		g.occs = append(g.occs, o)
	}
	if g.fired || !r.Cond.Holds(g.cur) || time.Duration(b-g.firstBucket)*r.Timespan < r.Learning {
		return Detection{}, false
	}
	thr, n, how := g.threshold(r, b)
	if n <= 0 || g.cur <= thr {
		return Detection{}, false
	}
	g.fired = true
	d := c.detection(&g.groupBase, g.occs, g.cur)
	start := time.Unix(0, b*int64(r.Timespan)).UTC()
	d.Key = append([]string{"baseline", start.Format(time.RFC3339Nano)}, g.vals...)
	what := "events"
	if len(r.Fields) > 0 {
		what = "distinct " + strings.Join(r.Fields, "+")
	}
	d.Summary = summaryPrefix(r, g.vals) + fmtNum(g.cur) + " " + what + " in the " + fmtDur(r.Timespan) + " from " + start.Format(time.RFC3339) +
		"; baseline over " + fmtDur(time.Duration(n)*r.Timespan) + ": " + how + " = " + fmtNum(thr) + "; minimum " + r.Cond.String() + listNote(d)
	return d, true
}

// countLate counts a late event in its past bucket (event mode; distinct
// values of past buckets are not kept).
func (g *baselineGroup) countLate(r *Rule, b int64) {
	if len(r.Fields) > 0 {
		return
	}
	for i := range g.hist {
		if g.hist[i].b == b {
			g.hist[i].v++
			return
		}
	}
}

// roll closes the current bucket into the history, starts bucket b and
// forgets buckets older than the history.
func (g *baselineGroup) roll(r *Rule, b int64) {
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

// threshold is what bucket b's count must exceed, from the n buckets of
// history before it (n <= 0: none yet), and how it was derived.
func (g *baselineGroup) threshold(r *Rule, b int64) (thr float64, n int64, how string) {
	n = min(int64(r.History/r.Timespan), b-g.firstBucket)
	if n <= 0 {
		return 0, n, ""
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
	var parts []string
	if r.Multiple > 0 {
		thr = r.Multiple * mean
		parts = append(parts, strconv.FormatFloat(r.Multiple, 'f', -1, 64)+"× mean "+fmtNum(mean))
	}
	if r.Percentile > 0 {
		// Buckets without events count as zeros.
		all := make([]float64, int(n)-len(nonzero), int(n))
		all = append(all, nonzero...)
		pv := percentile(all, r.Percentile)
		thr = max(thr, pv)
		parts = append(parts, "p"+fmtNum(r.Percentile)+" "+fmtNum(pv))
	}
	return thr, n, strings.Join(parts, ", ")
}

func (g *baselineGroup) size() (int, int64) {
	return len(g.occs) + len(g.distinct) + len(g.hist),
		int64(len(g.occs))*occBytes + int64(len(g.distinct))*valueBytes + int64(len(g.hist))*bucketBytes
}

// checkBaseline: the threshold is a multiple of the mean (default 3×)
// and/or a percentile of the history's buckets; the condition is the
// floor; learning defaults to a quarter of the history.
func checkBaseline(r *Rule, p params) error {
	if r.History == 0 {
		return fmt.Errorf("baseline needs history (e.g. history: 14d)")
	}
	if r.History < 2*r.Timespan {
		return fmt.Errorf("baseline history must cover at least two buckets")
	}
	m, hasM, err := p.number("multiple")
	if err != nil {
		return err
	}
	pc, hasP, err := p.number("percentile")
	if err != nil {
		return err
	}
	if !hasM && !hasP {
		m, hasM = 3, true
	}
	if hasM {
		r.Multiple = m
	}
	if hasP {
		if pc <= 0 || pc > 100 {
			return fmt.Errorf("percentile must be within 0..100")
		}
		r.Percentile = pc
	}
	if r.Learning == 0 {
		r.Learning = r.History / 4
	}
	return nil
}
