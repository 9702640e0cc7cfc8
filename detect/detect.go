package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/watermark"
)

// Snapshots serves the snapshot of rules in use; *rules.Manager implements
// it (and swaps whole snapshots on reload).
type Snapshots interface {
	Snapshot() *detection.Snapshot
}

// DetectionStore receives detections; *store.Store implements it.
type DetectionStore interface {
	InsertDetections(ctx context.Context, ds []record.Detection) error
}

// Producer writes dead letters; *kafka.Writer implements it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Handler is the detector's batch handler: it decodes the normalised
// events, runs them through the detection core, advances the core's
// watermarks from ingest's progress markers, and stores the detections.
type Handler struct {
	Decoder  contract.Decoder
	Rules    Snapshots
	Store    DetectionStore
	Producer Producer
	DLQTopic string
	// MaxMessageBytes is the largest message Producer sends (its
	// BatchBytes); a dead letter above it is written in reduced form
	// (deadletter.Fit) rather than failing the batch on every retry. 0
	// means Kafka's default topic limit.
	MaxMessageBytes int
	Log             zerolog.Logger
	// Now is the wall clock (idle timeouts, detected_at); nil means
	// time.Now.
	Now func() time.Time

	// Core tunes the detection core (correlation bounds, held events).
	Core detection.Config
	// Watermark turns progress markers into watermarks (lateness, idle
	// timeout).
	Watermark watermark.Merger
	// State, when set, persists each msp's correlation frontier and
	// rebuilds correlation state from stored events after a restart or
	// rebalance. Without it a detector starts with empty state.
	State StateStore
	// MaxReplay caps the history one rebuild reads (DefaultMaxReplay).
	MaxReplay time.Duration
	// Group is the consumer group: frontiers are the group's own.
	Group string
	// Partitions is the partition count of the normalised topic: a
	// rebuild restores the msps whose key maps to a partition the handler
	// reads (see PartitionOf). Zero disables rebuilds.
	Partitions int

	// Alerts, when set, receives the alerts and incidents the detections
	// form (docs/alerts.md); nil disables alerting.
	Alerts AlertStore
	// AlertTopic receives a message per alert change (tripline.alerts);
	// empty writes none.
	AlertTopic string
	// Silences serves the silences in force; nil (or a nil Set) silences
	// nothing.
	Silences func() *silence.Set

	// Matched, when set, counts detections by rule.
	Matched func(ruleID string)
	// Undecodable, when set, counts messages that could not be decoded.
	Undecodable func()
	// Rebuilt, when set, observes each state rebuild.
	Rebuilt func(events int, took time.Duration, err error)
	// AlertMessages, when set, counts messages written to AlertTopic.
	AlertMessages func(kind string, silenced bool)

	pending *pendingBatch
	core    *detection.Core
	grouper *alert.Grouper
	parts   map[int]*partitionState
	saved   map[string]detection.Key
}

// partitionState is what the handler knows of one partition of the
// normalised topic.
type partitionState struct {
	adopted bool                  // its msps' state is rebuilt (see adopt)
	next    int64                 // next expected offset (-1: none yet)
	msps    map[string]bool       // msps seen on it (the topic is keyed by msp)
	last    detection.Coordinates // the last message read (releases are attributed to it)
}

type pendingBatch struct {
	first, last kafka.Message
	size        int
	detections  []record.Detection
	frontiers   []record.Frontier
	dead        []kafka.Message
	alerts      alertBatch
	storeDone   bool
	savedDone   bool
	deadDone    bool

	alertsDone, incidentsDone, messagesDone bool
}

// HandleBatch implements kafkaio.BatchHandler.
func (h *Handler) HandleBatch(ctx context.Context, batch []kafka.Message) error {
	if len(batch) == 0 {
		return nil
	}
	p := h.pending
	if p == nil || p.size != len(batch) || !same(p.first, batch[0]) || !same(p.last, batch[len(batch)-1]) {
		// Evaluating a batch again after a failure is safe: plain rules
		// yield the same IDs, and the core recognises events it holds or
		// has released.
		var err error
		if p, err = h.evaluate(ctx, batch); err != nil {
			return err
		}
		h.pending = p
	}
	if !p.storeDone && len(p.detections) > 0 {
		if err := h.Store.InsertDetections(ctx, p.detections); err != nil {
			return fmt.Errorf("store %d detections: %w", len(p.detections), err)
		}
	}
	p.storeDone = true
	if h.alerting() {
		if err := h.storeAlerts(ctx, p); err != nil {
			return err
		}
	}
	// Frontiers only after the detections (and alerts) they vouch for.
	if !p.savedDone && len(p.frontiers) > 0 && h.State != nil {
		if err := h.State.SaveFrontiers(ctx, h.Group, p.frontiers); err != nil {
			return fmt.Errorf("save correlation frontiers: %w", err)
		}
		for _, f := range p.frontiers {
			h.saved[f.MSP] = detection.Key{Time: f.Time, ID: f.EventID}
		}
	}
	p.savedDone = true
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

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) init() {
	if h.parts == nil {
		h.parts = map[int]*partitionState{}
		h.saved = map[string]detection.Key{}
	}
	snap := h.Rules.Snapshot()
	if h.core == nil {
		cfg := h.Core
		if h.alerting() {
			h.grouper = alert.NewGrouper(alert.Config{Now: h.now, Hold: snap.AlertHold()})
			cfg.Replayed = h.regroup
		}
		h.core = detection.New(snap, cfg)
	} else {
		h.core.Swap(snap)
	}
}

func (h *Handler) evaluate(ctx context.Context, batch []kafka.Message) (*pendingBatch, error) {
	h.init()
	p := &pendingBatch{first: batch[0], last: batch[len(batch)-1], size: len(batch)}
	now := h.now()
	detectedAt := now.UTC()
	// cause locates the message a detection is attributed to: the event,
	// or for releases the partition's last message read.
	var cause detection.Coordinates
	// in is the core's input, one for the batch: what the core keeps of
	// an event it copies (Emit's pointers are valid during the call only).
	var in detection.Event
	emit := func(r detection.Result) {
		d := r.Record(detectedAt, cause)
		h.group(p, &d, r)
		p.detections = append(p.detections, d)
	}
	for i := range batch {
		m := &batch[i]
		cause = detection.Coordinates{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
		ps := h.partition(m.Partition)
		if ps.next >= 0 && m.Offset > ps.next {
			// Skipped ahead: the partition was away after a rebalance and
			// another detector consumed the gap (and recorded frontiers);
			// rebuild its msps from storage.
			ps.adopted = false
		}
		if !ps.adopted {
			if err := h.adopt(ctx, m.Partition, ps, emit); err != nil {
				return nil, err
			}
		}
		ps.next = m.Offset + 1
		ps.last = cause
		h.Watermark.Read(m.Partition, now)
		switch watermark.Control(m) {
		case "":
		case watermark.KindProgress:
			pr, err := watermark.Parse(m.Value)
			if err != nil {
				h.deadLetter(p, m, err, detectedAt)
				continue
			}
			h.Watermark.Observe(m.Partition, pr, now)
			continue
		default:
			continue // a control message of a newer version: not ours to judge
		}
		// The message's bytes become the event's (DecodeOwned): kafka-go
		// gives every fetched message a value of its own, and nothing
		// writes to it after the fetch.
		ev, err := h.Decoder.DecodeOwned(m.Value)
		if err != nil {
			// Only a foreign producer on tripline.events gets here; keep the
			// message rather than stall the partition.
			h.deadLetter(p, m, err, detectedAt)
			continue
		}
		// An msp new to the group builds its state from what Kafka
		// delivers; frontiers records it as started, so a rebuild replays
		// its stored events.
		ps.msps[ev.MSP] = true
		in = detection.ContractEvent(ev)
		h.core.Process(&in, emit)
	}
	// Release what the watermarks now cover, on every partition: time
	// passes for idle ones too.
	for part, ps := range h.parts {
		wm, ok := h.Watermark.Watermark(part, now)
		if !ok {
			continue
		}
		cause = ps.last
		for msp := range ps.msps {
			h.core.Advance(msp, wm, emit)
			if h.grouper != nil {
				p.alerts.add(h.grouper.Advance(msp, wm))
			}
		}
	}
	var silences *silence.Set
	if h.Silences != nil {
		silences = h.Silences()
	}
	p.alerts.silence(silences, now, p.detections)
	p.frontiers = h.frontiers()
	return p, nil
}

func (h *Handler) partition(n int) *partitionState {
	ps := h.parts[n]
	if ps == nil {
		ps = &partitionState{next: -1, msps: map[string]bool{}}
		h.parts[n] = ps
	}
	return ps
}

func (h *Handler) deadLetter(p *pendingBatch, m *kafka.Message, err error, at time.Time) {
	if h.Undecodable != nil {
		h.Undecodable()
	}
	p.dead = append(p.dead, h.fit(deadletter.New(h.DLQTopic, m, err, at)))
}

// frontiers lists the msps whose frontier moved since it was last saved.
func (h *Handler) frontiers() []record.Frontier {
	if h.State == nil {
		return nil
	}
	var out []record.Frontier
	for _, ps := range h.parts {
		for msp := range ps.msps {
			f := h.core.Frontier(msp)
			if f.IsZero() {
				f = detection.Key{Time: startedAt}
			}
			if f == h.saved[msp] {
				continue
			}
			out = append(out, record.Frontier{MSP: msp, Time: f.Time, EventID: f.ID})
		}
	}
	return out
}

// Stats reports the core's buffers and correlation state.
func (h *Handler) Stats() detection.Stats {
	if h.core == nil {
		return detection.Stats{}
	}
	return h.core.Stats()
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
