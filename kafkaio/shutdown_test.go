package kafkaio_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
)

// TestShutdownWithUnflushableBatch: SIGTERM while a batch cannot be written
// (its store down) ends Run without an error, within the shutdown timeout,
// with nothing committed; the next consumer of the group gets every message.
// Before, Run returned the batch's error (the process exited 1) after the
// whole timeout and then some.
func TestShutdownWithUnflushableBatch(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Topics: []string{"t"}})
	cfg := b.Config()
	produce(t, cfg, "t", 0, 50)

	r, err := cfg.NewGroupReader("g", []string{"t"}, kafkaio.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down := &recorder{failures: 1 << 30, seen: map[string]int{}}
	const timeout = 2 * time.Second
	c := &kafkaio.Consumer{Fetcher: r, Handler: down, BatchSize: 100, FlushInterval: 20 * time.Millisecond,
		ShutdownTimeout: timeout, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Log: zerolog.Nop()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		down.mu.Lock()
		attempts := down.attempts
		down.mu.Unlock()
		if attempts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch attempt within 30s")
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil: the unflushed batch is not committed and will be redelivered", err)
		}
	case <-time.After(timeout + 5*time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	took := time.Since(start)
	r.Close()
	if took > timeout {
		t.Errorf("Run took %s after cancellation, over the %s shutdown timeout", took.Round(time.Millisecond), timeout)
	}
	t.Logf("Run returned %s after cancellation (timeout %s)", took.Round(time.Millisecond), timeout)

	again := &recorder{seen: map[string]int{}}
	consume(t, cfg, "g", again, 50)
}
