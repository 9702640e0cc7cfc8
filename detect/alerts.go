package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
)

// AlertStore receives alerts and incidents; *store.Store implements it.
type AlertStore interface {
	InsertAlerts(ctx context.Context, as []record.Alert) error
	InsertIncidents(ctx context.Context, is []record.Incident) error
}

// HeaderMessageID carries an alert message's ID on tripline.alerts, so a
// consumer can deduplicate without decoding the value.
const HeaderMessageID = "tripline-message-id"

// alertBatch is what one batch changed in alerts: the newest row of each
// alert and incident, and the messages for tripline.alerts collapsed to
// one per alert and kind (a mass push in one batch updates an alert
// hundreds of times; receivers need its state once).
type alertBatch struct {
	alerts    map[string]int // alert ID -> index in rows
	rows      []record.Alert
	incidents map[string]int
	incRows   []record.Incident
	msgIndex  map[[2]string]int // (alert ID, kind) -> index in messages
	messages  []alert.Message
}

func (b *alertBatch) add(ch alert.Changes) {
	if b.alerts == nil {
		b.alerts, b.incidents, b.msgIndex = map[string]int{}, map[string]int{}, map[[2]string]int{}
	}
	for _, a := range ch.Alerts {
		if i, ok := b.alerts[a.AlertID]; ok {
			b.rows[i] = a
			continue
		}
		b.alerts[a.AlertID] = len(b.rows)
		b.rows = append(b.rows, a)
	}
	for _, inc := range ch.Incidents {
		if i, ok := b.incidents[inc.IncidentID]; ok {
			b.incRows[i] = inc
			continue
		}
		b.incidents[inc.IncidentID] = len(b.incRows)
		b.incRows = append(b.incRows, inc)
	}
	for _, m := range ch.Messages {
		k := [2]string{m.Alert.AlertID, m.Kind}
		if m.Kind == alert.KindUpdated {
			if _, opened := b.msgIndex[[2]string{m.Alert.AlertID, alert.KindOpened}]; opened {
				// Opened in this batch: the opening carries the newest state.
				k[1] = alert.KindOpened
				m.Kind, m.MessageID = alert.KindOpened, alert.MessageID(m.Alert.AlertID, alert.KindOpened, 0)
			}
		}
		if i, ok := b.msgIndex[k]; ok {
			b.messages[i] = m
			continue
		}
		b.msgIndex[k] = len(b.messages)
		b.messages = append(b.messages, m)
	}
}

// silence marks the batch's alerts, their messages and detections with
// the silence that holds each back (empty when none does; the grouper's
// maintenance-window mute when only that does). set may be nil.
func (b *alertBatch) silence(set *silence.Set, at time.Time, dets []record.Detection) {
	if len(b.rows) == 0 {
		return
	}
	for i := range b.rows {
		if set == nil {
			break
		}
		if id := set.Match(&b.rows[i], at); id != "" {
			b.rows[i].SuppressedBy = id // over a maintenance-window mute
		}
	}
	for i := range b.messages {
		if j, ok := b.alerts[b.messages[i].Alert.AlertID]; ok {
			b.messages[i].Alert.SuppressedBy = b.rows[j].SuppressedBy
		}
	}
	for i := range dets {
		if j, ok := b.alerts[dets[i].AlertID]; ok {
			dets[i].SuppressedBy = b.rows[j].SuppressedBy
		}
	}
}

// kafkaMessages encodes the batch's alert messages for topic.
func (b *alertBatch) kafkaMessages(topic string) ([]kafka.Message, error) {
	out := make([]kafka.Message, 0, len(b.messages))
	for i := range b.messages {
		m := &b.messages[i]
		v, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode alert message %s: %w", m.MessageID, err)
		}
		out = append(out, kafka.Message{
			Topic: topic, Key: []byte(m.Alert.AlertID), Value: v,
			Headers: []kafka.Header{{Key: HeaderMessageID, Value: []byte(m.MessageID)}},
		})
	}
	return out, nil
}

// alerting reports whether the handler groups detections into alerts.
func (h *Handler) alerting() bool { return h.Alerts != nil }

// group assigns d to its alert and incident and collects what changed.
func (h *Handler) group(p *pendingBatch, d *record.Detection, r detection.Result) {
	if h.grouper == nil {
		return
	}
	p.alerts.add(h.core.Snapshot().Group(h.grouper, r, d))
}

// regroup feeds the grouper a result a rebuild recomputed: its alert
// existed before the restart, and gets its count and samples back
// without a message.
func (h *Handler) regroup(r detection.Result) {
	d := r.Record(time.Time{}, detection.Coordinates{})
	h.core.Snapshot().Group(h.grouper, r, &d)
}

// storeAlerts writes the batch's alerts and incidents, then its messages.
func (h *Handler) storeAlerts(ctx context.Context, p *pendingBatch) error {
	b := &p.alerts
	if !p.alertsDone && len(b.rows) > 0 {
		if err := h.Alerts.InsertAlerts(ctx, b.rows); err != nil {
			return fmt.Errorf("store %d alerts: %w", len(b.rows), err)
		}
	}
	p.alertsDone = true
	if !p.incidentsDone && len(b.incRows) > 0 {
		if err := h.Alerts.InsertIncidents(ctx, b.incRows); err != nil {
			return fmt.Errorf("store %d incidents: %w", len(b.incRows), err)
		}
	}
	p.incidentsDone = true
	if !p.messagesDone && len(b.messages) > 0 && h.AlertTopic != "" {
		msgs, err := b.kafkaMessages(h.AlertTopic)
		if err != nil {
			return err
		}
		if err := h.Producer.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("write %s: %w", h.AlertTopic, kafkaio.SummariseWriteError(err))
		}
		if h.AlertMessages != nil {
			for i := range b.messages {
				h.AlertMessages(b.messages[i].Kind, b.messages[i].Alert.SuppressedBy != "")
			}
		}
	}
	p.messagesDone = true
	return nil
}
