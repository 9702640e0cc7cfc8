package kafkaio_test

import (
	"context"
	"errors"
	"io"
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
