package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
)

// EventStore receives normalised events; *store.Store implements it.
// InsertEvents must not keep rows or their events once it returns: the
// handler reuses them for its next batch.
type EventStore interface {
	InsertEvents(ctx context.Context, rows []record.Event) error
}

// Producer writes messages and returns once they are acknowledged;
// *kafka.Writer implements it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Hooks observe what the handler does; nil fields are skipped.
type Hooks struct {
	Consumed     func(topic string, n int)
	Stored       func(n int)
	DeadLettered func(reason contract.Reason)
	// Skipped counts vendor records their adapter skips (by format).
	Skipped func(format string)
}

// Enricher derives an event's context.* fields; *registry.Watcher
// implements it from the MSP relationship registry.
type Enricher interface {
	Context(ev *contract.Event) *contract.Context
}

// Resolver is implemented by an Enricher that maps vendor IDs (the client
// IDs adapters put in tenant, an Entra sign-in's app) to the registry's
// tenants and tools; ingest calls it before Context.
type Resolver interface {
	Resolve(ev *contract.Event) bool
}

// Handler is the ingest batch handler.
type Handler struct {
	Decoder contract.Decoder
	// Enricher, when set, fills every event's Context. Whatever "context"
	// a producer sent is discarded in any case: context comes from the
	// registry only.
	Enricher Enricher
	// TopicFormats maps raw topics whose messages are all in one vendor
	// format (formats.go); message headers win over it.
	TopicFormats map[string]TopicFormat
	// Formats are the vendor formats ingest reads: the built-in adapters
	// and the mapping files (--mapping); nil means the built-in ones.
	Formats     adapt.FormatSet
	Store       EventStore
	Producer    Producer
	EventsTopic string
	// EventsEncoding is how events are written to EventsTopic; empty means
	// JSON (the worker, Config, defaults to binary).
	EventsEncoding contract.Encoding
	DLQTopic       string
	Hooks          Hooks
	// MaxMessageBytes is the largest message Producer will send (its
	// BatchBytes; kafkaio.WriterBatchBytes of the topics' max.message.bytes).
	// Bigger normalised events and dead letters are dead-lettered, reduced
	// if need be, instead of failing the batch forever. 0 means Kafka's
	// default topic limit.
	MaxMessageBytes int
	// Progress, when set, writes a progress marker after every batch
	// (see package watermark).
	Progress *Progress
	Log      zerolog.Logger
	// Now stamps dead letters; nil means time.Now.
	Now func() time.Time

	// pending remembers, across retries of the same batch, which writes are
	// already acknowledged, so a retry after a partial failure does not
	// write the dead letters (which nothing deduplicates) twice.
	pending *prepared
	// spare keeps a written batch's events and rows for the next batch
	// (see recycle).
	spare struct {
		events []contract.Event
		rows   []record.Event
	}
}

// prepared is one batch decoded, with the progress of its three writes.
type prepared struct {
	first, last          kafka.Message
	size                 int
	rows                 []record.Event
	normalised           []kafka.Message
	dead                 []kafka.Message
	storedDone, normDone bool
	// maxTimes is the newest event time per source partition among the
	// forwarded events, for the progress marker written after them.
	maxTimes map[sourceKey]time.Time
	// events backs rows' events (see event).
	events   []contract.Event
	markDone bool
	deadDone bool
}

// event returns where the next event is decoded: the next free element of
// a slab of the batch, which keep takes once the event is accepted (a
// rejected one's element is reused). One allocation per batch instead of
// one per event (a new Event was 2 % of ingest's CPU in make bench-e2e);
// the events live exactly as long as the batch's rows. The first slab has
// room for one event per message; a vendor page of several events gets
// further slabs, and the events already handed out stay where they are.
func (p *prepared) event() *contract.Event {
	if len(p.events) == cap(p.events) {
		p.events = make([]contract.Event, 0, max(p.size, 256))
	}
	return &p.events[:len(p.events)+1][len(p.events)]
}

// keep marks the element event returned last as taken.
func (p *prepared) keep() { p.events = p.events[:len(p.events)+1] }

func (p *prepared) same(batch []kafka.Message) bool {
	return p != nil && p.size == len(batch) && sameCoords(p.first, batch[0]) && sameCoords(p.last, batch[len(batch)-1])
}

func sameCoords(a, b kafka.Message) bool {
	return a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset
}

// HandleBatch implements kafkaio.BatchHandler.
func (h *Handler) HandleBatch(ctx context.Context, batch []kafka.Message) error {
	if len(batch) == 0 {
		return nil
	}
	if !h.pending.same(batch) {
		h.pending = h.prepare(batch)
	}
	p := h.pending

	// ClickHouse and the dead-letter topic are independent: write them at
	// once. The normalised events go to tripline.events only once
	// ClickHouse holds them, so an event a detector has read is always in
	// the events table when the detector rebuilds correlation state from
	// it after a crash (see detect's restore).
	var wg sync.WaitGroup
	var storeErr, normErr, deadErr error
	if !p.storedDone && len(p.rows) > 0 {
		wg.Go(func() {
			if storeErr = h.Store.InsertEvents(ctx, p.rows); storeErr == nil {
				p.storedDone = true
			}
		})
	}
	if !p.deadDone && len(p.dead) > 0 {
		wg.Go(func() {
			if deadErr = h.Producer.WriteMessages(ctx, p.dead...); deadErr == nil {
				p.deadDone = true
			} else {
				deadErr = fmt.Errorf("write %s: %w", h.DLQTopic, kafkaio.SummariseWriteError(deadErr))
			}
		})
	}
	wg.Wait()
	if storeErr == nil && !p.normDone && len(p.normalised) > 0 {
		if normErr = h.Producer.WriteMessages(ctx, p.normalised...); normErr == nil {
			p.normDone = true
		} else {
			normErr = fmt.Errorf("write %s: %w", h.EventsTopic, kafkaio.SummariseWriteError(normErr))
		}
	}
	if err := errors.Join(storeErr, normErr, deadErr); err != nil {
		return err
	}
	if h.Progress != nil && !p.markDone {
		if err := h.Progress.afterBatch(ctx, p.maxTimes); err != nil {
			return err
		}
		p.markDone = true
	}
	h.pending = nil
	if h.Hooks.Stored != nil {
		h.Hooks.Stored(len(p.rows))
	}
	if h.Hooks.DeadLettered != nil {
		for _, m := range p.dead {
			h.Hooks.DeadLettered(contract.Reason(deadletter.Header(m, deadletter.HeaderReason)))
		}
	}
	h.recycle(p)
	return nil
}

// recycle keeps the events slab and the rows of p, a batch written and
// done with (nothing it was handed to keeps them), for the next batch,
// cleared so they pin none of its messages. A new slab each batch was
// fresh memory from the kernel, faulted in page by page as events were
// decoded into it (9 % of ingest's CPU in make bench-e2e, at its first
// write); the kept one stays resident. It holds one batch's events,
// about 9 MB for 20,000.
func (h *Handler) recycle(p *prepared) {
	clear(p.events[:cap(p.events)])
	clear(p.rows)
	h.spare.events, h.spare.rows = p.events[:0], p.rows[:0]
	p.events, p.rows = nil, nil
}

func (h *Handler) prepare(batch []kafka.Message) *prepared {
	events, rows := h.spare.events, h.spare.rows
	h.spare.events, h.spare.rows = nil, nil
	if cap(events) < len(batch) {
		events = nil // event makes a slab of the batch's size
	}
	p := &prepared{
		first: batch[0], last: batch[len(batch)-1], size: len(batch),
		rows:       slices.Grow(rows, len(batch)),
		normalised: make([]kafka.Message, 0, len(batch)),
		maxTimes:   map[sourceKey]time.Time{},
		events:     events,
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	dec := h.Decoder
	dec.DiscardContext = true // producers cannot spoof context.* (nor change IDs with it)
	// A contract event's strings may point into its message: kafka-go
	// gives each fetched message a value of its own, which nothing writes
	// to, and the event lives no longer than its batch.
	own := dec
	own.AliasInput = true
	for i := range batch {
		m := &batch[i]
		if h.Hooks.Consumed != nil {
			h.Hooks.Consumed(m.Topic, 1)
		}
		format, msp := h.source(m)
		if format != "" {
			h.prepareVendor(p, m, format, msp, &dec, now)
			continue
		}
		h.accept(p, m, m.Value, msp, &own, now)
	}
	return p
}

// accept decodes and normalises one contract v1 event of message m (the
// message's value, or an event an adapter made of one of its records),
// and queues it for storage and forwarding, or m for the dead-letter
// topic.
//
// msp, when set (the tripline-msp header of a producer bound to one MSP,
// such as tripline receive), is the only msp the event may name.
func (h *Handler) accept(p *prepared, m *kafka.Message, raw []byte, msp string, dec *contract.Decoder, now func() time.Time) {
	// The binary encoding is made from the event: the JSON document is
	// built only when it is what gets written (or to derive an ID).
	jsonDoc := h.EventsEncoding != contract.EncodingBinary
	ev := p.event()
	var doc []byte
	var err error
	if jsonDoc {
		doc, err = dec.DecodeNormalisedInto(ev, raw)
	} else {
		err = dec.DecodeInto(ev, raw)
	}
	if err == nil && msp != "" && !strings.EqualFold(ev.MSP, msp) {
		err = &contract.RejectError{Reason: contract.ReasonInvalidValue, Field: "msp",
			Detail: fmt.Sprintf("msp %q is not the %s %q its producer is bound to", ev.MSP, HeaderMSP, msp)}
	}
	var fwd kafka.Message
	if err == nil {
		if r, ok := h.Enricher.(Resolver); ok && r.Resolve(ev) && jsonDoc {
			// The document must say what rules and storage see.
			doc, err = ev.MarshalJSON()
		}
	}
	if err == nil {
		if h.Enricher != nil {
			if ev.Context = h.Enricher.Context(ev); ev.Context != nil && jsonDoc {
				doc = contract.WithContext(doc, ev.Context)
			}
		}
		fwd, err = h.forward(m, ev, doc, len(raw))
	}
	if err != nil {
		h.reject(p, m, err, now)
		return
	}
	p.keep()
	p.rows = append(p.rows, record.Event{Event: ev, Doc: doc, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
	if k := (sourceKey{m.Topic, m.Partition}); ev.Time.After(p.maxTimes[k]) {
		p.maxTimes[k] = ev.Time
	}
	p.normalised = append(p.normalised, fwd)
}

func (h *Handler) reject(p *prepared, m *kafka.Message, err error, now func() time.Time) {
	p.dead = append(p.dead, h.deadLetter(m, err, now()))
	h.Log.Debug().Str("topic", m.Topic).Int("partition", m.Partition).Int64("offset", m.Offset).
		Str("reason", string(deadletter.Reason(err))).Err(err).Msg("dead-lettered")
}

// maxMessageBytes is the largest message Producer sends (its BatchBytes).
func (h *Handler) maxMessageBytes() int {
	if h.MaxMessageBytes > 0 {
		return h.MaxMessageBytes
	}
	return kafkaio.WriterBatchBytes(kafkaio.DefaultBrokerMaxMessageBytes)
}

// forward builds the normalised message of a valid event. One the writer
// would refuse (normalisation and enrichment can make a message that fits
// the raw topic too big for the events topic) is a permanent error: it is
// rejected as oversize, to be dead-lettered, rather than failing the batch
// on every retry.
//
// Where the event was read (its provenance) travels inside the binary
// encoding (contract.AppendProvenance), not as headers: kafka-go's reader
// allocates every header of every message the detector reads. A JSON
// document has no room for it, so it keeps the tripline-source-* headers.
//
// rawSize is the length of the event's own input, which sizes the binary
// encoding's buffer (m.Value may be a vendor page of many events).
func (h *Handler) forward(m *kafka.Message, ev *contract.Event, doc []byte, rawSize int) (kafka.Message, error) {
	// The key and the headers' values share one allocation (with the
	// binary encoding, the value's too): nothing writes to a message's
	// bytes once it is built.
	isBinary := h.EventsEncoding == contract.EncodingBinary
	keyAndSource := len(ev.MSP) + len(m.Topic) + 2*20
	var buf []byte
	value := doc
	if !isBinary {
		buf = make([]byte, 0, keyAndSource)
	} else {
		var err error
		if buf, err = ev.AppendBinary(make([]byte, 0, rawSize+256+keyAndSource)); err != nil {
			return kafka.Message{}, &contract.RejectError{Reason: contract.ReasonInvalidValue, Detail: err.Error()}
		}
		buf = contract.AppendProvenance(buf, contract.Provenance{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
		value = buf[:len(buf):len(buf)]
	}
	if len(value) > contract.MaxNormalisedBytes {
		return kafka.Message{}, &contract.RejectError{Reason: contract.ReasonOversize,
			Detail: fmt.Sprintf("normalised event is %d bytes, limit %d", len(value), contract.MaxNormalisedBytes)}
	}
	cut := func(from int) []byte { return buf[from:len(buf):len(buf)] }
	n := len(buf)
	buf = append(buf, ev.MSP...)
	out := kafka.Message{Topic: h.EventsTopic, Key: cut(n), Value: value}
	if !isBinary {
		n = len(buf)
		buf = append(buf, m.Topic...)
		topic := cut(n)
		n = len(buf)
		buf = strconv.AppendInt(buf, int64(m.Partition), 10)
		partition := cut(n)
		n = len(buf)
		buf = strconv.AppendInt(buf, m.Offset, 10)
		out.Headers = []kafka.Header{
			{Key: deadletter.HeaderSourceTopic, Value: topic},
			{Key: deadletter.HeaderSourcePartition, Value: partition},
			{Key: deadletter.HeaderSourceOffset, Value: cut(n)},
		}
	}
	if n, limit := deadletter.Size(&out), h.maxMessageBytes(); n > limit {
		return out, &contract.RejectError{Reason: contract.ReasonOversize,
			Detail: fmt.Sprintf("normalised event is %d bytes, over the %d bytes a message to %s may have (its max.message.bytes)", n, limit, h.EventsTopic)}
	}
	return out, nil
}

// deadLetter wraps a rejected message for the dead-letter topic, reduced
// (deadletter.Fit) when whole it would be too big to write: a dead letter
// the writer refuses would fail its batch on every retry.
func (h *Handler) deadLetter(m *kafka.Message, err error, at time.Time) kafka.Message {
	dl := deadletter.Fit(deadletter.New(h.DLQTopic, m, err, at), h.maxMessageBytes())
	if deadletter.Header(dl, deadletter.HeaderReduced) != "" {
		h.Log.Warn().Str("topic", m.Topic).Int("partition", m.Partition).Int64("offset", m.Offset).Int("bytes", len(m.Value)).
			Str("reason", string(deadletter.Reason(err))).Msg("dead letter too big for the dead-letter topic; writing its reduced form (hash, size, prefix)")
	}
	return dl
}
