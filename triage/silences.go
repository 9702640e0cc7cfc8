package triage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/store"
)

// NewSilence is a request to silence alerts.
type NewSilence struct {
	Matchers []string
	// Starts defaults to now.
	Starts time.Time
	// Ends, or else Starts + For, is required.
	Ends   time.Time
	For    time.Duration
	Author string
	Reason string
	// MSP binds the silence to one MSP. A scoped caller's silences are
	// always bound to its MSP.
	MSP string
}

// CreateSilence validates and stores a silence with a new ID.
func (s *Service) CreateSilence(ctx context.Context, scope store.Scope, req NewSilence) (record.Silence, error) {
	if err := name("author", req.Author, false); err != nil {
		return record.Silence{}, err
	}
	now := s.now().UTC()
	sil := record.Silence{
		SilenceID: uuid.NewString(), Matchers: req.Matchers, Starts: req.Starts.UTC(), Ends: req.Ends.UTC(),
		Author: req.Author, Reason: req.Reason, MSP: req.MSP, CreatedAt: now, UpdatedNs: now.UnixNano(),
	}
	if sil.Starts.IsZero() {
		sil.Starts = now
	}
	if req.Ends.IsZero() && req.For > 0 {
		sil.Ends = sil.Starts.Add(req.For)
	}
	if !scope.All() {
		if sil.MSP != "" && sil.MSP != scope.MSP() {
			return record.Silence{}, fmt.Errorf("silence for msp %q: %w", sil.MSP, store.ErrForbidden)
		}
		sil.MSP = scope.MSP()
	}
	if err := silence.Validate(&sil); err != nil {
		return record.Silence{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// Stored canonical, so lists show what the detector applies.
	sil.Matchers, _ = silence.Canonical(sil.Matchers) // Validate parsed them
	if !sil.Ends.After(now) {
		return record.Silence{}, fmt.Errorf("%w: the silence ends before now", ErrInvalid)
	}
	if err := s.store.SaveSilence(ctx, scope, sil); err != nil {
		return record.Silence{}, err
	}
	return sil, nil
}

// ExpireSilence ends a silence now by storing a new version of it; the
// old versions stay for audit. Expiring an ended silence is a conflict.
func (s *Service) ExpireSilence(ctx context.Context, scope store.Scope, id, actor string) (record.Silence, error) {
	if err := name("actor", actor, false); err != nil {
		return record.Silence{}, err
	}
	sil, err := s.store.Silence(ctx, scope, id)
	if err != nil {
		return record.Silence{}, err
	}
	now := s.now().UTC()
	if !sil.Ends.After(now) {
		return sil, fmt.Errorf("silence %s: %w: it ended at %s", id, ErrConflict, sil.Ends.Format(time.RFC3339))
	}
	sil.Ends, sil.UpdatedNs = now, now.UnixNano()
	if sil.Starts.After(now) {
		// A silence expired before it began never applies; keep the
		// row valid (start before end).
		sil.Starts = now.Add(-time.Nanosecond)
	}
	if err := s.store.SaveSilence(ctx, scope, sil); err != nil {
		return record.Silence{}, err
	}
	return sil, nil
}

// Silences lists silences; expired ones too when all is set.
func (s *Service) Silences(ctx context.Context, scope store.Scope, all bool, limit int) ([]record.Silence, error) {
	if limit < 0 || limit > store.MaxAlertLimit {
		return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, limit, store.MaxAlertLimit)
	}
	return s.store.Silences(ctx, scope, store.SilenceFilter{Active: !all, At: s.now(), Limit: limit})
}

// Silence returns the latest version of one silence.
func (s *Service) Silence(ctx context.Context, scope store.Scope, id string) (record.Silence, error) {
	return s.store.Silence(ctx, scope, id)
}

// SilenceActive reports whether sil holds alerts back now.
func (s *Service) SilenceActive(sil *record.Silence) bool { return silence.Active(sil, s.now()) }
