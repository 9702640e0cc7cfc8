package ingest_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/store/storetest"
)

// BenchmarkHandleBatch is ingest's batch handler as the worker runs it by
// default (20,000-message batches, the binary encoding on the events
// topic) on simulated MSP traffic, with a real ClickHouse store: all
// ingest does per event except Kafka I/O, which an in-memory producer and
// a prepared batch stand in for. cpu-µs/event is this process's CPU per
// event (the ClickHouse server is another process), the figure to set
// beside make bench-e2e's ingest-cpu-µs/event; it includes the collector,
// which a batch of this size gives as much work as the worker's.
func BenchmarkHandleBatch(b *testing.B) {
	const size = 20_000
	srv := chserver.ForTest(b)
	st := storetest.Migrated(b, srv.Addr())
	gen, err := simulate.New(simulate.Config{Seed: 11, Events: size,
		Start:     time.Now().UTC().AddDate(0, 0, -40).Truncate(time.Hour),
		Scenarios: []string{"kaseya-style", "stolen-credential"}})
	if err != nil {
		b.Fatal(err)
	}
	var batch []kafka.Message
	for m, ok := gen.Next(); ok; m, ok = gen.Next() {
		batch = append(batch, kafka.Message{Topic: m.Topic, Partition: len(batch) % 3, Offset: int64(len(batch)), Key: m.Key, Value: m.Value})
	}
	pr := &memProducer{}
	h := &ingest.Handler{Store: st, Producer: pr, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ,
		EventsEncoding: contract.EncodingBinary, Log: zerolog.Nop()}
	stored := 0
	h.Hooks.Stored = func(n int) { stored += n }
	ctx := context.Background()
	cpu0 := processCPU(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pr.msgs = pr.msgs[:0]
		// Each round is a batch of its own (offsets move on), as the
		// worker's are; the events' IDs repeat and collapse in the table.
		for i := range batch {
			batch[i].Offset += int64(len(batch))
		}
		if err := h.HandleBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if want := b.N * len(batch); stored != want || len(pr.msgs) != len(batch) {
		b.Fatalf("stored %d events and forwarded %d of the last batch; want %d and %d", stored, len(pr.msgs), want, len(batch))
	}
	n := float64(b.N * len(batch))
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/n, "cpu-µs/event")
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
