package triage

import (
	"context"
	"fmt"
	"slices"

	"github.com/tripline/tripline/store"
)

// MaxBulk bounds one bulk operation: a queue page's worth of alerts.
const MaxBulk = 500

// BulkOutcome is what a bulk operation did to one alert.
type BulkOutcome struct {
	AlertID string
	Result  Result
	// Err is why the alert was not changed (or, with Result.Action set,
	// a warning about a stored action).
	Err error
}

// Bulk acknowledges (store.ActionAck) or closes (store.ActionClose, with
// reason) each alert of ids, one action row per alert, as Ack and Close
// do one by one. One alert's failure (already closed, out of scope) does
// not stop the others; the outcome of each is returned in ids' order.
// Duplicated IDs are acted on once.
func (s *Service) Bulk(ctx context.Context, scope store.Scope, ids []string, action, actor, reason, note string) ([]BulkOutcome, error) {
	if action != store.ActionAck && action != store.ActionClose {
		return nil, fmt.Errorf("%w: bulk action %q: want %s or %s", ErrInvalid, action, store.ActionAck, store.ActionClose)
	}
	if action == store.ActionClose && !slices.Contains(CloseReasons, reason) {
		return nil, fmt.Errorf("%w: close reason %q: want one of %v", ErrInvalid, reason, CloseReasons)
	}
	if len(ids) == 0 || len(ids) > MaxBulk {
		return nil, fmt.Errorf("%w: %d alerts selected: want 1 to %d", ErrInvalid, len(ids), MaxBulk)
	}
	seen := make(map[string]bool, len(ids))
	out := make([]BulkOutcome, 0, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var (
			res Result
			err error
		)
		if action == store.ActionAck {
			res, err = s.Ack(ctx, scope, id, actor, note)
		} else {
			res, err = s.Close(ctx, scope, id, actor, reason, note)
		}
		out = append(out, BulkOutcome{AlertID: id, Result: res, Err: err})
	}
	return out, nil
}
