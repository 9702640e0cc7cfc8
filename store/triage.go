package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/tripline/tripline/record"
)

// Alert statuses (docs/alerts.md, "Triage"). An alert without actions is
// open.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusClosed       = "closed"
)

// Actions stored in alert_actions.action. Every row carries the status
// after it (status_to); the latest ActionAssign row also sets the
// assignee, the latest ActionClose row the close reason.
const (
	ActionAck    = "ack"
	ActionAssign = "assign"
	ActionNote   = "note"
	ActionClose  = "close"
	ActionReopen = "reopen"
)

// AlertState is an alert with its triage state, folded from its actions.
type AlertState struct {
	record.Alert
	// Status is the latest action's status_to, StatusOpen when none.
	Status string
	// Assignee is the latest assign action's assignee ("" when
	// unassigned).
	Assignee string
	// CloseReason is the latest close action's reason while the alert is
	// closed.
	CloseReason string
	// ActionAt is the time of the latest action (zero when none).
	ActionAt time.Time
}

// AlertFilter selects alerts. Zero fields do not filter.
type AlertFilter struct {
	Status string
	// Levels: any of these (the caller expands "high or above").
	Levels []string
	MSP    string
	Tenant string
	RuleID string
	// ActorUser: the alerts of one actor (the technician's account).
	ActorUser string
	// Assignee: the alerts currently assigned to this user.
	Assignee string
	// IncidentID: the alerts of one incident.
	IncidentID string
	// Since: alerts whose last detection is at or after Since.
	Since time.Time
	// Until: alerts whose first detection is before Until. With Since,
	// the alerts active in [Since, Until).
	Until time.Time
	// After continues a listing after the alert the cursor names (the
	// last of the previous page); nil starts at the newest.
	After *Cursor
	// Limit caps the result (default DefaultAlertLimit, at most
	// MaxAlertLimit).
	Limit int
}

// Cursor is a position in a newest-first list of alerts or incidents
// (last_time descending, then the ID): a keyset cursor. Unlike an OFFSET,
// it neither skips nor repeats rows when new ones arrive at the top while
// an analyst pages; a row whose last_time moves up while the analyst is on
// a later page shows at the top, where it now belongs.
type Cursor struct {
	LastTime time.Time
	ID       string
}

// AlertCursorOf is the cursor just after a.
func AlertCursorOf(a *record.Alert) *Cursor {
	return &Cursor{LastTime: a.LastTime.UTC().Truncate(time.Second), ID: a.AlertID}
}

// IncidentCursorOf is the cursor just after i.
func IncidentCursorOf(i *record.Incident) *Cursor {
	return &Cursor{LastTime: i.LastTime.UTC().Truncate(time.Second), ID: i.IncidentID}
}

// String encodes the cursor for a URL: opaque to callers, but only the
// position, never anything the scope hides.
func (c *Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.LastTime.Unix(), 10) + ":" + c.ID))
}

// ParseCursor decodes Cursor.String.
func ParseCursor(s string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 512 {
		return nil, fmt.Errorf("cursor %.40q: not a cursor of this list", s)
	}
	sec, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(sec, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, fmt.Errorf("cursor %.40q: not a cursor of this list", s)
	}
	return &Cursor{LastTime: time.Unix(n, 0).UTC(), ID: id}, nil
}

// after is the keyset condition of the rows after c in ORDER BY last_time
// DESC, idColumn.
func (c *Cursor) after(idColumn string) (string, []any) {
	t := c.LastTime.UTC().Truncate(time.Second)
	return "(last_time < ? OR (last_time = ? AND " + idColumn + " > ?))", []any{t, t, c.ID}
}

// Result-size bounds of the list queries.
const (
	DefaultAlertLimit = 100
	MaxAlertLimit     = 5000
)

// LimitOf is the number of rows a list asked for n returns at most: a
// page is full, and may have a next, when it holds this many.
func LimitOf(n int) int { return limitOf(n) }

func limitOf(n int) int {
	switch {
	case n <= 0:
		return DefaultAlertLimit
	case n > MaxAlertLimit:
		return MaxAlertLimit
	}
	return n
}

// alertSelect lists the alerts columns AlertState scans, in scan order.
const alertSelect = "alert_id, fingerprint, rule_id, rule_title, level, tags, msp, tenant, actor_user, " +
	"group_keys, group_values, window_start, first_time, last_time, count, event_ids, incident_id, suppressed_by, summary, updated_ns"

// alertsQuery builds the list query: current alert rows (FINAL) joined
// with their folded action log. 18.16 has no window functions, so the
// latest action is argMax by at_ns, and the join is an ANY LEFT JOIN with
// USING (its JOIN ... ON is too limited); an alert without actions gets
// the join's defaults (an empty status, read as open).
func (s *Store) alertsQuery(scope Scope, f AlertFilter, alertID string) (string, []any, error) {
	scopeCond, args, err := scope.where("tenant = ?")
	if err != nil {
		return "", nil, err
	}
	conds := []string{scopeCond}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if alertID != "" {
		add("alert_id = ?", alertID)
	}
	if f.MSP != "" {
		add("msp = ?", f.MSP)
	}
	if f.Tenant != "" {
		add("tenant = ?", f.Tenant)
	}
	if f.RuleID != "" {
		add("rule_id = ?", f.RuleID)
	}
	if f.ActorUser != "" {
		add("actor_user = ?", f.ActorUser)
	}
	if f.IncidentID != "" {
		add("incident_id = ?", f.IncidentID)
	}
	if len(f.Levels) > 0 {
		add("has(?, level)", f.Levels)
	}
	if !f.Since.IsZero() {
		// Seconds: 18.16 stores DateTime.
		add("last_time >= ?", f.Since.UTC().Truncate(time.Second))
	}
	if !f.Until.IsZero() {
		add("first_time < ?", f.Until.UTC().Truncate(time.Second))
	}
	if c := f.After; c != nil {
		cond, a := c.after("alert_id")
		conds, args = append(conds, cond), append(args, a...)
	}
	// The action log is folded only for the alerts the filter selects
	// (which the scope confines), and by msp, its column being the
	// alert's, so the grouped subquery stays as small as the answer.
	actScope, actArgs, _ := OnlyMSP(scope.msp).where("")
	if scope.all {
		actScope, actArgs = "1", nil
	}
	where := strings.Join(conds, " AND ")
	filterArgs := args
	args = append(append(append([]any{}, filterArgs...), actArgs...), filterArgs...)
	q := "SELECT " + alertSelect + ", status, cur_assignee, close_reason, action_ns FROM (" +
		"SELECT " + alertSelect + " FROM " + s.table("alerts") + " FINAL WHERE " + where +
		") ANY LEFT JOIN (" +
		"SELECT alert_id, argMax(status_to, at_ns) AS status, argMaxIf(assignee, at_ns, action = '" + ActionAssign + "') AS cur_assignee, " +
		"argMaxIf(reason, at_ns, action = '" + ActionClose + "') AS close_reason, max(at_ns) AS action_ns FROM " + s.table("alert_actions") +
		" WHERE " + actScope + " AND alert_id IN (SELECT alert_id FROM " + s.table("alerts") + " WHERE " + where + ")"
	q += " GROUP BY alert_id) USING alert_id"
	// The triage state is known only after the join.
	var after []string
	if f.Status != "" {
		if f.Status == StatusOpen {
			after = append(after, "status IN ('', ?)")
		} else {
			after = append(after, "status = ?")
		}
		args = append(args, f.Status)
	}
	if f.Assignee != "" {
		after = append(after, "cur_assignee = ?")
		args = append(args, f.Assignee)
	}
	if len(after) > 0 {
		q += " WHERE " + strings.Join(after, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY last_time DESC, alert_id LIMIT %d", limitOf(f.Limit))
	return q, args, nil
}

// Alerts lists alerts with their triage state, newest last detection
// first.
func (s *Store) Alerts(ctx context.Context, scope Scope, f AlertFilter) ([]AlertState, error) {
	q, args, err := s.alertsQuery(scope, f, "")
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	out, err := s.queryAlerts(ctx, q, args)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// Alert returns one alert with its triage state; ErrNotFound when it does
// not exist or the scope may not see it.
func (s *Store) Alert(ctx context.Context, scope Scope, alertID string) (AlertState, error) {
	if alertID == "" {
		return AlertState{}, fmt.Errorf("alert: %w", ErrNotFound)
	}
	q, args, err := s.alertsQuery(scope, AlertFilter{Limit: 1}, alertID)
	if err != nil {
		return AlertState{}, fmt.Errorf("alert %s: %w", alertID, err)
	}
	out, err := s.queryAlerts(ctx, q, args)
	if err != nil {
		return AlertState{}, fmt.Errorf("alert %s: %w", alertID, err)
	}
	if len(out) == 0 {
		return AlertState{}, fmt.Errorf("alert %s: %w", alertID, ErrNotFound)
	}
	return out[0], nil
}

func (s *Store) queryAlerts(ctx context.Context, q string, args []any) ([]AlertState, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, s.redact(err)
	}
	defer rows.Close()
	var out []AlertState
	for rows.Next() {
		var (
			st       AlertState
			a        = &st.Alert
			actionNs int64
		)
		if err := rows.Scan(&a.AlertID, &a.Fingerprint, &a.RuleID, &a.RuleTitle, &a.Level, &a.Tags, &a.MSP, &a.Tenant, &a.ActorUser,
			&a.GroupKeys, &a.GroupValues, &a.WindowStart, &a.FirstTime, &a.LastTime, &a.Count, &a.EventIDs,
			&a.IncidentID, &a.SuppressedBy, &a.Summary, &a.UpdatedNs,
			&st.Status, &st.Assignee, &st.CloseReason, &actionNs); err != nil {
			return nil, s.redact(err)
		}
		if st.Status == "" {
			st.Status = StatusOpen
		}
		if st.Status != StatusClosed {
			st.CloseReason = ""
		}
		if actionNs != 0 {
			st.ActionAt = time.Unix(0, actionNs).UTC()
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.redact(err)
	}
	return out, nil
}

var actionColumnNames = []string{
	"action_id", "alert_id", "msp", "at_ns", "actor", "action", "status_from", "status_to", "assignee", "reason", "note",
}

// AppendActions appends rows to the triage log. Every row must name an
// alert and an action ID and belong to an MSP the scope allows.
func (s *Store) AppendActions(ctx context.Context, scope Scope, acts []record.AlertAction) error {
	if len(acts) == 0 {
		return nil
	}
	n := len(acts)
	str := func() []string { return make([]string, n) }
	id, alert, msp, actor, action, from, to, assignee, reason, note := str(), str(), str(), str(), str(), str(), str(), str(), str(), str()
	at := make([]int64, n)
	for i := range acts {
		a := &acts[i]
		if a.ActionID == "" || a.AlertID == "" || a.At.IsZero() {
			return fmt.Errorf("append alert actions: row %d has no action ID, alert ID or time", i)
		}
		// A tenant scope's caller acts only on alerts it could read
		// (triage reads the alert first); the log has no tenant column.
		if !scope.all && (scope.msp == "" || scope.msp != a.MSP) {
			return fmt.Errorf("append alert actions: alert %s: %w", a.AlertID, ErrForbidden)
		}
		id[i], alert[i], msp[i], at[i], actor[i], action[i] = a.ActionID, a.AlertID, a.MSP, a.At.UnixNano(), a.Actor, a.Action
		from[i], to[i], assignee[i], reason[i], note[i] = a.StatusFrom, a.StatusTo, a.Assignee, a.Reason, a.Note
	}
	cols := []any{id, alert, msp, at, actor, action, from, to, assignee, reason, note}
	if err := s.sendBatch(ctx, "alert_actions", actionColumnNames, func(b driver.Batch) error {
		return appendColumns(b, actionColumnNames, cols)
	}); err != nil {
		return fmt.Errorf("append alert actions: %w", err)
	}
	return nil
}

// AlertActions returns an alert's triage log, oldest first.
func (s *Store) AlertActions(ctx context.Context, scope Scope, alertID string) ([]record.AlertAction, error) {
	// The log has no tenant column: a tenant scope reads the log of an
	// alert of its tenant.
	cond, args, err := scope.where("alert_id IN (SELECT alert_id FROM " + s.table("alerts") + " WHERE tenant = ?)")
	if err != nil {
		return nil, fmt.Errorf("alert %s actions: %w", alertID, err)
	}
	// DISTINCT drops a duplicate the ReplacingMergeTree has not merged yet
	// (the same action_id sent twice by a retry).
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT "+strings.Join(actionColumnNames, ", ")+" FROM "+s.table("alert_actions")+
		" WHERE alert_id = ? AND "+cond+" ORDER BY at_ns, action_id", append([]any{alertID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("alert %s actions: %w", alertID, s.redact(err))
	}
	defer rows.Close()
	var out []record.AlertAction
	for rows.Next() {
		var (
			a  record.AlertAction
			ns int64
		)
		if err := rows.Scan(&a.ActionID, &a.AlertID, &a.MSP, &ns, &a.Actor, &a.Action, &a.StatusFrom, &a.StatusTo, &a.Assignee, &a.Reason, &a.Note); err != nil {
			return nil, fmt.Errorf("alert %s actions: %w", alertID, s.redact(err))
		}
		a.At = time.Unix(0, ns).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert %s actions: %w", alertID, s.redact(err))
	}
	return out, nil
}

// AlertDetection is a stored detection of an alert.
type AlertDetection struct {
	DetectionID  string
	RuleID       string
	Level        string
	Tenant       string
	ActorUser    string
	FirstTime    time.Time
	LastTime     time.Time
	EventIDs     []string
	Summary      string
	DetectedAt   time.Time
	IncidentID   string
	SuppressedBy string
}

// MaxAlertDetections caps AlertDetections: a mass push can put thousands
// of detections in one alert, and the alert's count says how many.
const MaxAlertDetections = 1000

// AlertDetections returns the detections of alert a (as read by Alert),
// oldest first, at most limit (default and cap MaxAlertDetections).
func (s *Store) AlertDetections(ctx context.Context, scope Scope, a *record.Alert, limit int) ([]AlertDetection, error) {
	if !scope.AllowsAlert(a.MSP, a.Tenant) {
		return nil, fmt.Errorf("alert %s detections: %w", a.AlertID, ErrNotFound)
	}
	if limit <= 0 || limit > MaxAlertDetections {
		limit = MaxAlertDetections
	}
	// msp and rule_id lead the detections' sorting key. An alert grouped
	// across tenants (by package, say) holds other tenants' detections: a
	// tenant scope sees only its own.
	cond, args := "msp = ? AND rule_id = ? AND alert_id = ?", []any{a.MSP, a.RuleID, a.AlertID}
	if t := scope.Tenant(); t != "" {
		cond, args = cond+" AND tenant = ?", append(args, t)
	}
	rows, err := s.conn.Query(ctx, "SELECT detection_id, rule_id, level, tenant, actor_user, first_time, last_time, event_ids, summary, detected_at, incident_id, suppressed_by FROM "+
		s.table("detections")+fmt.Sprintf(" FINAL WHERE %s ORDER BY first_time, detection_id LIMIT %d", cond, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("alert %s detections: %w", a.AlertID, s.redact(err))
	}
	defer rows.Close()
	var out []AlertDetection
	for rows.Next() {
		var d AlertDetection
		if err := rows.Scan(&d.DetectionID, &d.RuleID, &d.Level, &d.Tenant, &d.ActorUser, &d.FirstTime, &d.LastTime, &d.EventIDs,
			&d.Summary, &d.DetectedAt, &d.IncidentID, &d.SuppressedBy); err != nil {
			return nil, fmt.Errorf("alert %s detections: %w", a.AlertID, s.redact(err))
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert %s detections: %w", a.AlertID, s.redact(err))
	}
	return out, nil
}

// IncidentFilter selects incidents. Zero fields do not filter.
type IncidentFilter struct {
	IncidentID string
	Levels     []string
	MSP        string
	Since      time.Time
	// Until: incidents whose first alert is before Until.
	Until time.Time
	// After continues a listing after the incident the cursor names (the
	// last of the previous page); nil starts at the newest.
	After *Cursor
	Limit int
}

// Incidents lists incidents, newest last alert first.
func (s *Store) Incidents(ctx context.Context, scope Scope, f IncidentFilter) ([]record.Incident, error) {
	cond, args, err := scope.where("has(tenants, ?)")
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	conds := []string{cond}
	if f.IncidentID != "" {
		conds, args = append(conds, "incident_id = ?"), append(args, f.IncidentID)
	}
	if f.MSP != "" {
		conds, args = append(conds, "msp = ?"), append(args, f.MSP)
	}
	if len(f.Levels) > 0 {
		conds, args = append(conds, "has(?, level)"), append(args, f.Levels)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "last_time >= ?"), append(args, f.Since.UTC().Truncate(time.Second))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "first_time < ?"), append(args, f.Until.UTC().Truncate(time.Second))
	}
	if c := f.After; c != nil {
		cond, a := c.after("incident_id")
		conds, args = append(conds, cond), append(args, a...)
	}
	// An incident that merged into another is written once more with no
	// alerts (alert.Grouper): skip it. The filter is outside the FINAL
	// subquery so that no server moves it before the merge (PREWHERE).
	cols := "incident_id, msp, entity_kind, entity_value, level, window_start, first_time, last_time, alert_ids, tenants, rule_ids, updated_ns"
	rows, err := s.conn.Query(ctx, "SELECT "+cols+" FROM (SELECT "+cols+", alert_count FROM "+
		s.table("incidents")+" FINAL WHERE "+strings.Join(conds, " AND ")+") WHERE alert_count > 0"+
		fmt.Sprintf(" ORDER BY last_time DESC, incident_id LIMIT %d", limitOf(f.Limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", s.redact(err))
	}
	defer rows.Close()
	var out []record.Incident
	for rows.Next() {
		var r record.Incident
		if err := rows.Scan(&r.IncidentID, &r.MSP, &r.EntityKind, &r.EntityValue, &r.Level, &r.WindowStart, &r.FirstTime, &r.LastTime,
			&r.AlertIDs, &r.Tenants, &r.RuleIDs, &r.UpdatedNs); err != nil {
			return nil, fmt.Errorf("list incidents: %w", s.redact(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", s.redact(err))
	}
	return out, nil
}
