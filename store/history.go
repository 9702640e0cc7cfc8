package store

import (
	"context"
	"fmt"
	"time"
)

// ReplayEvents calls fn with the normalised JSON (the doc column) of the
// stored events of one MSP with from <= time < to, in event-time order,
// deduplicated (FINAL). The range is applied at the column's precision
// (milliseconds, or seconds on servers without DateTime64) and widened by
// one second at both ends, so callers that need the exact bounds filter
// on the decoded time. The detector rebuilds its correlation state from
// it after a restart or a rebalance.
func (s *Store) ReplayEvents(ctx context.Context, msp string, from, to time.Time, fn func(doc []byte) error) error {
	rows, err := s.conn.Query(ctx, "SELECT doc FROM "+s.table("events")+" FINAL WHERE msp = ? AND time >= ? AND time < ? ORDER BY time, event_id",
		msp, from.UTC().Add(-time.Second).Truncate(time.Second), to.UTC().Add(time.Second).Truncate(time.Second).Add(time.Second))
	if err != nil {
		return fmt.Errorf("replay events of %s: %w", msp, s.redact(err))
	}
	defer rows.Close()
	var doc string
	for rows.Next() {
		if err := rows.Scan(&doc); err != nil {
			return fmt.Errorf("replay events of %s: %w", msp, s.redact(err))
		}
		if err := fn([]byte(doc)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("replay events of %s: %w", msp, s.redact(err))
	}
	return nil
}
