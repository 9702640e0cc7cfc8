package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/tripline/tripline/record"
)

var frontierColumnNames = []string{"consumer_group", "msp", "frontier_ns", "frontier_event_id", "updated_ns"}

// SaveFrontiers records a detector consumer group's frontiers; the newest
// row per group and msp wins.
func (s *Store) SaveFrontiers(ctx context.Context, group string, fs []record.Frontier) error {
	if len(fs) == 0 {
		return nil
	}
	n := len(fs)
	groups, msp, id := make([]string, n), make([]string, n), make([]string, n)
	at, updated := make([]int64, n), make([]int64, n)
	now := time.Now().UnixNano()
	for i, f := range fs {
		groups[i], msp[i], id[i], at[i], updated[i] = group, f.MSP, f.EventID, f.Time.UnixNano(), now
	}
	err := s.sendBatch(ctx, "correlation_frontiers", frontierColumnNames, func(b driver.Batch) error {
		return appendColumns(b, frontierColumnNames, []any{groups, msp, at, id, updated})
	})
	if err != nil {
		return fmt.Errorf("save %d correlation frontiers: %w", n, err)
	}
	return nil
}

// Frontiers returns a detector consumer group's last recorded frontier of
// every msp.
func (s *Store) Frontiers(ctx context.Context, group string) ([]record.Frontier, error) {
	rows, err := s.conn.Query(ctx, "SELECT msp, argMax(frontier_ns, updated_ns), argMax(frontier_event_id, updated_ns) FROM "+
		s.table("correlation_frontiers")+" WHERE consumer_group = ? GROUP BY msp ORDER BY msp", group)
	if err != nil {
		return nil, fmt.Errorf("load correlation frontiers: %w", s.redact(err))
	}
	defer rows.Close()
	var out []record.Frontier
	for rows.Next() {
		var f record.Frontier
		var ns int64
		if err := rows.Scan(&f.MSP, &ns, &f.EventID); err != nil {
			return nil, fmt.Errorf("load correlation frontiers: %w", s.redact(err))
		}
		f.Time = time.Unix(0, ns).UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load correlation frontiers: %w", s.redact(err))
	}
	return out, nil
}
