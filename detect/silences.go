package detect

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/silence"
)

// silenceWatcher keeps the silences in force, read from the store. A read
// that fails keeps the previous set: silences end on their own, and an
// outage of the store must not unsilence (and page for) what analysts
// muted.
type silenceWatcher struct {
	src   SilenceSource
	every time.Duration
	log   zerolog.Logger
	set   atomic.Pointer[silence.Set]
}

func (w *silenceWatcher) run(ctx context.Context) {
	every := w.every
	if every <= 0 {
		every = DefaultSilenceRefresh
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.refresh(ctx)
		}
	}
}

func (w *silenceWatcher) refresh(ctx context.Context) {
	rows, err := w.src.ActiveSilences(ctx, time.Now())
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn().Err(err).Msg("cannot read silences; keeping the previous ones")
		}
		return
	}
	set, err := silence.NewSet(rows)
	if err != nil {
		// NewSet skips what it cannot compile and reports it; the rest
		// still applies.
		w.log.Warn().Err(err).Msg("some silences are invalid and are ignored")
	}
	if set != nil {
		w.set.Store(set)
	}
}
