package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/tripline/tripline/record"
)

var silenceColumnNames = []string{"silence_id", "matchers", "starts_ns", "ends_ns", "author", "reason", "msp", "created_ns", "updated_ns"}

// SaveSilence stores a version of a silence: creating one and expiring one
// (a version with Ends = now) are both a new row, and the highest
// UpdatedNs wins, so expired silences stay for audit. The caller
// validates it (silence.Validate); a scoped caller may only save silences
// bound to its own MSP.
func (s *Store) SaveSilence(ctx context.Context, scope Scope, sil record.Silence) error {
	if sil.SilenceID == "" {
		return fmt.Errorf("save silence: no silence ID")
	}
	if !scope.Allows(sil.MSP) {
		return fmt.Errorf("save silence %s: %w", sil.SilenceID, ErrForbidden)
	}
	if sil.UpdatedNs == 0 {
		sil.UpdatedNs = time.Now().UnixNano()
	}
	if sil.CreatedAt.IsZero() {
		sil.CreatedAt = time.Unix(0, sil.UpdatedNs)
	}
	cols := []any{
		[]string{sil.SilenceID}, [][]string{sil.Matchers}, []int64{sil.Starts.UnixNano()}, []int64{sil.Ends.UnixNano()},
		[]string{sil.Author}, []string{sil.Reason}, []string{sil.MSP}, []int64{sil.CreatedAt.UnixNano()}, []int64{sil.UpdatedNs},
	}
	if err := s.sendBatch(ctx, "silences", silenceColumnNames, func(b driver.Batch) error {
		return appendColumns(b, silenceColumnNames, cols)
	}); err != nil {
		return fmt.Errorf("save silence %s: %w", sil.SilenceID, err)
	}
	return nil
}

// SilenceFilter selects silences.
type SilenceFilter struct {
	// Active: only silences that have not ended at At (including ones
	// that start later); otherwise expired ones are listed too.
	Active bool
	At     time.Time
	Limit  int
}

// Silences lists silences, latest versions only, newest start first.
func (s *Store) Silences(ctx context.Context, scope Scope, f SilenceFilter) ([]record.Silence, error) {
	cond, args, err := scope.where("")
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	if f.Active {
		at := f.At
		if at.IsZero() {
			at = time.Now()
		}
		cond += " AND ends_ns > ?"
		args = append(args, at.UnixNano())
	}
	out, err := s.querySilences(ctx, cond, args, fmt.Sprintf(" ORDER BY starts_ns DESC, silence_id LIMIT %d", limitOf(f.Limit)))
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// Silence returns the latest version of one silence; ErrNotFound when it
// does not exist or the scope may not see it.
func (s *Store) Silence(ctx context.Context, scope Scope, id string) (record.Silence, error) {
	cond, args, err := scope.where("")
	if err != nil {
		return record.Silence{}, fmt.Errorf("silence %s: %w", id, err)
	}
	out, err := s.querySilences(ctx, "silence_id = ? AND "+cond, append([]any{id}, args...), "")
	if err != nil {
		return record.Silence{}, fmt.Errorf("silence %s: %w", id, err)
	}
	if len(out) == 0 {
		return record.Silence{}, fmt.Errorf("silence %s: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// ActiveSilences returns every MSP's silences that have not ended at at,
// including those that start later, for the detector's silence.Set (which
// checks the start itself, so a set built now stays right until the next
// refresh).
func (s *Store) ActiveSilences(ctx context.Context, at time.Time) ([]record.Silence, error) {
	out, err := s.querySilences(ctx, "ends_ns > ?", []any{at.UnixNano()}, " ORDER BY silence_id")
	if err != nil {
		return nil, fmt.Errorf("active silences: %w", err)
	}
	return out, nil
}

// querySilences reads the latest version of each silence (argMax by
// updated_ns rather than FINAL: the newest version may be unmerged), then
// filters on it: an expired version must hide the active one it replaced.
func (s *Store) querySilences(ctx context.Context, cond string, args []any, tail string) ([]record.Silence, error) {
	// Aliases differ from the column names: ClickHouse resolves a name to
	// an alias first, and argMax(x, updated_ns) next to "max(updated_ns)
	// AS updated_ns" would nest one aggregate in another.
	latest := "SELECT silence_id, argMax(matchers, updated_ns) AS l_matchers, argMax(starts_ns, updated_ns) AS l_starts, " +
		"argMax(ends_ns, updated_ns) AS l_ends, argMax(author, updated_ns) AS l_author, argMax(reason, updated_ns) AS l_reason, " +
		"argMax(msp, updated_ns) AS l_msp, min(created_ns) AS l_created, max(updated_ns) AS l_updated FROM " + s.table("silences") +
		" GROUP BY silence_id"
	rows, err := s.conn.Query(ctx, "SELECT silence_id, l_matchers AS matchers, l_starts AS starts_ns, l_ends AS ends_ns, l_author AS author, "+
		"l_reason AS reason, l_msp AS msp, l_created AS created_ns, l_updated AS updated_ns FROM ("+latest+") WHERE "+cond+tail, args...)
	if err != nil {
		return nil, s.redact(err)
	}
	defer rows.Close()
	var out []record.Silence
	for rows.Next() {
		var (
			r                     record.Silence
			starts, ends, created int64
		)
		if err := rows.Scan(&r.SilenceID, &r.Matchers, &starts, &ends, &r.Author, &r.Reason, &r.MSP, &created, &r.UpdatedNs); err != nil {
			return nil, s.redact(err)
		}
		r.Starts, r.Ends, r.CreatedAt = time.Unix(0, starts).UTC(), time.Unix(0, ends).UTC(), time.Unix(0, created).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.redact(err)
	}
	return out, nil
}
