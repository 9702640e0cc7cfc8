package api

import (
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

// Alert is an alert as the API shows it: the delivered form
// (tripline.alerts, docs/alerts.md) plus its triage state.
type Alert struct {
	alert.Body
	Status      string     `json:"status"`
	Assignee    string     `json:"assignee,omitempty"`
	CloseReason string     `json:"close_reason,omitempty"`
	ActionAt    *time.Time `json:"action_at,omitempty"`
}

// AlertOf is a in the API's form (the CLI prints the same JSON).
func AlertOf(a *store.AlertState) Alert {
	out := Alert{Body: alert.BodyOf(&a.Alert), Status: a.Status, Assignee: a.Assignee, CloseReason: a.CloseReason}
	if !a.ActionAt.IsZero() {
		t := a.ActionAt.UTC()
		out.ActionAt = &t
	}
	return out
}

// Action is one row of an alert's triage log.
type Action struct {
	ActionID   string    `json:"action_id"`
	AlertID    string    `json:"alert_id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	StatusFrom string    `json:"status_from"`
	StatusTo   string    `json:"status_to"`
	Assignee   string    `json:"assignee,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// ActionOf is a in the API's form.
func ActionOf(a *record.AlertAction) Action {
	return Action{ActionID: a.ActionID, AlertID: a.AlertID, At: a.At.UTC(), Actor: a.Actor, Action: a.Action,
		StatusFrom: a.StatusFrom, StatusTo: a.StatusTo, Assignee: a.Assignee, Reason: a.Reason, Note: a.Note}
}

// Detection is a detection of an alert.
type Detection struct {
	DetectionID  string    `json:"detection_id"`
	RuleID       string    `json:"rule_id"`
	Level        string    `json:"level"`
	Tenant       string    `json:"tenant"`
	ActorUser    string    `json:"actor_user,omitempty"`
	FirstTime    time.Time `json:"first_time"`
	LastTime     time.Time `json:"last_time"`
	EventIDs     []string  `json:"event_ids"`
	Summary      string    `json:"summary"`
	DetectedAt   time.Time `json:"detected_at"`
	SuppressedBy string    `json:"suppressed_by,omitempty"`
}

func detectionOf(d *store.AlertDetection) Detection {
	ids := d.EventIDs
	if ids == nil {
		ids = []string{}
	}
	return Detection{DetectionID: d.DetectionID, RuleID: d.RuleID, Level: d.Level, Tenant: d.Tenant, ActorUser: d.ActorUser,
		FirstTime: d.FirstTime.UTC(), LastTime: d.LastTime.UTC(), EventIDs: ids, Summary: d.Summary, DetectedAt: d.DetectedAt.UTC(),
		SuppressedBy: d.SuppressedBy}
}

// AlertDetail is GET /api/alerts/{id}.
type AlertDetail struct {
	Alert      Alert       `json:"alert"`
	Actions    []Action    `json:"actions"`
	Detections []Detection `json:"detections"`
}

// DetailOf is d in the API's form.
func DetailOf(d *triage.Detail) AlertDetail {
	out := AlertDetail{Alert: AlertOf(&d.Alert), Actions: []Action{}, Detections: []Detection{}}
	for i := range d.Actions {
		out.Actions = append(out.Actions, ActionOf(&d.Actions[i]))
	}
	for i := range d.Detections {
		out.Detections = append(out.Detections, detectionOf(&d.Detections[i]))
	}
	return out
}

// ActionRequest is the body of POST /api/alerts/{id}/{action}.
type ActionRequest struct {
	Note     string `json:"note"`
	Assignee string `json:"assignee"`
	Reason   string `json:"reason"`
}

// ActionResult answers a triage action.
type ActionResult struct {
	Action      Action `json:"action"`
	Alert       Alert  `json:"alert"`
	DraftFilter string `json:"draft_filter,omitempty"`
	// Warning says what did not happen although the action was stored
	// (not published to tripline.alerts, no draft filter).
	Warning string `json:"warning,omitempty"`
}

// Incident is an incident as the API shows it.
type Incident struct {
	IncidentID  string    `json:"incident_id"`
	MSP         string    `json:"msp"`
	EntityKind  string    `json:"entity_kind"`
	EntityValue string    `json:"entity_value"`
	Level       string    `json:"level"`
	WindowStart time.Time `json:"window_start"`
	FirstTime   time.Time `json:"first_time"`
	LastTime    time.Time `json:"last_time"`
	AlertIDs    []string  `json:"alert_ids"`
	Tenants     []string  `json:"tenants"`
	RuleIDs     []string  `json:"rule_ids"`
}

// IncidentOf is r in the API's form.
func IncidentOf(r *record.Incident) Incident {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return Incident{IncidentID: r.IncidentID, MSP: r.MSP, EntityKind: r.EntityKind, EntityValue: r.EntityValue, Level: r.Level,
		WindowStart: r.WindowStart.UTC(), FirstTime: r.FirstTime.UTC(), LastTime: r.LastTime.UTC(),
		AlertIDs: nz(r.AlertIDs), Tenants: nz(r.Tenants), RuleIDs: nz(r.RuleIDs)}
}

// IncidentDetail is GET /api/incidents/{id}: the incident and the alerts
// of it the caller may see.
type IncidentDetail struct {
	Incident Incident `json:"incident"`
	Alerts   []Alert  `json:"alerts"`
}

// Silence is a silence as the API shows it.
type Silence struct {
	SilenceID string    `json:"silence_id"`
	Matchers  []string  `json:"matchers"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
	Author    string    `json:"author"`
	Reason    string    `json:"reason"`
	MSP       string    `json:"msp,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Active: holds alerts back now.
	Active bool `json:"active"`
}

// SilenceRequest is the body of POST /api/silences. Ends, or else
// Duration ("2h", "7d"), is required; Starts defaults to now.
type SilenceRequest struct {
	Matchers []string   `json:"matchers"`
	Starts   *time.Time `json:"starts"`
	Ends     *time.Time `json:"ends"`
	Duration string     `json:"duration"`
	Reason   string     `json:"reason"`
	MSP      string     `json:"msp"`
}

// Error is every error response's body.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says what went wrong: Code is stable for programs, Message is
// for people.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SilenceOf is r in the API's form; Active is computed at now.
func SilenceOf(r *record.Silence, now time.Time) Silence {
	ms := r.Matchers
	if ms == nil {
		ms = []string{}
	}
	return Silence{SilenceID: r.SilenceID, Matchers: ms, Starts: r.Starts.UTC(), Ends: r.Ends.UTC(), Author: r.Author,
		Reason: r.Reason, MSP: r.MSP, CreatedAt: r.CreatedAt.UTC(), Active: silence.Active(r, now)}
}
