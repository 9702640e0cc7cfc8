package detect

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/record"
)

// CorrelationSource serves the current correlations; *rules.Manager
// implements it. When Handler.Rules implements it, the handler runs the
// correlations too.
type CorrelationSource interface {
	Correlations() *correlate.Set
}

// HistoryReader replays stored events; *store.Store implements it. The
// handler uses it to rebuild correlation state.
type HistoryReader interface {
	ReplayEvents(ctx context.Context, msp string, from, to time.Time, fn func(doc []byte) error) error
}

// DefaultMaxReplay caps how much history a rebuild reads (anomaly
// histories longer than this start over from what it covers).
const DefaultMaxReplay = 30 * 24 * time.Hour

// stateful is the correlation part of a Handler: one evaluator per
// detector process, its state partitioned by msp (the topic key, so a
// consumer-group member holds the state of its own partitions only).
//
// Rebuild: the first time the handler sees an msp (at start, after a
// rebalance hands it a new partition, or after a partition was rewound),
// it replays that msp's stored events from the events table, from the
// event's time minus the longest correlation window (capped by MaxReplay)
// up to the event's time, with detections suppressed: those events were
// evaluated, and their detections stored, before the offsets were
// committed. Detection IDs are deterministic, so the rebuilt state yields
// the same detections a process that never stopped would have.
type stateful struct {
	eval *correlate.Evaluator
	// ready marks msps whose state is built.
	ready map[string]bool
	// next is the next expected offset per topic partition; any other one
	// means the partition was rewound or left and came back, and its msps
	// are rebuilt.
	next map[partKey]int64
	// msps seen per topic partition.
	msps map[partKey]map[string]bool
	ids  []string
}

type partKey struct {
	topic     string
	partition int
}

func (h *Handler) correlations() *correlate.Set {
	if h.Correlations == nil {
		return nil
	}
	return h.Correlations.Correlations()
}

// CorrelationStats reports the size of the correlation state (zero when
// correlations are off).
func (h *Handler) CorrelationStats() correlate.Stats {
	if h.st == nil {
		return correlate.Stats{}
	}
	return h.st.eval.Stats()
}

// correlate feeds one decoded event (and the rules it matched) to the
// evaluator and appends the correlation detections to p.
func (h *Handler) correlate(ctx context.Context, set *correlate.Set, ev *contract.Event, m *kafka.Message, matched []*engine.Rule, p *pendingBatch, at time.Time) {
	if h.st == nil {
		h.st = &stateful{
			eval:  correlate.New(set, h.CorrelationConfig),
			ready: map[string]bool{},
			next:  map[partKey]int64{},
			msps:  map[partKey]map[string]bool{},
		}
	}
	st := h.st
	st.eval.SetRules(set)
	pk := partKey{m.Topic, m.Partition}
	if next, seen := st.next[pk]; seen && m.Offset != next {
		// Rewound (a failed batch re-fetched with other bounds: the state
		// already holds these events) or skipped ahead (the partition was
		// away after a rebalance and another worker consumed the gap):
		// rebuild the state of its msps from storage instead.
		for msp := range st.msps[pk] {
			st.eval.Reset(msp)
			delete(st.ready, msp)
		}
	}
	st.next[pk] = m.Offset + 1
	if st.msps[pk] == nil {
		st.msps[pk] = map[string]bool{}
	}
	st.msps[pk][ev.MSP] = true
	if !st.ready[ev.MSP] {
		st.ready[ev.MSP] = true
		h.rebuild(ctx, set, ev.MSP, ev.Time)
	}
	st.ids = st.ids[:0]
	for _, r := range matched {
		st.ids = append(st.ids, r.Identity())
	}
	st.eval.Process(correlate.Event{Partition: ev.MSP, Time: ev.Time, ID: ev.EventID, Source: ev, Matched: st.ids}, func(d correlate.Detection) {
		p.detections = append(p.detections, CorrelationDetection(d, m, at))
	})
}

// rebuild replays msp's stored history before `before` into the evaluator.
func (h *Handler) rebuild(ctx context.Context, set *correlate.Set, msp string, before time.Time) {
	if h.History == nil || set.Horizon() == 0 {
		return
	}
	window := set.Horizon()
	maxReplay := h.MaxReplay
	if maxReplay <= 0 {
		maxReplay = DefaultMaxReplay
	}
	window = min(window, maxReplay)
	start := time.Now()
	rs := h.Rules
	var matched []*engine.Rule
	var ids []string
	n := 0
	from := before.Add(-window)
	err := h.History.ReplayEvents(ctx, msp, from, before, func(doc []byte) error {
		ev, err := h.Decoder.Decode(doc)
		if err != nil {
			return nil // stored rows were valid when ingested; skip the odd one
		}
		if ev.Time.Before(from) || !ev.Time.Before(before) {
			return nil // the store's range is approximate at its precision
		}
		matched = rs.Match(&ev, matched[:0])
		ids = ids[:0]
		for _, r := range matched {
			ids = append(ids, r.Identity())
		}
		n++
		h.st.eval.Process(correlate.Event{Partition: ev.MSP, Time: ev.Time, ID: ev.EventID, Source: &ev, Matched: ids}, func(correlate.Detection) {})
		return nil
	})
	if h.Rebuilt != nil {
		h.Rebuilt(n, time.Since(start), err)
	}
	if err != nil {
		// Run on with partial state rather than stall the partition; the
		// error is logged and counted.
		h.Log.Error().Err(err).Str("msp", msp).Int("events", n).Msg("correlation state rebuild failed; continuing with partial state")
		return
	}
	h.Log.Info().Str("msp", msp).Int("events", n).Dur("window", window).Dur("took", time.Since(start)).Msg("correlation state rebuilt")
}

// CorrelationDetection builds the stored detection of a correlation. Its
// ID derives from the correlation's identity and d.Key: the sorted IDs of
// every event that formed it (also those beyond the listed 100), or, for
// windows evaluated when they close and baseline buckets, the group and
// window start. Both are reproduced exactly by a replay of the same
// events.
func CorrelationDetection(d correlate.Detection, m *kafka.Message, at time.Time) record.Detection {
	out := record.Detection{
		DetectionID: DetectionID(d.Rule.ID, d.Key...),
		RuleID:      d.Rule.ID,
		RuleTitle:   d.Rule.Title,
		Level:       d.Rule.Level,
		Tags:        d.Rule.Tags,
		MSP:         d.Partition,
		FirstTime:   d.First,
		LastTime:    d.Last,
		EventIDs:    d.EventIDs,
		Summary:     d.Summary,
		DetectedAt:  at,
		Topic:       m.Topic,
		Partition:   m.Partition,
		Offset:      m.Offset,
	}
	if out.EventIDs == nil {
		out.EventIDs = []string{}
	}
	if d.Source != nil {
		out.Tenant = d.Source.Lookup("tenant").Str
		out.ActorUser = d.Source.Lookup("actor.user").Str
	}
	return out
}
