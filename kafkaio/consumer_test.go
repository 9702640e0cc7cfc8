package kafkaio_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
)

// recorder is a batch handler that fails its first failures attempts, then
// records what it saw.
type recorder struct {
	mu       sync.Mutex
	failures int
	attempts int
	seen     map[string]int
}

func (r *recorder) HandleBatch(_ context.Context, batch []kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.failures > 0 {
		r.failures--
		return errors.New("downstream unavailable")
	}
	for _, m := range batch {
		r.seen[string(m.Value)]++
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func produce(t *testing.T, cfg kafkaio.Config, topic string, from, n int) {
	t.Helper()
	w := cfg.NewWriter()
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(from + i))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(kafkaio.SummariseWriteError(err))
	}
}

// consume runs a consumer until want distinct messages were handled, then
// shuts it down gracefully.
func consume(t *testing.T, cfg kafkaio.Config, group string, h *recorder, want int) {
	t.Helper()
	r, err := cfg.NewGroupReader(group, []string{"t"}, kafkaio.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := &kafkaio.Consumer{Fetcher: r, Handler: h, BatchSize: 100, FlushInterval: 20 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Log: zerolog.Nop()}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.After(30 * time.Second)
	for h.count() < want {
		select {
		case <-deadline:
			cancel()
			t.Fatalf("handled %d of %d messages", h.count(), want)
		case err := <-done:
			t.Fatalf("consumer stopped early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConsumerCommitsOnlyHandledBatches(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Topics: []string{"t"}})
	cfg := b.Config()
	produce(t, cfg, "t", 0, 1000)

	first := &recorder{failures: 3, seen: map[string]int{}}
	consume(t, cfg, "g", first, 1000)
	if first.attempts < 4 {
		t.Fatalf("failed batches were not retried: %d attempts", first.attempts)
	}
	for v, n := range first.seen {
		if n != 1 {
			t.Fatalf("message %s handled %d times in one run", v, n)
		}
	}

	// A restarted consumer in the same group resumes after the committed
	// offsets: it sees the new messages and none of the old ones.
	produce(t, cfg, "t", 1000, 200)
	second := &recorder{seen: map[string]int{}}
	consume(t, cfg, "g", second, 200)
	for v := range second.seen {
		if _, old := first.seen[v]; old {
			t.Fatalf("message %s redelivered after its offset was committed", v)
		}
	}
}

func TestGroupLag(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Topics: []string{"t"}})
	cfg := b.Config()
	produce(t, cfg, "t", 0, 300)
	ctx := context.Background()
	lag, err := cfg.GroupLag(ctx, "lagging", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	if lag != 300 {
		t.Fatalf("lag before consuming = %d, want 300", lag)
	}
	consume(t, cfg, "lagging", &recorder{seen: map[string]int{}}, 300)
	if lag, err = cfg.GroupLag(ctx, "lagging", []string{"t"}); err != nil || lag != 0 {
		t.Fatalf("lag after consuming = %d, %v; want 0", lag, err)
	}
}
