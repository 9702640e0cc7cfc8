package reload

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Reason says why Loop asks for a reload.
type Reason string

const (
	// Signal: SIGHUP (or a value on the test channel).
	Signal Reason = "SIGHUP"
	// Changed: the poll found the files changed.
	Changed Reason = "changed"
)

// Loop calls reload on SIGHUP and whenever changed reports true, polled
// every `every`, until ctx is done. hup replaces SIGHUP when non-nil (tests
// send on it); changed may be nil when nothing can change (an embedded rule
// pack), leaving only SIGHUP.
func Loop(ctx context.Context, every time.Duration, hup <-chan os.Signal, changed func() bool, reload func(Reason)) {
	if hup == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGHUP)
		defer signal.Stop(sig)
		hup = sig
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload(Signal)
		case <-tick.C:
			if changed != nil && changed() {
				reload(Changed)
			}
		}
	}
}
