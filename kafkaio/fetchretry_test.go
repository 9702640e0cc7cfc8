package kafkaio_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/kafkaio"
)

// flakyFetcher fails its first failures fetches (a broker that is away),
// then serves msgs, then io.EOF (the reader was closed).
type flakyFetcher struct {
	mu        sync.Mutex
	failures  int
	msgs      []kafka.Message
	committed []kafka.Message
}

func (f *flakyFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return kafka.Message{}, errors.New("failed to dial: connection refused")
	}
	if len(f.msgs) == 0 {
		return kafka.Message{}, io.EOF
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

func (f *flakyFetcher) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committed = append(f.committed, msgs...)
	return nil
}

// A broker that is unreachable for a while must not end the consumer: it
// retries fetching, then handles and commits what comes.
func TestConsumerRetriesFailedFetches(t *testing.T) {
	f := &flakyFetcher{failures: 4}
	for i := range 10 {
		f.msgs = append(f.msgs, kafka.Message{Topic: "t", Partition: 0, Offset: int64(i), Value: []byte{byte(i)}})
	}
	h := &recorder{seen: map[string]int{}}
	c := &kafkaio.Consumer{Fetcher: f, Handler: h, BatchSize: 5, FlushInterval: 10 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, Log: zerolog.Nop()}
	err := c.Run(context.Background())
	if !errors.Is(err, io.EOF) {
		t.Fatalf("Run = %v, want the io.EOF of a closed reader", err)
	}
	if h.count() != 10 {
		t.Fatalf("handled %d messages after the fetch failures, want 10", h.count())
	}
	if last := f.committed[len(f.committed)-1]; last.Offset != 9 {
		t.Fatalf("last commit at offset %d, want 9", last.Offset)
	}
}

// paceFetcher serves msgs, each after a pause, then waits for its context
// like a reader with nothing new.
type paceFetcher struct {
	flakyFetcher
	pause time.Duration
}

func (f *paceFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	f.mu.Lock()
	empty := len(f.msgs) == 0
	f.mu.Unlock()
	if empty {
		<-ctx.Done()
		return kafka.Message{}, ctx.Err()
	}
	select {
	case <-time.After(f.pause):
	case <-ctx.Done():
		return kafka.Message{}, ctx.Err()
	}
	return f.flakyFetcher.FetchMessage(ctx)
}

// sizes records the size of each batch handled.
type sizes struct {
	mu    sync.Mutex
	sizes []int
	total int
}

func (s *sizes) HandleBatch(_ context.Context, batch []kafka.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes = append(s.sizes, len(batch))
	s.total += len(batch)
	return nil
}

func (s *sizes) handled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// A batch goes when it is full or when the flush interval has passed since
// its first message, whichever comes first, while the consumer runs; all of
// it is committed.
func TestConsumerFlushInterval(t *testing.T) {
	tests := []struct {
		name     string
		msgs     int
		pause    time.Duration // between messages
		interval time.Duration
		// want: the batch sizes, or (when nil) at least minBatches batches
		// of at most maxSize.
		want                []int
		minBatches, maxSize int
	}{
		{name: "full batches then a partial one", msgs: 25, interval: 50 * time.Millisecond, want: []int{10, 10, 5}},
		{name: "a trickle is flushed by the interval", msgs: 12, pause: 20 * time.Millisecond, interval: 50 * time.Millisecond, minBatches: 3, maxSize: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &paceFetcher{pause: tt.pause}
			for i := range tt.msgs {
				f.msgs = append(f.msgs, kafka.Message{Topic: "t", Partition: 0, Offset: int64(i)})
			}
			h := &sizes{}
			c := &kafkaio.Consumer{Fetcher: f, Handler: h, BatchSize: 10, FlushInterval: tt.interval, Log: zerolog.Nop()}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			for deadline := time.Now().Add(10 * time.Second); h.handled() < tt.msgs; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("handled %d of %d messages while running; the flush interval did not flush", h.handled(), tt.msgs)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !slices.Equal(h.sizes, tt.want) {
				t.Fatalf("batch sizes %v, want %v", h.sizes, tt.want)
			}
			if tt.want == nil {
				if len(h.sizes) < tt.minBatches || slices.Max(h.sizes) > tt.maxSize {
					t.Fatalf("batch sizes %v, want at least %d batches of at most %d", h.sizes, tt.minBatches, tt.maxSize)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if last := f.committed[len(f.committed)-1]; last.Offset != int64(tt.msgs-1) {
				t.Fatalf("last commit at offset %d, want %d", last.Offset, tt.msgs-1)
			}
		})
	}
}
