package alert

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tripline/tripline/record"
)

// MessageVersion is the version of the tripline.alerts message format.
const MessageVersion = 1

// Kinds of message on tripline.alerts.
const (
	// KindOpened: the first detection of an alert.
	KindOpened = "opened"
	// KindUpdated: more detections joined an open alert.
	KindUpdated = "updated"
	// KindResolved: the alert's window ended in event time (the
	// watermark passed it); nothing more can join it.
	KindResolved = "resolved"
	// KindClosed: an analyst closed it (triage).
	KindClosed = "closed"
	// KindReopened: an analyst reopened it.
	KindReopened = "reopened"
)

// Message is one record of the tripline.alerts topic (key: the alert ID).
// Its JSON form is documented in docs/alerts.md; notify routes it.
type Message struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	// MessageID identifies this message: deterministic in the alert and
	// the kind (and the count, for updates), so a replayed detector writes
	// the same ID and receivers deduplicate (it is the webhook-id). An
	// alert opens and resolves once whatever the batch boundaries, so
	// those IDs leave the count out.
	MessageID string    `json:"message_id"`
	At        time.Time `json:"at"`
	Alert     Body      `json:"alert"`
	// Status and CloseReason are set on triage messages.
	Status      string `json:"status,omitempty"`
	CloseReason string `json:"close_reason,omitempty"`
	Actor       string `json:"actor,omitempty"`
}

// Body is an alert as delivered.
type Body struct {
	AlertID      string            `json:"alert_id"`
	Fingerprint  string            `json:"fingerprint"`
	RuleID       string            `json:"rule_id"`
	RuleTitle    string            `json:"rule_title"`
	Level        string            `json:"level"`
	Tags         []string          `json:"tags"`
	MSP          string            `json:"msp"`
	Tenant       string            `json:"tenant"`
	ActorUser    string            `json:"actor_user,omitempty"`
	Group        map[string]string `json:"group"`
	WindowStart  time.Time         `json:"window_start"`
	FirstTime    time.Time         `json:"first_time"`
	LastTime     time.Time         `json:"last_time"`
	Count        uint64            `json:"count"`
	EventIDs     []string          `json:"event_ids"`
	IncidentID   string            `json:"incident_id"`
	SuppressedBy string            `json:"suppressed_by,omitempty"`
	Summary      string            `json:"summary"`
}

// messageNamespace is the UUIDv5 namespace of message IDs. Never change it:
// receivers deduplicate on these IDs.
var messageNamespace = uuid.MustParse("6a1e7d0c-3b5f-5c2a-9e41-616c65727473")

// MessageID is the deterministic ID of a message about alertID. count
// counts only for updates (see Message.MessageID).
func MessageID(alertID, kind string, count uint64) string {
	if kind != KindUpdated {
		count = 0
	}
	return uuid.NewSHA1(messageNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", alertID, kind, count)).String()
}

// NewMessage builds a message of kind about a.
func NewMessage(kind string, a *record.Alert, at time.Time) Message {
	return Message{
		Version:   MessageVersion,
		Kind:      kind,
		MessageID: MessageID(a.AlertID, kind, a.Count),
		At:        at.UTC(),
		Alert:     BodyOf(a),
	}
}

// BodyOf is the delivered form of a.
func BodyOf(a *record.Alert) Body {
	group := make(map[string]string, len(a.GroupKeys))
	for i, k := range a.GroupKeys {
		if i < len(a.GroupValues) {
			group[k] = a.GroupValues[i]
		}
	}
	tags, ids := a.Tags, a.EventIDs
	if tags == nil {
		tags = []string{}
	}
	if ids == nil {
		ids = []string{}
	}
	return Body{
		AlertID: a.AlertID, Fingerprint: a.Fingerprint, RuleID: a.RuleID, RuleTitle: a.RuleTitle,
		Level: a.Level, Tags: tags, MSP: a.MSP, Tenant: a.Tenant, ActorUser: a.ActorUser,
		Group: group, WindowStart: a.WindowStart.UTC(), FirstTime: a.FirstTime.UTC(), LastTime: a.LastTime.UTC(),
		Count: a.Count, EventIDs: ids, IncidentID: a.IncidentID, SuppressedBy: a.SuppressedBy, Summary: a.Summary,
	}
}

// ParseMessage decodes a tripline.alerts record.
func ParseMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("alert message: %w", err)
	}
	if m.Version != MessageVersion {
		return Message{}, fmt.Errorf("alert message: version %d, this build reads %d", m.Version, MessageVersion)
	}
	if m.Alert.AlertID == "" || m.Kind == "" {
		return Message{}, fmt.Errorf("alert message: alert_id and kind are required")
	}
	return m, nil
}
