package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tripline/tripline/alert"
)

// DefaultPagerDutyURL is the Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDuty sends Events API v2 events, one per message: trigger for
// opened, updated and reopened alerts, resolve for resolved and closed
// ones. dedup_key is the alert's fingerprint, so PagerDuty keeps one
// incident per fingerprint and a retry or a replay only deduplicates.
type PagerDuty struct {
	URL        string
	routingKey string
	Client     *http.Client
}

// PagerDutyEvent is the Events API v2 body.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
}

// PagerDutyPayload is the trigger's payload.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// PagerDuty limits: summary 1024 characters, dedup_key 255.
const (
	pdSummaryMax  = 1024
	pdDedupKeyMax = 255
)

// pdSeverity maps Sigma levels onto PagerDuty's four severities.
var pdSeverity = map[string]string{
	"critical": "critical", "high": "error", "medium": "warning", "low": "info", "informational": "info",
}

// Groups: PagerDuty takes one event per alert.
func (p *PagerDuty) Groups() bool { return false }

// Type implements Sender.
func (p *PagerDuty) Type() string { return TypePagerDuty }

// Send implements Sender.
func (p *PagerDuty) Send(ctx context.Context, n *Notification) (int, error) {
	if len(n.Messages) != 1 {
		return 0, Permanent(fmt.Errorf("pagerduty: %d messages in one notification", len(n.Messages)))
	}
	ev, err := PagerDutyEventOf(&n.Messages[0], p.routingKey, n.Repeat)
	if err != nil {
		return 0, Permanent(err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, Permanent(fmt.Errorf("pagerduty: encode: %w", err))
	}
	return postJSON(ctx, p.Client, p.URL, body, nil)
}

// PagerDutyEventOf is the event for m.
func PagerDutyEventOf(m *alert.Message, routingKey string, repeat int) (PagerDutyEvent, error) {
	a := &m.Alert
	key := a.Fingerprint
	if key == "" {
		key = a.AlertID
	}
	if len(key) > pdDedupKeyMax {
		return PagerDutyEvent{}, fmt.Errorf("pagerduty: fingerprint of alert %s is %d bytes, above 255", a.AlertID, len(key))
	}
	ev := PagerDutyEvent{RoutingKey: routingKey, DedupKey: key, Client: "tripline"}
	switch m.Kind {
	case alert.KindResolved, alert.KindClosed:
		ev.EventAction = "resolve"
		return ev, nil
	}
	ev.EventAction = "trigger"
	sev := pdSeverity[a.Level]
	if sev == "" {
		sev = "warning"
	}
	summary := title(m, repeat)
	if a.Summary != "" {
		summary += " — " + a.Summary
	}
	details := map[string]any{
		"alert_id": a.AlertID, "rule_id": a.RuleID, "msp": a.MSP, "tenant": a.Tenant, "count": a.Count,
		"first_time": a.FirstTime.UTC().Format(time.RFC3339), "last_time": a.LastTime.UTC().Format(time.RFC3339),
		"tags": a.Tags, "group": a.Group, "event_ids": a.EventIDs, "kind": m.Kind,
	}
	if a.IncidentID != "" {
		details["incident_id"] = a.IncidentID
	}
	ev.Payload = &PagerDutyPayload{
		Summary: truncate(summary, pdSummaryMax), Source: a.MSP + "/" + a.Tenant, Severity: sev,
		Component: a.ActorUser, Group: a.MSP, Class: a.RuleID, CustomDetails: details,
	}
	if !a.FirstTime.IsZero() {
		ev.Payload.Timestamp = a.FirstTime.UTC().Format(time.RFC3339Nano)
	}
	return ev, nil
}
