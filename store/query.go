package store

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/tripline/tripline/record"
)

// CountEvents returns the events stored, deduplicated (FINAL collapses
// rows a replay inserted again), and the distinct event IDs among them. The
// two differ only if one event_id was stored under different msp, tenant or
// time, which points at an ID collision upstream. FINAL reads the whole
// table: this is for tests, the demo and health checks, not dashboards.
func (s *Store) CountEvents(ctx context.Context) (rows, distinctIDs uint64, err error) {
	err = s.conn.QueryRow(ctx, "SELECT count(), uniqExact(event_id) FROM "+s.table("events")+" FINAL").Scan(&rows, &distinctIDs)
	if err != nil {
		return 0, 0, fmt.Errorf("count events: %w", s.redact(err))
	}
	return rows, distinctIDs, nil
}

// Detections returns every stored detection, deduplicated, ordered by
// first_time then detection_id. It reads the whole table: for tests and
// the demo.
func (s *Store) Detections(ctx context.Context) ([]record.Detection, error) {
	rows, err := s.conn.Query(ctx, "SELECT "+strings.Join(detectionColumnNames, ", ")+
		" FROM "+s.table("detections")+" FINAL ORDER BY first_time, detection_id")
	if err != nil {
		return nil, fmt.Errorf("read detections: %w", s.redact(err))
	}
	defer rows.Close()
	var out []record.Detection
	for rows.Next() {
		var (
			d         record.Detection
			partition int32
		)
		if err := rows.Scan(&d.DetectionID, &d.RuleID, &d.RuleTitle, &d.Level, &d.Tags, &d.MSP, &d.Tenant, &d.ActorUser,
			&d.FirstTime, &d.LastTime, &d.EventIDs, &d.Summary, &d.DetectedAt,
			&d.Topic, &partition, &d.Offset, &d.AlertID, &d.IncidentID, &d.SuppressedBy); err != nil {
			return nil, fmt.Errorf("read detections: %w", s.redact(err))
		}
		d.Partition = int(partition)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read detections: %w", s.redact(err))
	}
	return out, nil
}

// DetectionsByRule returns the number of distinct detections per rule_id.
func (s *Store) DetectionsByRule(ctx context.Context) (map[string]uint64, error) {
	rows, err := s.conn.Query(ctx, "SELECT rule_id, uniqExact(detection_id) FROM "+s.table("detections")+" GROUP BY rule_id")
	if err != nil {
		return nil, fmt.Errorf("detections by rule: %w", s.redact(err))
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var rule string
		var n uint64
		if err := rows.Scan(&rule, &n); err != nil {
			return nil, fmt.Errorf("detections by rule: %w", s.redact(err))
		}
		out[rule] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("detections by rule: %w", s.redact(err))
	}
	return out, nil
}

//go:embed queries.sql
var analystSQL string

// Query is one of the example analyst queries in queries.sql.
type Query struct {
	Name        string
	Description string
	SQL         string
}

// AnalystQueries returns the example queries of queries.sql: what SOC
// analysts run against the default "tripline" database, with literal
// example values to replace. They work on 18.16 and on current releases.
func AnalystQueries() []Query {
	var out []Query
	for _, block := range strings.Split(analystSQL, "\n-- name: ")[1:] {
		name, rest, _ := strings.Cut(block, "\n")
		q := Query{Name: strings.TrimSpace(name)}
		var sql []string
		for _, line := range strings.Split(rest, "\n") {
			if d, ok := strings.CutPrefix(line, "-- "); ok && len(sql) == 0 {
				q.Description = strings.TrimSpace(q.Description + " " + d)
				continue
			}
			sql = append(sql, line)
		}
		q.SQL = strings.TrimRight(strings.TrimSpace(strings.Join(sql, "\n")), ";")
		out = append(out, q)
	}
	return out
}
