package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/tripline/tripline/record"
)

var alertColumnNames = []string{
	"alert_id", "fingerprint", "rule_id", "rule_title", "level", "tags", "msp", "tenant", "actor_user",
	"group_keys", "group_values", "window_start", "first_time", "last_time", "count", "event_ids",
	"incident_id", "suppressed_by", "summary", "updated_ns",
}

var incidentColumnNames = []string{
	"incident_id", "msp", "entity_kind", "entity_value", "level", "window_start", "first_time", "last_time",
	"alert_count", "alert_ids", "tenants", "rule_ids", "updated_ns",
}

// InsertAlerts writes alert versions as one batch; the row with the
// highest UpdatedNs of an alert wins (ReplacingMergeTree). A zero
// UpdatedNs is stamped with the current time.
func (s *Store) InsertAlerts(ctx context.Context, as []record.Alert) error {
	if len(as) == 0 {
		return nil
	}
	n := len(as)
	str := func() []string { return make([]string, n) }
	id, fp, rule, title, level, msp, tenant, user, inc, sup, summary := str(), str(), str(), str(), str(), str(), str(), str(), str(), str(), str()
	tags, keys, vals, events := make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
	win, first, last := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	count, updated := make([]uint64, n), make([]int64, n)
	now := time.Now().UnixNano()
	for i := range as {
		a := &as[i]
		if a.AlertID == "" || a.MSP == "" {
			return fmt.Errorf("insert alerts: row %d (rule %s) has no alert_id or msp", i, a.RuleID)
		}
		id[i], fp[i], rule[i], title[i], level[i] = a.AlertID, a.Fingerprint, a.RuleID, a.RuleTitle, a.Level
		msp[i], tenant[i], user[i], inc[i], sup[i], summary[i] = a.MSP, a.Tenant, a.ActorUser, a.IncidentID, a.SuppressedBy, a.Summary
		tags[i], keys[i], vals[i], events[i] = a.Tags, a.GroupKeys, a.GroupValues, a.EventIDs
		win[i], first[i], last[i] = a.WindowStart.UTC(), a.FirstTime.UTC(), a.LastTime.UTC()
		count[i], updated[i] = a.Count, a.UpdatedNs
		if updated[i] == 0 {
			updated[i] = now
		}
	}
	cols := []any{id, fp, rule, title, level, tags, msp, tenant, user, keys, vals, win, first, last, count, events, inc, sup, summary, updated}
	if err := s.sendBatch(ctx, "alerts", alertColumnNames, func(b driver.Batch) error {
		return appendColumns(b, alertColumnNames, cols)
	}); err != nil {
		return fmt.Errorf("insert alerts: %d rows: %w", n, err)
	}
	return nil
}

// InsertIncidents writes incident versions as one batch, like InsertAlerts.
func (s *Store) InsertIncidents(ctx context.Context, is []record.Incident) error {
	if len(is) == 0 {
		return nil
	}
	n := len(is)
	id, msp, kind, value, level := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	win, first, last := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	count, updated := make([]uint64, n), make([]int64, n)
	alerts, tenants, rules := make([][]string, n), make([][]string, n), make([][]string, n)
	now := time.Now().UnixNano()
	for i := range is {
		r := &is[i]
		if r.IncidentID == "" || r.MSP == "" {
			return fmt.Errorf("insert incidents: row %d has no incident_id or msp", i)
		}
		id[i], msp[i], kind[i], value[i], level[i] = r.IncidentID, r.MSP, r.EntityKind, r.EntityValue, r.Level
		win[i], first[i], last[i] = r.WindowStart.UTC(), r.FirstTime.UTC(), r.LastTime.UTC()
		count[i], alerts[i], tenants[i], rules[i] = uint64(len(r.AlertIDs)), r.AlertIDs, r.Tenants, r.RuleIDs
		updated[i] = r.UpdatedNs
		if updated[i] == 0 {
			updated[i] = now
		}
	}
	cols := []any{id, msp, kind, value, level, win, first, last, count, alerts, tenants, rules, updated}
	if err := s.sendBatch(ctx, "incidents", incidentColumnNames, func(b driver.Batch) error {
		return appendColumns(b, incidentColumnNames, cols)
	}); err != nil {
		return fmt.Errorf("insert incidents: %d rows: %w", n, err)
	}
	return nil
}
