package store

import (
	"context"
	"fmt"
	"time"
)

// ReplayEvents calls fn with the normalised JSON of the stored events of
// one MSP with from <= time < to, in event-time order, deduplicated
// (FINAL): the bytes ingest produced, rebuilt from the event's columns
// (or a row's doc when it was written before migration 0007, see
// storedEvent). The range is applied at the column's precision
// (milliseconds, or seconds on servers without DateTime64) and widened by
// one second at both ends, so callers that need the exact bounds filter
// on the decoded time. The detector rebuilds its correlation state from
// it after a restart or a rebalance.
func (s *Store) ReplayEvents(ctx context.Context, msp string, from, to time.Time, fn func(doc []byte) error) error {
	rows, err := s.conn.Query(ctx, "SELECT "+eventReadColumns+" FROM "+s.table("events")+" FINAL WHERE msp = ? AND time >= ? AND time < ? ORDER BY time, event_id",
		msp, from.UTC().Add(-time.Second).Truncate(time.Second), to.UTC().Add(time.Second).Truncate(time.Second).Add(time.Second))
	if err != nil {
		return fmt.Errorf("replay events of %s: %w", msp, s.redact(err))
	}
	defer rows.Close()
	var r storedEvent
	dest := r.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("replay events of %s: %w", msp, s.redact(err))
		}
		doc, err := r.normalised()
		if err != nil {
			return fmt.Errorf("replay events of %s: %w", msp, err)
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("replay events of %s: %w", msp, s.redact(err))
	}
	return nil
}
