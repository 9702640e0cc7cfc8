package rules

import (
	"sort"
	"time"

	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
)

// EventTime is the event's time: the contract time, or the RFC 3339 text
// of a time-like field of arbitrary JSON.
func (e OfflineEvent) EventTime() (time.Time, bool) {
	if e.Contract != nil {
		return e.Contract.Time, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, e.Time); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Partition is the state partition of the event: its msp, as the detector
// partitions by the topic key.
func (e OfflineEvent) Partition() string {
	if e.Contract != nil {
		return e.Contract.MSP
	}
	return e.Source.Lookup("msp").Str
}

// Offline evaluates a Bundle on events the way the detector does: plain
// rules per event, correlations with state in event time. Feed it events
// in event-time order (SortByTime).
type Offline struct {
	Bundle  *Bundle
	eval    *correlate.Evaluator
	matched []*engine.Rule
	ids     []string
}

// NewOffline returns an offline evaluator with fresh state.
func NewOffline(b *Bundle, cfg correlate.Config) *Offline {
	return &Offline{Bundle: b, eval: correlate.New(b.Correlations, cfg)}
}

// Evaluator is the stateful part.
func (o *Offline) Evaluator() *correlate.Evaluator { return o.eval }

// Eval evaluates one event. rule is called for each plain rule that
// matched and generates detections of its own (rules that correlations
// reference are silent unless a correlation says `generate: true`); corr
// for each correlation detection. id identifies the event in correlation
// detections.
func (o *Offline) Eval(ev OfflineEvent, id string, rule func(*engine.Rule), corr func(correlate.Detection)) {
	o.matched = o.Bundle.Rules.Match(ev.Source, o.matched[:0])
	cs := o.Bundle.Correlations
	o.ids = o.ids[:0]
	for _, r := range o.matched {
		if cs.Generates(r.Identity()) && rule != nil {
			rule(r)
		}
		o.ids = append(o.ids, r.Identity())
	}
	if cs.Len() == 0 {
		return
	}
	t, ok := ev.EventTime()
	if !ok {
		return
	}
	o.eval.Process(correlate.Event{Partition: ev.Partition(), Time: t, ID: id, Source: ev.Source, Matched: o.ids}, func(d correlate.Detection) {
		if corr != nil && cs.Generates(d.Rule.ID) {
			corr(d)
		}
	})
}

// Flush closes the windows still open at the end of the input.
func (o *Offline) Flush(corr func(correlate.Detection)) {
	cs := o.Bundle.Correlations
	o.eval.Flush(func(d correlate.Detection) {
		if corr != nil && cs.Generates(d.Rule.ID) {
			corr(d)
		}
	})
}

// SortByTime orders events by event time (stable: ties and events without
// a time keep their input order, the latter first).
func SortByTime(evs []OfflineEvent) {
	idx := make([]int, len(evs))
	ts := make([]time.Time, len(evs))
	for i := range evs {
		idx[i] = i
		ts[i], _ = evs[i].EventTime()
	}
	sort.SliceStable(idx, func(a, b int) bool { return ts[idx[a]].Before(ts[idx[b]]) })
	out := make([]OfflineEvent, len(evs))
	for i, j := range idx {
		out[i] = evs[j]
	}
	copy(evs, out)
}
