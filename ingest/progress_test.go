package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/watermark"
)

// TestMarkersNameEverySourceFromTheFirst: on every partition of the
// normalised topic, ingest's first message is a progress marker, and every
// marker names every partition of the raw topics. The detector's watermark
// waits only for the sources markers name; a first marker written after the
// first batch and before the first lag poll named the topic forwarded
// alone and let the watermark pass the other topics' backlog (issue 14),
// and events before any marker make the detector take the partition for
// one without markers after the idle timeout.
func TestMarkersNameEverySourceFromTheFirst(t *testing.T) {
	const partitions = 2
	b := broker.ForTest(t, broker.Options{Partitions: partitions})
	cfg := b.Config()
	gen, err := simulate.New(simulate.Config{Seed: 3, Events: 3000, Start: time.Now().UTC().Add(-48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		msgs = append(msgs, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
	}
	w := cfg.NewWriter()
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	err = w.WriteMessages(wctx, msgs...)
	wcancel()
	w.Close()
	if err != nil {
		t.Fatal(kafkaio.SummariseWriteError(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- ingest.Run(ctx, ingest.Config{Kafka: cfg, Group: "markers", Store: &memStore{}, BatchSize: 200,
			FlushInterval: 20 * time.Millisecond, MarkInterval: 100 * time.Millisecond, Log: zerolog.Nop()})
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lag, err := cfg.GroupLag(ctx, "markers", kafkaio.RawTopics())
		if err == nil && lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not catch up: lag %d (%v)", lag, err)
		}
		select {
		case err := <-done:
			t.Fatalf("ingest stopped early: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	want := len(kafkaio.RawTopics()) * partitions
	events := 0
	for p := range partitions {
		got := readPartition(t, cfg, kafkaio.TopicEvents, p)
		if len(got) == 0 || watermark.Control(&got[0]) != watermark.KindProgress {
			t.Fatalf("partition %d: the first of %d messages is not a progress marker", p, len(got))
		}
		for i := range got {
			if watermark.Control(&got[i]) == "" {
				events++
				continue
			}
			pr, err := watermark.Parse(got[i].Value)
			if err != nil {
				t.Fatal(err)
			}
			if len(pr.Sources) != want {
				t.Fatalf("partition %d offset %d: a marker names %d sources, want every raw partition (%d): %+v", p, got[i].Offset, len(pr.Sources), want, pr.Sources)
			}
		}
	}
	if events != len(msgs) {
		t.Fatalf("%d events forwarded, want %d", events, len(msgs))
	}
}

// readPartition returns every message of one partition of topic.
func readPartition(t *testing.T, cfg kafkaio.Config, topic string, partition int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []kafka.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}
