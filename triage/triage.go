// Package triage is what analysts do to alerts: acknowledge, assign,
// note, close (with a reason) and reopen them, and silence them. Every
// change is validated here and stored as an alert_actions row with its
// actor and time; the CLI and the HTTP API are thin layers over Service
// (docs/alerts.md, "Triage").
package triage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/store"
)

// Errors callers map to their own codes (the API: 400, 409). Not found and
// out-of-scope are store.ErrNotFound and store.ErrForbidden.
var (
	// ErrInvalid: the request is malformed (unknown reason, empty actor…).
	ErrInvalid = errors.New("invalid request")
	// ErrConflict: the alert's status does not allow the transition.
	ErrConflict = errors.New("conflict")
)

// Close reasons.
const (
	ReasonTruePositive     = "true_positive"
	ReasonBenignAuthorized = "benign_authorized"
	ReasonFalsePositive    = "false_positive"
	ReasonDuplicate        = "duplicate"
)

// CloseReasons are the reasons an alert may be closed with.
var CloseReasons = []string{ReasonTruePositive, ReasonBenignAuthorized, ReasonFalsePositive, ReasonDuplicate}

// Statuses, in workflow order.
var Statuses = []string{store.StatusOpen, store.StatusAcknowledged, store.StatusClosed}

// Input bounds: these strings are stored forever and shown in consoles.
const (
	MaxNameLen = 200
	MaxNoteLen = 10000
)

// Store is what Service needs of the ClickHouse store (*store.Store).
type Store interface {
	Alerts(ctx context.Context, scope store.Scope, f store.AlertFilter) ([]store.AlertState, error)
	Alert(ctx context.Context, scope store.Scope, alertID string) (store.AlertState, error)
	AlertActions(ctx context.Context, scope store.Scope, alertID string) ([]record.AlertAction, error)
	AlertDetections(ctx context.Context, scope store.Scope, a *record.Alert, limit int) ([]store.AlertDetection, error)
	AppendActions(ctx context.Context, scope store.Scope, acts []record.AlertAction) error
	Incidents(ctx context.Context, scope store.Scope, f store.IncidentFilter) ([]record.Incident, error)
	SaveSilence(ctx context.Context, scope store.Scope, s record.Silence) error
	Silence(ctx context.Context, scope store.Scope, id string) (record.Silence, error)
	Silences(ctx context.Context, scope store.Scope, f store.SilenceFilter) ([]record.Silence, error)
}

// Publisher sends alert messages to the tripline.alerts topic, where
// notify turns a close into a PagerDuty resolve and tells receivers of a
// reopen.
type Publisher interface {
	Publish(ctx context.Context, m alert.Message) error
}

// ErrNotPublished wraps a failure to publish an action that was stored.
var ErrNotPublished = errors.New("stored, but not published to tripline.alerts")

// Service runs triage operations against a store.
type Service struct {
	store Store
	pub   Publisher
	now   func() time.Time
}

// WithPublisher returns a copy of s that publishes closes and reopens.
func (s *Service) WithPublisher(p Publisher) *Service {
	c := *s
	c.pub = p
	return &c
}

// New returns a Service on st.
func New(st Store) *Service { return &Service{store: st, now: time.Now} }

// WithClock returns a copy of s reading the time from now (tests).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// ListFilter selects alerts.
type ListFilter struct {
	Status string
	// MinLevel: this level or higher.
	MinLevel string
	MSP      string
	Tenant   string
	RuleID   string
	// Actor: the alerts of one actor; Assignee: those assigned to one
	// user.
	Actor, Assignee string
	// IncidentID: the alerts of one incident.
	IncidentID string
	// Since and Until: the alerts active in [Since, Until) (last
	// detection at or after Since, first before Until); zero is open.
	Since, Until time.Time
	// After is the cursor of the previous page's last alert (the page
	// after it); nil is the first page.
	After *store.Cursor
	Limit int
}

// List returns alerts with their triage state, newest first.
func (s *Service) List(ctx context.Context, scope store.Scope, f ListFilter) ([]store.AlertState, error) {
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return nil, fmt.Errorf("%w: status %q: want one of %s", ErrInvalid, f.Status, strings.Join(Statuses, ", "))
	}
	levels, err := LevelsAtLeast(f.MinLevel)
	if err != nil {
		return nil, err
	}
	if f.Limit < 0 || f.Limit > store.MaxAlertLimit {
		return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, f.Limit, store.MaxAlertLimit)
	}
	return s.store.Alerts(ctx, scope, store.AlertFilter{
		Status: f.Status, Levels: levels, MSP: f.MSP, Tenant: f.Tenant, RuleID: f.RuleID, ActorUser: f.Actor, Assignee: f.Assignee, IncidentID: f.IncidentID,
		Since: f.Since, Until: f.Until, After: f.After, Limit: f.Limit,
	})
}

// LevelsAtLeast expands a minimum level into the levels it admits; "" is
// no filter.
func LevelsAtLeast(min string) ([]string, error) {
	if min == "" {
		return nil, nil
	}
	i := slices.Index(silence.Levels, min)
	if i < 0 {
		return nil, fmt.Errorf("%w: level %q: want one of %s", ErrInvalid, min, strings.Join(silence.Levels, ", "))
	}
	return silence.Levels[i:], nil
}

// ParseSince reads a --since value: a duration back from now ("90m",
// "24h", "7d") or an RFC 3339 time.
func ParseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: since %q: want a duration (90m, 24h, 7d) or an RFC 3339 time", ErrInvalid, v)
	}
	return now.Add(-d), nil
}

// ParseWindow reads the since and until parameters of a list (each a
// duration before now or an RFC 3339 time, empty for open), shared by
// the API and the console's pages so that both read a window alike.
func ParseWindow(since, until string, now time.Time) (time.Time, time.Time, error) {
	s, err := ParseSince(since, now)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	u, err := ParseSince(until, now)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: until %q: want a duration before now (90m, 24h, 7d) or an RFC 3339 time", ErrInvalid, until)
	}
	if !s.IsZero() && !u.IsZero() && !u.After(s) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: until %s is not after since %s", ErrInvalid, u.UTC().Format(time.RFC3339), s.UTC().Format(time.RFC3339))
	}
	return s, u, nil
}

// ParseCursor reads a list's after parameter (empty: the first page).
func ParseCursor(after string) (*store.Cursor, error) {
	if after == "" {
		return nil, nil
	}
	c, err := store.ParseCursor(after)
	if err != nil {
		return nil, fmt.Errorf("%w: after: %v", ErrInvalid, err)
	}
	return c, nil
}

// ParseDuration reads a non-negative Go duration ("90m", "2h30m") or a
// whole number of days ("7d").
func ParseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("%w: duration %q: want e.g. 90m, 24h or 7d", ErrInvalid, v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: duration %q: want e.g. 90m, 24h or 7d", ErrInvalid, v)
	}
	return d, nil
}

// Detail is one alert with its triage log and its detections.
type Detail struct {
	Alert      store.AlertState
	Actions    []record.AlertAction
	Detections []store.AlertDetection
}

// Show returns one alert with its actions and (at most
// store.MaxAlertDetections of) its detections.
func (s *Service) Show(ctx context.Context, scope store.Scope, alertID string) (Detail, error) {
	a, err := s.store.Alert(ctx, scope, alertID)
	if err != nil {
		return Detail{}, err
	}
	acts, err := s.store.AlertActions(ctx, scope, alertID)
	if err != nil {
		return Detail{}, err
	}
	ds, err := s.store.AlertDetections(ctx, scope, &a.Alert, 0)
	if err != nil {
		return Detail{}, err
	}
	return Detail{Alert: a, Actions: acts, Detections: ds}, nil
}

// Result is what a triage action did.
type Result struct {
	Action record.AlertAction
	// Alert is the alert after the action.
	Alert store.AlertState
	// DraftFilter is a Sigma filter document excluding the alert's group
	// values from its rule, set when the alert was closed as a false
	// positive. It is a draft: review before adding it to the rules.
	DraftFilter string
}

// Ack acknowledges an open alert.
func (s *Service) Ack(ctx context.Context, scope store.Scope, alertID, actor, note string) (Result, error) {
	return s.act(ctx, scope, alertID, actor, record.AlertAction{Action: store.ActionAck, Note: note},
		func(from string) (string, error) {
			if from != store.StatusOpen {
				return "", fmt.Errorf("%w: alert is %s, only an open alert can be acknowledged", ErrConflict, from)
			}
			return store.StatusAcknowledged, nil
		})
}

// Assign sets (or, with an empty assignee, clears) who works an open or
// acknowledged alert; the status does not change.
func (s *Service) Assign(ctx context.Context, scope store.Scope, alertID, actor, assignee, note string) (Result, error) {
	if err := name("assignee", assignee, true); err != nil {
		return Result{}, err
	}
	return s.act(ctx, scope, alertID, actor, record.AlertAction{Action: store.ActionAssign, Assignee: assignee, Note: note},
		func(from string) (string, error) {
			if from == store.StatusClosed {
				return "", fmt.Errorf("%w: alert is closed; reopen it first", ErrConflict)
			}
			return from, nil
		})
}

// Note adds a note to an alert in any status.
func (s *Service) Note(ctx context.Context, scope store.Scope, alertID, actor, note string) (Result, error) {
	if strings.TrimSpace(note) == "" {
		return Result{}, fmt.Errorf("%w: the note is empty", ErrInvalid)
	}
	return s.act(ctx, scope, alertID, actor, record.AlertAction{Action: store.ActionNote, Note: note},
		func(from string) (string, error) { return from, nil })
}

// Close closes an open or acknowledged alert with a reason. Closing as
// false_positive also returns a draft Sigma filter.
func (s *Service) Close(ctx context.Context, scope store.Scope, alertID, actor, reason, note string) (Result, error) {
	if !slices.Contains(CloseReasons, reason) {
		return Result{}, fmt.Errorf("%w: close reason %q: want one of %s", ErrInvalid, reason, strings.Join(CloseReasons, ", "))
	}
	res, err := s.act(ctx, scope, alertID, actor, record.AlertAction{Action: store.ActionClose, Reason: reason, Note: note},
		func(from string) (string, error) {
			if from == store.StatusClosed {
				return "", fmt.Errorf("%w: alert is already closed", ErrConflict)
			}
			return store.StatusClosed, nil
		})
	if res.Action.ActionID == "" || reason != ReasonFalsePositive {
		return res, err
	}
	// The close is stored (and maybe not published: err): draft anyway.
	draft, derr := DraftFilter(&res.Alert.Alert, actor, note, res.Action.At)
	if derr != nil {
		return res, errors.Join(err, fmt.Errorf("alert %s closed, but no draft filter: %w", alertID, derr))
	}
	res.DraftFilter = draft
	return res, err
}

// Reopen reopens a closed alert.
func (s *Service) Reopen(ctx context.Context, scope store.Scope, alertID, actor, note string) (Result, error) {
	return s.act(ctx, scope, alertID, actor, record.AlertAction{Action: store.ActionReopen, Note: note},
		func(from string) (string, error) {
			if from != store.StatusClosed {
				return "", fmt.Errorf("%w: alert is %s, only a closed alert can be reopened", ErrConflict, from)
			}
			return store.StatusOpen, nil
		})
}

// act reads the alert, checks the transition and appends the action. Two
// analysts acting at the same instant may both pass the check; the log
// keeps both rows and the later one decides the status, which is what a
// reader of the log expects.
func (s *Service) act(ctx context.Context, scope store.Scope, alertID, actor string, a record.AlertAction, next func(from string) (string, error)) (Result, error) {
	if err := name("actor", actor, false); err != nil {
		return Result{}, err
	}
	if len(a.Note) > MaxNoteLen || !utf8.ValidString(a.Note) {
		return Result{}, fmt.Errorf("%w: the note must be valid UTF-8 of at most %d bytes", ErrInvalid, MaxNoteLen)
	}
	cur, err := s.store.Alert(ctx, scope, alertID)
	if err != nil {
		return Result{}, err
	}
	to, err := next(cur.Status)
	if err != nil {
		return Result{}, fmt.Errorf("%s alert %s: %w", a.Action, alertID, err)
	}
	a.ActionID, a.AlertID, a.MSP, a.At, a.Actor = uuid.NewString(), alertID, cur.MSP, s.now().UTC(), actor
	a.StatusFrom, a.StatusTo = cur.Status, to
	if err := s.store.AppendActions(ctx, scope, []record.AlertAction{a}); err != nil {
		return Result{}, err
	}
	// The alert after the action, folded here rather than read back: a
	// read right after the insert would see it, but costs a query.
	cur.Status, cur.ActionAt = to, a.At
	switch a.Action {
	case store.ActionAssign:
		cur.Assignee = a.Assignee
	case store.ActionClose:
		cur.CloseReason = a.Reason
	case store.ActionReopen:
		cur.CloseReason = ""
	}
	res := Result{Action: a, Alert: cur}
	if err := s.publish(ctx, &res); err != nil {
		return res, fmt.Errorf("%s alert %s: %w: %w", a.Action, alertID, ErrNotPublished, err)
	}
	return res, nil
}

// publish tells tripline.alerts about a close or a reopen. The message ID
// is a function of the action, so a retried publish of one action is one
// delivery while a second close after a reopen is another.
func (s *Service) publish(ctx context.Context, r *Result) error {
	var kind string
	switch r.Action.Action {
	case store.ActionClose:
		kind = alert.KindClosed
	case store.ActionReopen:
		kind = alert.KindReopened
	default:
		return nil
	}
	if s.pub == nil {
		return nil
	}
	m := alert.NewMessage(kind, &r.Alert.Alert, r.Action.At)
	m.MessageID = alert.MessageID(r.Alert.AlertID, kind+"/"+r.Action.ActionID, r.Alert.Count)
	m.Status, m.CloseReason, m.Actor = r.Alert.Status, r.Alert.CloseReason, r.Action.Actor
	return s.pub.Publish(ctx, m)
}

// name checks an actor or assignee: printable, bounded.
func name(what, v string, emptyOK bool) error {
	if v == "" {
		if emptyOK {
			return nil
		}
		return fmt.Errorf("%w: %s is required", ErrInvalid, what)
	}
	if len(v) > MaxNameLen || !utf8.ValidString(v) || strings.TrimSpace(v) != v {
		return fmt.Errorf("%w: %s must be at most %d bytes of UTF-8 without surrounding spaces", ErrInvalid, what, MaxNameLen)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalid, what)
		}
	}
	return nil
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	// MinLevel: this level or higher.
	MinLevel string
	MSP      string
	// Since and Until: the incidents active in [Since, Until).
	Since, Until time.Time
	// After is the cursor of the previous page's last incident (the page
	// after it); nil: the first page.
	After *store.Cursor
	Limit int
}

// Incidents lists incidents at MinLevel or above, newest first.
func (s *Service) Incidents(ctx context.Context, scope store.Scope, f IncidentFilter) ([]record.Incident, error) {
	levels, err := LevelsAtLeast(f.MinLevel)
	if err != nil {
		return nil, err
	}
	if f.Limit < 0 || f.Limit > store.MaxAlertLimit {
		return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, f.Limit, store.MaxAlertLimit)
	}
	is, err := s.store.Incidents(ctx, scope, store.IncidentFilter{Levels: levels, MSP: f.MSP, Since: f.Since, Until: f.Until, After: f.After, Limit: f.Limit})
	for i := range is {
		narrow(scope, &is[i], nil)
	}
	return is, err
}

// narrow keeps a tenant scope's caller from learning about the other
// tenants of an incident that spans several: it sees its own tenant and
// the alerts it can read (alerts; none when not known).
func narrow(scope store.Scope, r *record.Incident, alerts []store.AlertState) {
	if scope.Tenant() == "" {
		return
	}
	r.Tenants = []string{scope.Tenant()}
	r.AlertIDs = r.AlertIDs[:0:0]
	for i := range alerts {
		r.AlertIDs = append(r.AlertIDs, alerts[i].AlertID)
	}
}

// IncidentDetail is one incident and its alerts.
type IncidentDetail struct {
	Incident record.Incident
	Alerts   []store.AlertState
}

// Incident returns one incident with (at most store.MaxAlertLimit of) its
// alerts the scope may see.
func (s *Service) Incident(ctx context.Context, scope store.Scope, id string) (IncidentDetail, error) {
	is, err := s.store.Incidents(ctx, scope, store.IncidentFilter{IncidentID: id, Limit: 1})
	if err != nil {
		return IncidentDetail{}, err
	}
	if id == "" || len(is) == 0 {
		return IncidentDetail{}, fmt.Errorf("incident %s: %w", id, store.ErrNotFound)
	}
	as, err := s.store.Alerts(ctx, scope, store.AlertFilter{IncidentID: id, Limit: store.MaxAlertLimit})
	if err != nil {
		return IncidentDetail{}, err
	}
	narrow(scope, &is[0], as)
	return IncidentDetail{Incident: is[0], Alerts: as}, nil
}
