package kafkaio_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/kafkaio"
)

// TestTopicLimits: EnsureTopics sets max.message.bytes, MaxMessageBytes
// reads the smallest back, and a writer sized by WriterLimit sends a
// message of exactly its BatchBytes to the smallest topic, which accepts it.
func TestTopicLimits(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Partitions: 1})
	cfg := b.Config()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cfg.EnsureTopics(ctx, []kafkaio.TopicSpec{
		{Name: "big", Partitions: 1},
		{Name: "small", Partitions: 1, MaxMessageBytes: 300 << 10},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		topics []string
		want   int
	}{
		{[]string{"big"}, kafkaio.TopicMaxMessageBytes},
		{[]string{"big", "small"}, 300 << 10},
		{[]string{kafkaio.TopicEvents, kafkaio.TopicDLQ}, kafkaio.TopicMaxMessageBytes}, // the broker's default
	} {
		got, err := cfg.MaxMessageBytes(ctx, tt.topics...)
		if err != nil || got != tt.want {
			t.Errorf("MaxMessageBytes(%v) = %d, %v; want %d", tt.topics, got, err, tt.want)
		}
	}

	limit, err := cfg.WriterLimit(ctx, 0, "big", "small")
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.NewWriterLimit(limit)
	defer w.Close()
	key := []byte("k")
	m := kafka.Message{Topic: "small", Key: key}
	m.Value = []byte(strings.Repeat("v", limit-deadletter.Size(&m)))
	if err := w.WriteMessages(ctx, m); err != nil {
		t.Fatalf("a message of exactly BatchBytes to the smallest topic: %v", kafkaio.SummariseWriteError(err))
	}
	m.Value = append(m.Value, 'v')
	var tooLarge kafka.MessageTooLargeError
	if err := w.WriteMessages(ctx, m); !errors.As(err, &tooLarge) {
		t.Fatalf("one byte more: got %v, want MessageTooLargeError", err)
	}

	// A broker that cannot answer leaves Kafka's default.
	got, err := kafkaio.Config{Brokers: []string{"127.0.0.1:1"}}.WriterLimit(ctx, 0, "x")
	if err == nil || got != kafkaio.WriterBatchBytes(kafkaio.DefaultBrokerMaxMessageBytes) {
		t.Errorf("unreachable broker: %d, %v", got, err)
	}
	if got, _ := cfg.WriterLimit(ctx, 5<<20, "small"); got != kafkaio.WriterBatchBytes(5<<20) {
		t.Errorf("override: %d", got)
	}
}
