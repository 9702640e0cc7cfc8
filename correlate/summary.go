package correlate

import (
	"strconv"
	"strings"
	"time"
)

// summaryPrefix is "Title [group-by=value, ...]: ".
func summaryPrefix(r *Rule, vals []string) string {
	var b strings.Builder
	b.WriteString(r.Title)
	if len(r.GroupBy) > 0 {
		b.WriteString(" [")
		for i, f := range r.GroupBy {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f)
			b.WriteByte('=')
			b.WriteString(vals[i])
		}
		b.WriteByte(']')
	}
	b.WriteString(": ")
	return b.String()
}

// listNote says when the detection lists only the first of its events.
func listNote(d Detection) string {
	if d.Events > len(d.EventIDs) {
		return "; " + strconv.Itoa(d.Events) + " events, first " + strconv.Itoa(len(d.EventIDs)) + " listed"
	}
	return ""
}

// summary is the analyst's first line: the measured value, the window and
// the threshold, e.g. "12 distinct tenant in 10m; threshold gte 5".
func summary(r *Rule, vals []string, d Detection) string {
	var b strings.Builder
	b.WriteString(summaryPrefix(r, vals))
	field := strings.Join(r.Fields, "+")
	switch r.Kind {
	case EventCount:
		b.WriteString(fmtNum(d.Value) + " events in " + fmtDur(r.Timespan))
	case ValueCount:
		b.WriteString(fmtNum(d.Value) + " distinct " + field + " in " + fmtDur(r.Timespan))
	case ValueSum:
		b.WriteString("sum of " + field + " " + fmtNum(d.Value) + " in " + fmtDur(r.Timespan))
	case ValueAvg:
		b.WriteString("average " + field + " " + fmtNum(d.Value) + " over " + strconv.Itoa(d.Events) + " events in " + fmtDur(r.Timespan))
	case ValuePercentile:
		b.WriteString("p" + fmtNum(r.Percentile) + " of " + field + " " + fmtNum(d.Value) + " over " + strconv.Itoa(d.Events) + " events in " + fmtDur(r.Timespan))
	case Temporal:
		b.WriteString(fmtNum(d.Value) + " of " + strconv.Itoa(len(r.Refs)) + " rules (" + strings.Join(r.Sigma.Rules, ", ") + ") within " + fmtDur(r.Timespan))
	case TemporalOrdered:
		b.WriteString(strings.Join(r.Sigma.Rules, " then ") + " within " + fmtDur(r.Timespan) + " (took " + fmtDur(d.Last.Sub(d.First)) + ")")
	}
	if len(r.Cond.Ops) > 0 {
		b.WriteString("; threshold " + r.Cond.String())
	}
	b.WriteString(listNote(d))
	return b.String()
}

func fmtNum(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// fmtDur prints a duration in the largest whole Sigma unit: 90d, 10m, 36h.
func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	day := 24 * time.Hour
	switch {
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d >= day:
		return strconv.FormatFloat(float64(d)/float64(day), 'f', 1, 64) + "d"
	case d >= time.Hour:
		return strconv.FormatFloat(float64(d)/float64(time.Hour), 'f', 1, 64) + "h"
	case d >= time.Minute:
		return strconv.FormatFloat(float64(d)/float64(time.Minute), 'f', 1, 64) + "m"
	}
	return d.Round(time.Second).String()
}
