package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/pipeline"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/store/storetest"
)

// BenchmarkPipeline measures the whole pipeline in one process: b.N
// simulated events are produced to the raw topics first, then the clock
// runs from starting ingest+detect until both consumer groups have
// committed everything (ClickHouse events and detections acknowledged).
func BenchmarkPipeline(b *testing.B) {
	srv := chserver.ForTest(b)
	ctx := context.Background()
	st := storetest.Migrated(b, srv.Addr())
	mgr, err := rules.NewManager(rules.ManagerConfig{Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 1000)
	br := broker.ForTest(b, broker.Options{Partitions: 4})
	gen, err := simulate.New(simulate.Config{Seed: 7, Events: n, Start: time.Now().UTC().AddDate(0, 0, -60), Scenarios: []string{"kaseya-style"}})
	if err != nil {
		b.Fatal(err)
	}
	w := br.Config().NewWriter()
	batch := make([]kafka.Message, 0, 10000)
	for {
		m, ok := gen.Next()
		if ok {
			batch = append(batch, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
		}
		if len(batch) == cap(batch) || (!ok && len(batch) > 0) {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				b.Fatal(kafkaio.SummariseWriteError(err))
			}
			batch = batch[:0]
		}
		if !ok {
			break
		}
	}
	w.Close()

	b.ResetTimer()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(runCtx, pipeline.Config{Kafka: br.Config(), Store: st, Rules: mgr, BatchSize: 10000, FlushInterval: 100 * time.Millisecond, Log: zerolog.Nop()})
	}()
	cfg := br.Config()
	for {
		time.Sleep(50 * time.Millisecond)
		il, err1 := cfg.GroupLag(ctx, "tripline-ingest", kafkaio.RawTopics())
		dl, err2 := cfg.GroupLag(ctx, "tripline-detect", []string{kafkaio.TopicEvents})
		if err1 == nil && err2 == nil && il == 0 && dl == 0 {
			break
		}
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	rows, _, err := st.CountEvents(ctx)
	if err != nil || rows != uint64(n) {
		b.Fatalf("stored %d events, want %d (%v)", rows, n, err)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
}
