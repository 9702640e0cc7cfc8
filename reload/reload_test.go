package reload

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	var changed atomic.Bool
	reasons := make(chan Reason, 10)
	var wg sync.WaitGroup
	wg.Go(func() {
		Loop(ctx, 5*time.Millisecond, hup, func() bool { return changed.Swap(false) }, func(r Reason) { reasons <- r })
	})
	expect := func(want Reason) {
		t.Helper()
		select {
		case got := <-reasons:
			if got != want {
				t.Fatalf("reload reason %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no reload, want one for %q", want)
		}
	}
	hup <- syscall.SIGHUP
	expect(Signal)
	changed.Store(true)
	expect(Changed)
	// Unchanged files: no reload.
	select {
	case r := <-reasons:
		t.Fatalf("reload %q without a change or a signal", r)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	wg.Wait()
}

// TestLoopNilChanged: with nothing that can change, only a signal reloads.
func TestLoopNilChanged(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	reasons := make(chan Reason, 10)
	var wg sync.WaitGroup
	wg.Go(func() { Loop(ctx, time.Millisecond, hup, nil, func(r Reason) { reasons <- r }) })
	time.Sleep(20 * time.Millisecond)
	if len(reasons) != 0 {
		t.Fatalf("%d reloads without a signal", len(reasons))
	}
	hup <- syscall.SIGHUP
	select {
	case <-reasons:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not reload")
	}
	cancel()
	wg.Wait()
}
