package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The reads behind the MSP access report (package report). Every one is
// bounded by msp (and tenant) on the tables' sorting keys and by a time
// range, and takes a Scope: a tenant viewer may read its own tenant's
// report and nothing else.

// ReportEvent is a stored event as the access report reads it: the
// contract columns it shows and the context object ingest derived from
// the registry.
type ReportEvent struct {
	EventID          string
	EventType        string
	Time             time.Time
	MSP              string
	Tenant           string
	Tool             string
	ActorUser        string
	ActorIP          string
	ActorCountry     string
	ActorASN         *int64
	ActorMFA         *uint8
	ActorRole        string
	TargetHost       string
	TargetHostCount  *int64
	SessionID        string
	SessionDurationS *int64
	SessionAuth      string
	CredentialName   string
	CredentialPriv   *uint8
	PackageName      string
	PackageVersion   string
	PackageSHA256    string
	PackageSigner    string
	PackageSigned    *uint8
	ScriptName       string
	ScriptSHA256     string
	Outcome          string
	Reason           string
	ChangeTicket     string
	// Context is the registry context ingest derived, as the JSON object
	// the normalised event carries ("" when the event was stored without
	// a registry).
	Context string
}

const reportEventColumns = "event_id, event_type, time, msp, tenant, tool, actor_user, actor_ip, actor_country, actor_asn, actor_mfa, actor_role, " +
	"target_host, target_host_count, session_id, session_duration_s, session_auth_method, credential_name, credential_privileged, " +
	"package_name, package_version, package_sha256, package_signer, package_signed, script_name, script_sha256, outcome, reason, change_ticket"

// reportScope checks that scope may read msp's tenant ("" for the MSP's
// console-level events, which a tenant's report reads too: they are the
// logins of the technicians who worked for it).
func reportScope(scope Scope, msp, tenant string) error {
	if !scope.all && scope.msp == "" {
		return errNoScope
	}
	if !scope.AllowsAlert(msp, tenant) && !(tenant == "" && scope.msp == msp) {
		return ErrNotFound
	}
	return nil
}

// secondsRange converts [from, to) to the DateTime second precision of
// 18.16's columns, widened to whole seconds so nothing in range is cut.
func secondsRange(from, to time.Time) (time.Time, time.Time) {
	f := from.UTC().Truncate(time.Second)
	t := to.UTC().Truncate(time.Second)
	if !to.Equal(t) {
		t = t.Add(time.Second)
	}
	return f, t
}

// ReportEvents calls fn with every stored event of msp and tenant (tenant
// "" reads the MSP's console-level events: logins, failed logins, account
// changes) with from <= time < to, deduplicated, in time order. types,
// when not empty, keeps those event types only. fn must not keep e.
func (s *Store) ReportEvents(ctx context.Context, scope Scope, msp, tenant string, from, to time.Time, types []string, fn func(e *ReportEvent) error) error {
	if err := reportScope(scope, msp, tenant); err != nil {
		return fmt.Errorf("report events of %s/%s: %w", msp, tenant, err)
	}
	f, t := secondsRange(from, to)
	q := "SELECT " + reportEventColumns + ", " + contextReadColumns + ", extra, doc FROM " + s.table("events") +
		" FINAL WHERE msp = ? AND tenant = ? AND time >= ? AND time < ?"
	args := []any{msp, tenant, f, t}
	if len(types) > 0 {
		q += " AND has(?, event_type)"
		args = append(args, types)
	}
	rows, err := s.conn.Query(ctx, q+" ORDER BY time, event_id", args...)
	if err != nil {
		return fmt.Errorf("report events of %s/%s: %w", msp, tenant, s.redact(err))
	}
	defer rows.Close()
	var (
		e    ReportEvent
		row  storedEvent
		dest = []any{&e.EventID, &e.EventType, &e.Time, &e.MSP, &e.Tenant, &e.Tool, &e.ActorUser, &e.ActorIP, &e.ActorCountry,
			&e.ActorASN, &e.ActorMFA, &e.ActorRole, &e.TargetHost, &e.TargetHostCount, &e.SessionID, &e.SessionDurationS, &e.SessionAuth,
			&e.CredentialName, &e.CredentialPriv, &e.PackageName, &e.PackageVersion, &e.PackageSHA256, &e.PackageSigner, &e.PackageSigned,
			&e.ScriptName, &e.ScriptSHA256, &e.Outcome, &e.Reason, &e.ChangeTicket}
	)
	dest = append(append(dest, row.ctx.dest()...), &row.extra, &row.doc)
	for rows.Next() {
		e = ReportEvent{}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("report events of %s/%s: %w", msp, tenant, s.redact(err))
		}
		row.ev.EventID = e.EventID
		if e.Context, err = row.contextJSON(); err != nil {
			return fmt.Errorf("report events of %s/%s: %w", msp, tenant, err)
		}
		e.Time = e.Time.UTC()
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report events of %s/%s: %w", msp, tenant, s.redact(err))
	}
	return nil
}

// ActorLastSeen returns, per actor.user, the time of msp's newest event
// by that user with from <= time < to (any tenant, or the console). The
// access review reads it for the registered technicians: only who was
// active, never what they did for other tenants.
func (s *Store) ActorLastSeen(ctx context.Context, scope Scope, msp string, from, to time.Time) (map[string]time.Time, error) {
	if err := reportScope(scope, msp, ""); err != nil {
		return nil, fmt.Errorf("last activity at %s: %w", msp, err)
	}
	f, t := secondsRange(from, to)
	rows, err := s.conn.Query(ctx, "SELECT actor_user, max(time) FROM "+s.table("events")+
		" WHERE msp = ? AND time >= ? AND time < ? AND actor_user != '' GROUP BY actor_user", msp, f, t)
	if err != nil {
		return nil, fmt.Errorf("last activity at %s: %w", msp, s.redact(err))
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			user string
			at   time.Time
		)
		if err := rows.Scan(&user, &at); err != nil {
			return nil, fmt.Errorf("last activity at %s: %w", msp, s.redact(err))
		}
		out[user] = at.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last activity at %s: %w", msp, s.redact(err))
	}
	return out, nil
}

// TenantRef names one tenant of one MSP.
type TenantRef struct {
	MSP    string
	Tenant string
}

// ReportTenants lists the (msp, tenant) pairs with events in [from, to)
// that the scope may see, sorted. msp, when not empty, narrows to it.
func (s *Store) ReportTenants(ctx context.Context, scope Scope, msp string, from, to time.Time) ([]TenantRef, error) {
	cond, args, err := scope.where("tenant = ?")
	if err != nil {
		return nil, fmt.Errorf("report tenants: %w", err)
	}
	f, t := secondsRange(from, to)
	q := "SELECT DISTINCT msp, tenant FROM " + s.table("events") + " WHERE " + cond + " AND tenant != '' AND time >= ? AND time < ?"
	args = append(args, f, t)
	if msp != "" {
		q += " AND msp = ?"
		args = append(args, msp)
	}
	rows, err := s.conn.Query(ctx, q+" ORDER BY msp, tenant", args...)
	if err != nil {
		return nil, fmt.Errorf("report tenants: %w", s.redact(err))
	}
	defer rows.Close()
	var out []TenantRef
	for rows.Next() {
		var r TenantRef
		if err := rows.Scan(&r.MSP, &r.Tenant); err != nil {
			return nil, fmt.Errorf("report tenants: %w", s.redact(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report tenants: %w", s.redact(err))
	}
	return out, nil
}

// TenantDataSince is the time of the oldest stored event of msp's tenant
// (zero when none): with the retention, what a report can cover.
func (s *Store) TenantDataSince(ctx context.Context, scope Scope, msp, tenant string) (time.Time, error) {
	if err := reportScope(scope, msp, tenant); err != nil {
		return time.Time{}, fmt.Errorf("oldest event of %s/%s: %w", msp, tenant, err)
	}
	var (
		n  uint64
		at time.Time
	)
	if err := s.conn.QueryRow(ctx, "SELECT count(), min(time) FROM "+s.table("events")+" WHERE msp = ? AND tenant = ?", msp, tenant).Scan(&n, &at); err != nil {
		return time.Time{}, fmt.Errorf("oldest event of %s/%s: %w", msp, tenant, s.redact(err))
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return at.UTC(), nil
}

var ttlDaysRe = regexp.MustCompile(`TTL\s+toDateTime\(time\)\s*\+\s*(?:toIntervalDay\((\d+)\)|INTERVAL\s+(\d+)\s+DAY)`)

// EventRetentionDays is the events table's TTL in days, 0 when it has
// none (18.16 has no TTL: events are kept until deleted).
func (s *Store) EventRetentionDays(ctx context.Context) (int, error) {
	// On a cluster the TTL is on the shards' events_local; events is the
	// Distributed table over them (docs/cluster.md).
	rows, err := s.conn.Query(ctx, "SELECT create_table_query FROM system.tables WHERE database = ? AND name IN ('events', 'events"+LocalSuffix+"')", s.cfg.Database)
	if err != nil {
		return 0, fmt.Errorf("events retention: %w", s.redact(err))
	}
	defer rows.Close()
	var m []string
	for rows.Next() {
		var create string
		if err := rows.Scan(&create); err != nil {
			return 0, fmt.Errorf("events retention: %w", s.redact(err))
		}
		if found := ttlDaysRe.FindStringSubmatch(create); found != nil {
			m = found
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("events retention: %w", s.redact(err))
	}
	if m == nil {
		return 0, nil
	}
	d, err := strconv.Atoi(m[1] + m[2])
	if err != nil {
		return 0, fmt.Errorf("events retention: TTL %q: %w", strings.TrimSpace(m[0]), err)
	}
	return d, nil
}

// ReportAlert is an alert of a tenant with the outcome of its triage.
type ReportAlert struct {
	AlertID     string
	RuleID      string
	RuleTitle   string
	Level       string
	ActorUser   string
	FirstTime   time.Time
	LastTime    time.Time
	Count       uint64
	IncidentID  string
	Summary     string
	Status      string // open when no action moved it
	CloseReason string
	Assignee    string
	// AckAt is the first acknowledge or close, ClosedAt the latest close
	// while the alert is closed; zero when none.
	AckAt    time.Time
	ClosedAt time.Time
}

// MaxReportAlerts caps TenantAlerts: a tenant-month with more alerts is
// reported as truncated.
const MaxReportAlerts = 5000

// TenantAlerts returns the alerts of msp's tenant active in [from, to)
// (first detection before to, last at or after from), oldest first, at
// most MaxReportAlerts, with their triage outcome folded from
// alert_actions (argMax, as Alerts does: 18.16 has no window functions).
func (s *Store) TenantAlerts(ctx context.Context, scope Scope, msp, tenant string, from, to time.Time) ([]ReportAlert, error) {
	if err := reportScope(scope, msp, tenant); err != nil || tenant == "" {
		if err == nil {
			err = ErrNotFound
		}
		return nil, fmt.Errorf("alerts of %s/%s: %w", msp, tenant, err)
	}
	f, t := secondsRange(from, to)
	where := "msp = ? AND tenant = ? AND first_time < ? AND last_time >= ?"
	q := "SELECT alert_id, rule_id, rule_title, level, actor_user, first_time, last_time, count, incident_id, summary, " +
		"status, close_reason, cur_assignee, ack_ns, closed_ns FROM (" +
		"SELECT alert_id, rule_id, rule_title, level, actor_user, first_time, last_time, count, incident_id, summary FROM " +
		s.table("alerts") + " FINAL WHERE " + where + ") ANY LEFT JOIN (" +
		"SELECT alert_id, argMax(status_to, at_ns) AS status, argMaxIf(reason, at_ns, action = '" + ActionClose + "') AS close_reason, " +
		"argMaxIf(assignee, at_ns, action = '" + ActionAssign + "') AS cur_assignee, " +
		"minIf(at_ns, action IN ('" + ActionAck + "', '" + ActionClose + "')) AS ack_ns, maxIf(at_ns, action = '" + ActionClose + "') AS closed_ns FROM " +
		s.table("alert_actions") + " WHERE msp = ? AND alert_id IN (SELECT alert_id FROM " + s.table("alerts") + " WHERE " + where + ")" +
		" GROUP BY alert_id) USING alert_id ORDER BY first_time, alert_id LIMIT " + strconv.Itoa(MaxReportAlerts)
	args := []any{msp, tenant, t, f, msp, msp, tenant, t, f}
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts of %s/%s: %w", msp, tenant, s.redact(err))
	}
	defer rows.Close()
	var out []ReportAlert
	for rows.Next() {
		var (
			a             ReportAlert
			ackNs, closed int64
		)
		if err := rows.Scan(&a.AlertID, &a.RuleID, &a.RuleTitle, &a.Level, &a.ActorUser, &a.FirstTime, &a.LastTime, &a.Count,
			&a.IncidentID, &a.Summary, &a.Status, &a.CloseReason, &a.Assignee, &ackNs, &closed); err != nil {
			return nil, fmt.Errorf("alerts of %s/%s: %w", msp, tenant, s.redact(err))
		}
		a.FirstTime, a.LastTime = a.FirstTime.UTC(), a.LastTime.UTC()
		if a.Status == "" {
			a.Status = StatusOpen
		}
		// minIf over no rows is 0 on 18.16; a real action is never at 0.
		if ackNs > 0 {
			a.AckAt = time.Unix(0, ackNs).UTC()
		}
		if a.Status == StatusClosed && closed > 0 {
			a.ClosedAt = time.Unix(0, closed).UTC()
		} else {
			a.CloseReason = ""
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts of %s/%s: %w", msp, tenant, s.redact(err))
	}
	return out, nil
}
