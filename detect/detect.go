package detect

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
)

// DetectionNamespace is the UUIDv5 namespace of detection IDs. Changing it
// changes every ID and breaks replay deduplication: never do.
var DetectionNamespace = uuid.MustParse("0d3e5b7c-8f21-5a9e-b4c6-747269706c64")

// Matcher appends to dst the rules that match ev. Implementations swap rule
// sets atomically (hot reload), so one event sees one consistent set;
// *rules.Manager and *engine.RuleSet implement it.
type Matcher interface {
	Match(ev fields.Source, dst []*engine.Rule) []*engine.Rule
}

// DetectionStore receives detections; *store.Store implements it.
type DetectionStore interface {
	InsertDetections(ctx context.Context, ds []record.Detection) error
}

// Producer writes dead letters; *kafka.Writer implements it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Handler is the detector's batch handler.
type Handler struct {
	Decoder  contract.Decoder
	Rules    Matcher
	Store    DetectionStore
	Producer Producer
	DLQTopic string
	// MaxMessageBytes is the largest message Producer sends (its
	// BatchBytes); a dead letter above it is written in reduced form
	// (deadletter.Fit) rather than failing the batch on every retry. 0
	// means Kafka's default topic limit.
	MaxMessageBytes int
	Log             zerolog.Logger
	Now             func() time.Time
	// Matched, when set, counts detections by rule.
	Matched func(ruleID string)
	// Undecodable, when set, counts events that could not be decoded.
	Undecodable func()

	// Correlations, when set, are run on every event with the matches of
	// Rules (see stateful.go); Run sets it when Rules implements
	// CorrelationSource. History, when set, rebuilds their state.
	Correlations      CorrelationSource
	CorrelationConfig correlate.Config
	History           HistoryReader
	// MaxReplay caps the history one rebuild reads (DefaultMaxReplay).
	MaxReplay time.Duration
	// Rebuilt, when set, observes each rebuild.
	Rebuilt func(events int, took time.Duration, err error)

	pending *pendingBatch
	matched []*engine.Rule
	st      *stateful
}

type pendingBatch struct {
	first, last kafka.Message
	size        int
	detections  []record.Detection
	dead        []kafka.Message
	storeDone   bool
	deadDone    bool
}

// HandleBatch implements kafkaio.BatchHandler.
func (h *Handler) HandleBatch(ctx context.Context, batch []kafka.Message) error {
	if len(batch) == 0 {
		return nil
	}
	p := h.pending
	if p == nil || p.size != len(batch) || !same(p.first, batch[0]) || !same(p.last, batch[len(batch)-1]) {
		p = h.evaluate(ctx, batch)
		h.pending = p
	}
	if !p.storeDone && len(p.detections) > 0 {
		if err := h.Store.InsertDetections(ctx, p.detections); err != nil {
			return fmt.Errorf("store %d detections: %w", len(p.detections), err)
		}
	}
	p.storeDone = true
	if !p.deadDone && len(p.dead) > 0 {
		if err := h.Producer.WriteMessages(ctx, p.dead...); err != nil {
			return fmt.Errorf("write %s: %w", h.DLQTopic, kafkaio.SummariseWriteError(err))
		}
	}
	p.deadDone = true
	h.pending = nil
	if h.Matched != nil {
		for i := range p.detections {
			h.Matched(p.detections[i].RuleID)
		}
	}
	return nil
}

func same(a, b kafka.Message) bool {
	return a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset
}

func (h *Handler) evaluate(ctx context.Context, batch []kafka.Message) *pendingBatch {
	p := &pendingBatch{first: batch[0], last: batch[len(batch)-1], size: len(batch)}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	detectedAt := now().UTC()
	set := h.correlations()
	for i := range batch {
		m := &batch[i]
		ev, err := h.Decoder.Decode(m.Value)
		if err != nil {
			// Only a foreign producer on tripline.events gets here; keep the
			// message rather than stall the partition.
			if h.Undecodable != nil {
				h.Undecodable()
			}
			p.dead = append(p.dead, h.fit(deadletter.New(h.DLQTopic, m, err, detectedAt)))
			continue
		}
		h.matched = h.Rules.Match(&ev, h.matched[:0])
		for _, r := range h.matched {
			// Rules that correlations read are silent unless one says
			// `generate: true` (Sigma's default).
			if set.Generates(r.Identity()) {
				p.detections = append(p.detections, NewDetection(r, &ev, m, detectedAt))
			}
		}
		if set.Len() > 0 {
			h.correlate(ctx, set, &ev, m, h.matched, p, detectedAt)
		}
	}
	return p
}

// NewDetection builds the detection of one rule on one event.
func NewDetection(r *engine.Rule, ev *contract.Event, m *kafka.Message, at time.Time) record.Detection {
	return record.Detection{
		DetectionID: DetectionID(r.Identity(), ev.EventID),
		RuleID:      r.Identity(),
		RuleTitle:   r.Title,
		Level:       r.Level,
		Tags:        r.Tags,
		MSP:         ev.MSP,
		Tenant:      ev.Tenant,
		ActorUser:   ev.Actor.User,
		FirstTime:   ev.Time,
		LastTime:    ev.Time,
		EventIDs:    []string{ev.EventID},
		Summary:     Summary(r, ev),
		DetectedAt:  at,
		Topic:       m.Topic,
		Partition:   m.Partition,
		Offset:      m.Offset,
	}
}

// DetectionID is deterministic in the rule and the events that formed the
// detection (order-independent for multi-event detections).
func DetectionID(ruleID string, eventIDs ...string) string {
	var b strings.Builder
	b.WriteString(ruleID)
	for _, id := range sortedCopy(eventIDs) {
		b.WriteByte(0)
		b.WriteString(id)
	}
	return uuid.NewSHA1(DetectionNamespace, []byte(b.String())).String()
}

func sortedCopy(ids []string) []string {
	if len(ids) < 2 {
		return ids
	}
	out := append([]string(nil), ids...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Summary is the one line an analyst reads first.
func Summary(r *engine.Rule, ev *contract.Event) string {
	var b strings.Builder
	b.WriteString(r.Title)
	b.WriteString(": ")
	b.WriteString(ev.EventType)
	if ev.Actor.User != "" {
		b.WriteString(" by ")
		b.WriteString(ev.Actor.User)
	}
	if ev.Tenant != "" {
		b.WriteString(" at ")
		b.WriteString(ev.Tenant)
	}
	b.WriteString(" via ")
	b.WriteString(ev.Tool)
	if ev.Actor.Country != "" || ev.Actor.IP != "" {
		b.WriteString(" from ")
		b.WriteString(strings.TrimSpace(ev.Actor.IP + " " + ev.Actor.Country))
	}
	switch {
	case ev.Package.Name != "":
		b.WriteString("; package ")
		b.WriteString(ev.Package.Name)
		if ev.Package.Version != "" {
			b.WriteString(" " + ev.Package.Version)
		}
	case ev.Script.Name != "":
		b.WriteString("; script ")
		b.WriteString(ev.Script.Name)
	}
	if ev.Target.HostCount != nil {
		b.WriteString("; ")
		b.WriteString(strconv.FormatInt(*ev.Target.HostCount, 10))
		b.WriteString(" hosts")
	}
	return b.String()
}

// fit reduces a dead letter too big for the writer (deadletter.Fit): a
// foreign message near the events topic's limit plus the dead-letter
// headers may not fit the dead-letter topic.
func (h *Handler) fit(dl kafka.Message) kafka.Message {
	limit := h.MaxMessageBytes
	if limit <= 0 {
		limit = kafkaio.WriterBatchBytes(kafkaio.DefaultBrokerMaxMessageBytes)
	}
	out := deadletter.Fit(dl, limit)
	if deadletter.Header(out, deadletter.HeaderReduced) != "" {
		h.Log.Warn().Str("topic", deadletter.Header(dl, deadletter.HeaderSourceTopic)).Str("partition", deadletter.Header(dl, deadletter.HeaderSourcePartition)).
			Str("offset", deadletter.Header(dl, deadletter.HeaderSourceOffset)).Int("bytes", len(dl.Value)).
			Msg("dead letter too big for the dead-letter topic; writing its reduced form (hash, size, prefix)")
	}
	return out
}
