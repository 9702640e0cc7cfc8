package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
)

// Results of a delivery attempt (alert_deliveries.result and the
// deliveries metric's result label).
const (
	// ResultDelivered: the receiver answered 2xx.
	ResultDelivered = "delivered"
	// ResultRetry: the attempt failed and another follows.
	ResultRetry = "retry"
	// ResultFailed: the last attempt failed (retries exhausted, or the
	// receiver refused the content); the message was dead-lettered.
	ResultFailed = "failed"
)

// Dead-letter headers added to the ones of package deadletter.
const (
	HeaderReceiver = "tripline-receiver"
	HeaderRoute    = "tripline-route"
	// ReasonDeliveryFailed is the tripline-reason of a message a receiver
	// did not accept.
	ReasonDeliveryFailed = "delivery_failed"
)

// DeliveryStore logs delivery attempts; *store.Store implements it.
type DeliveryStore interface {
	InsertDeliveries(ctx context.Context, rows []record.AlertDelivery) error
}

// Producer writes dead letters; *kafka.Writer implements it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Handler is the notify batch handler (kafkaio.BatchHandler). It returns
// nil for a batch only when every notification of it was delivered or
// dead-lettered and every attempt is logged, so the consumer commits
// nothing that is not accounted for.
type Handler struct {
	Config    *Config
	Receivers *Receivers
	Store     DeliveryStore
	Producer  Producer
	DLQTopic  string
	// MaxMessageBytes bounds a dead letter (deadletter.Fit); 0 means
	// Kafka's default topic limit.
	MaxMessageBytes int
	Metrics         *Metrics
	Log             zerolog.Logger
	// Repeats, when set, learns which alerts are open (repeat_interval).
	Repeats *Repeater
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// pending is the batch being handled, kept across retries of it so
	// that a retry after a failed log insert or dead-letter write does
	// not send again what was delivered.
	pending *batchState
}

type batchState struct {
	first, last kafka.Message
	size        int
	jobs        []*job
	// messages that went to routes, for the repeater once all is done.
	routed []routedMessage

	mu       sync.Mutex
	dead     []kafka.Message
	deadDone int
	rows     []record.AlertDelivery
}

type routedMessage struct {
	route *Route
	msg   alert.Message
}

// job is what one receiver of one route gets from a batch: notifications
// sent in order (so a resolve never overtakes its trigger).
type job struct {
	route    *Route
	receiver string
	sender   Sender
	notes    []*Notification
	// sources are each notification's messages as read from Kafka, for
	// dead letters.
	sources [][]kafka.Message
	// next is the first notification not yet delivered or dead-lettered.
	next int
	// notBefore is when group_wait has passed for the oldest message.
	notBefore time.Time
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (p *batchState) same(batch []kafka.Message) bool {
	return p != nil && p.size == len(batch) && coords(p.first) == coords(batch[0]) && coords(p.last) == coords(batch[len(batch)-1])
}

func coords(m kafka.Message) string { return fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset) }

// HandleBatch implements kafkaio.BatchHandler.
func (h *Handler) HandleBatch(ctx context.Context, batch []kafka.Message) error {
	if len(batch) == 0 {
		return nil
	}
	if h.Metrics == nil {
		h.Metrics = NewMetrics(nil)
	}
	if !h.pending.same(batch) {
		h.pending = h.prepare(batch)
	}
	p := h.pending

	var wg sync.WaitGroup
	errs := make([]error, len(p.jobs))
	for i, j := range p.jobs {
		wg.Go(func() { errs[i] = h.run(ctx, p, j) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// Only cancellation stops a job; the batch is redelivered. Log the
		// attempts made so far anyway, briefly: they happened.
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.rows) > 0 {
			ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if h.Store.InsertDeliveries(ictx, p.rows) == nil {
				p.rows = nil
			}
		}
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deadDone < len(p.dead) {
		if err := h.Producer.WriteMessages(ctx, p.dead[p.deadDone:]...); err != nil {
			return fmt.Errorf("notify: write %s: %w", h.DLQTopic, kafkaio.SummariseWriteError(err))
		}
		p.deadDone = len(p.dead)
	}
	if len(p.rows) > 0 {
		if err := h.Store.InsertDeliveries(ctx, p.rows); err != nil {
			return fmt.Errorf("notify: log deliveries: %w", err)
		}
		p.rows = nil
	}
	if h.Repeats != nil {
		for _, r := range p.routed {
			h.Repeats.Observe(r.route, &r.msg, h.now())
		}
	}
	h.pending = nil
	return nil
}

// prepare parses, filters and routes a batch.
func (h *Handler) prepare(batch []kafka.Message) *batchState {
	p := &batchState{first: batch[0], last: batch[len(batch)-1], size: len(batch)}
	type key struct{ route, receiver string }
	byKey := map[key]*job{}
	var order []*job
	groups := map[key][]int{} // batch indices per job, for grouping senders
	msgs := make([]alert.Message, len(batch))
	for i := range batch {
		km := &batch[i]
		m, err := alert.ParseMessage(km.Value)
		if err != nil {
			// Nothing can deliver it: dead-letter it now rather than retry.
			p.dead = append(p.dead, h.fit(deadletter.New(h.DLQTopic, km, err, h.now())))
			h.Metrics.message("invalid")
			h.Log.Warn().Err(err).Str("topic", km.Topic).Int("partition", km.Partition).Int64("offset", km.Offset).Msg("dead-lettered an unreadable alert message")
			continue
		}
		msgs[i] = m
		h.Metrics.message(m.Kind)
		if m.Alert.SuppressedBy != "" {
			h.Metrics.silenced.Inc()
			continue
		}
		routes := h.Config.Route(&m)
		if len(routes) == 0 {
			h.Metrics.unrouted.Inc()
			continue
		}
		produced := km.Time
		if produced.IsZero() {
			produced = h.now()
		}
		for _, r := range routes {
			p.routed = append(p.routed, routedMessage{route: r, msg: m})
			for _, name := range r.Receivers {
				k := key{r.Name, name}
				j := byKey[k]
				if j == nil {
					j = &job{route: r, receiver: name, sender: h.Receivers.Sender(name), notBefore: produced.Add(r.GroupWait)}
					byKey[k] = j
					order = append(order, j)
				}
				// group_wait counts from the oldest message of the group
				// (partitions interleave in a batch).
				if t := produced.Add(r.GroupWait); t.Before(j.notBefore) {
					j.notBefore = t
				}
				groups[k] = append(groups[k], i)
			}
		}
	}
	for _, j := range order {
		idx := groups[key{j.route.Name, j.receiver}]
		if j.sender.Groups() {
			for start := 0; start < len(idx); start += maxGroup {
				part := idx[start:min(start+maxGroup, len(idx))]
				n := &Notification{Route: j.route.Name}
				var src []kafka.Message
				for _, i := range part {
					n.Messages = append(n.Messages, msgs[i])
					src = append(src, batch[i])
				}
				n.ID = NotificationID(n.Messages, 0)
				j.notes, j.sources = append(j.notes, n), append(j.sources, src)
			}
			continue
		}
		for _, i := range idx {
			n := &Notification{Route: j.route.Name, Messages: []alert.Message{msgs[i]}}
			n.ID = NotificationID(n.Messages, 0)
			j.notes, j.sources = append(j.notes, n), append(j.sources, []kafka.Message{batch[i]})
		}
	}
	p.jobs = order
	return p
}

// maxGroup caps the alerts of one grouped notification (a chat message or
// an email stays readable; Slack allows 50 blocks).
const maxGroup = 40

// run sends a job's notifications in order, from where a previous attempt
// at the batch stopped.
func (h *Handler) run(ctx context.Context, p *batchState, j *job) error {
	if wait := time.Until(j.notBefore); wait > 0 && j.next < len(j.notes) {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for ; j.next < len(j.notes); j.next++ {
		n := j.notes[j.next]
		rows, err := h.deliver(ctx, j.route, j.receiver, j.sender, n)
		p.mu.Lock()
		p.rows = append(p.rows, rows...)
		p.mu.Unlock()
		if ctx.Err() != nil {
			return fmt.Errorf("notify: %s to %s: %w", n.ID, j.receiver, ctx.Err())
		}
		if err != nil {
			dls := make([]kafka.Message, 0, len(j.sources[j.next]))
			for i := range j.sources[j.next] {
				dls = append(dls, h.deadLetter(&j.sources[j.next][i], j.route.Name, j.receiver, err))
			}
			h.Metrics.deadLettered.WithLabelValues(j.receiver).Add(float64(len(dls)))
			h.Log.Error().Str("receiver", j.receiver).Str("route", j.route.Name).Str("notification", n.ID).
				Int("messages", len(n.Messages)).Str("error", h.Receivers.Redact(err.Error())).
				Msg("delivery failed for good; dead-lettered")
			p.mu.Lock()
			p.dead = append(p.dead, dls...)
			p.mu.Unlock()
		}
	}
	return nil
}

// deliver attempts n until the receiver accepts it, refuses it for good,
// or the attempts run out; it returns a row per attempt and message, and
// the last error (nil when delivered). It stops early only when ctx ends.
func (h *Handler) deliver(ctx context.Context, route *Route, receiver string, s Sender, n *Notification) ([]record.AlertDelivery, error) {
	retry := h.Config.Retry
	var rows []record.AlertDelivery
	var err error
	for attempt := 1; attempt <= retry.MaxAttempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, retry.Timeout)
		var status int
		status, err = s.Send(actx, n)
		cancel()
		at := h.now()
		result := ResultDelivered
		switch {
		case err == nil:
		case ctx.Err() != nil:
			// Shutting down: the attempt was cut short, not refused.
			result = ResultRetry
		case IsPermanent(err) || attempt == retry.MaxAttempts:
			result = ResultFailed
		default:
			result = ResultRetry
		}
		h.Metrics.deliveries.WithLabelValues(receiver, result).Inc()
		msg := ""
		if err != nil {
			msg = truncateError(h.Receivers.Redact(err.Error()))
		}
		for i := range n.Messages {
			m := &n.Messages[i]
			delay := at.Sub(m.Alert.FirstTime)
			if m.Alert.FirstTime.IsZero() || delay < 0 {
				delay = 0
			}
			if err == nil {
				h.Metrics.delay.WithLabelValues(receiver).Observe(delay.Seconds())
			}
			kind := m.Kind
			if n.Repeat > 0 {
				kind = "repeat"
			}
			rows = append(rows, record.AlertDelivery{
				At: at, MessageID: n.ID, AlertID: m.Alert.AlertID, Kind: kind, Route: route.Name,
				Receiver: receiver, ReceiverType: s.Type(), Attempt: uint32(attempt), Result: result,
				StatusCode: int32(status), Error: msg, DelayMs: delay.Milliseconds(),
			})
		}
		if err == nil || result == ResultFailed || ctx.Err() != nil {
			return rows, err
		}
		wait := max(retry.Backoff(attempt), min(RetryAfter(err), retry.MaxBackoff))
		h.Log.Warn().Str("receiver", receiver).Str("notification", n.ID).Int("attempt", attempt).
			Int("status", status).Str("error", msg).Dur("retry_in", wait).Msg("delivery failed; retrying")
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return rows, ctx.Err()
		}
	}
	return rows, err
}

// truncateError caps an error stored in a row.
func truncateError(s string) string { return truncate(s, deadletter.MaxErrorBytes) }

// deadLetter wraps a message a receiver did not accept: the original
// record byte for byte, and headers saying which receiver and route, why,
// and where it came from, so an operator can replay it to that receiver.
func (h *Handler) deadLetter(m *kafka.Message, route, receiver string, err error) kafka.Message {
	headers := make([]kafka.Header, 0, len(m.Headers)+8)
	headers = append(headers, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: deadletter.HeaderReason, Value: []byte(ReasonDeliveryFailed)},
		kafka.Header{Key: deadletter.HeaderError, Value: []byte(truncateError(h.Receivers.Redact(err.Error())))},
		kafka.Header{Key: deadletter.HeaderSourceTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: deadletter.HeaderSourcePartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: deadletter.HeaderSourceOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		kafka.Header{Key: deadletter.HeaderRejectedAt, Value: []byte(h.now().UTC().Format(time.RFC3339Nano))},
		kafka.Header{Key: HeaderRoute, Value: []byte(route)},
		kafka.Header{Key: HeaderReceiver, Value: []byte(receiver)},
	)
	return h.fit(kafka.Message{Topic: h.DLQTopic, Key: m.Key, Value: m.Value, Headers: headers})
}

func (h *Handler) fit(m kafka.Message) kafka.Message {
	limit := h.MaxMessageBytes
	if limit <= 0 {
		limit = kafkaio.TopicMaxMessageBytes
	}
	return deadletter.Fit(m, limit)
}
