package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store/storetest"
)

func rawBatch(valid, invalid int) []kafka.Message {
	var out []kafka.Message
	for i := range valid {
		out = append(out, kafka.Message{
			Topic: kafkaio.TopicRemoteSessions, Partition: 1, Offset: int64(len(out)),
			Value: fmt.Appendf(nil, `{"event_type":"session.start","time":"2026-11-20T10:%02d:%02dZ","msp":"msp-%d","tenant":"t","tool":"ninjaone","actor":{"user":"u%d"}}`, i/60%60, i%60, i%3, i),
		})
	}
	for i := range invalid {
		out = append(out, kafka.Message{
			Topic: kafkaio.TopicRemoteSessions, Partition: 1, Offset: int64(len(out)),
			Value: fmt.Appendf(nil, `{"event_type":"session.start","n":%d`, i),
		})
	}
	return out
}

func readAll(t *testing.T, cfg kafkaio.Config, topic string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := range 2 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

// A batch that fails half-way (ClickHouse down while the topic writes
// succeed) is retried without writing its dead letters or normalised events
// a second time, and lands once ClickHouse is back.
func TestHandlerRetriesOnlyWhatFailed(t *testing.T) {
	srv := chserver.ForTest(t)
	ctx := context.Background()
	st := storetest.Migrated(t, srv.Addr())
	b := broker.ForTest(t, broker.Options{Partitions: 2})
	w := b.Config().NewWriter()
	defer w.Close()
	h := &ingest.Handler{Store: st, Producer: w, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop()}
	var dead []contract.Reason
	h.Hooks.DeadLettered = func(r contract.Reason) { dead = append(dead, r) }

	batch := rawBatch(300, 4)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := h.HandleBatch(attemptCtx, batch)
	cancel()
	if err == nil {
		t.Fatal("batch succeeded with ClickHouse down")
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for err = h.HandleBatch(ctx, batch); err != nil; err = h.HandleBatch(ctx, batch) {
		if time.Now().After(deadline) {
			t.Fatalf("batch still failing after ClickHouse restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	rows, distinct, err := st.CountEvents(ctx)
	if err != nil || rows != 300 || distinct != 300 {
		t.Fatalf("ClickHouse has %d rows / %d distinct (%v), want 300", rows, distinct, err)
	}
	if got := readAll(t, b.Config(), kafkaio.TopicEvents); len(got) != 300 {
		t.Errorf("normalised topic has %d messages, want 300 (written once)", len(got))
	} else {
		for _, m := range got {
			ev, err := (&contract.Decoder{}).Decode(m.Value)
			if err != nil || string(m.Key) != ev.MSP {
				t.Fatalf("normalised message key %q, event %+v, err %v: want keyed by msp", m.Key, ev.MSP, err)
			}
		}
	}
	dlq := readAll(t, b.Config(), kafkaio.TopicDLQ)
	if len(dlq) != 4 {
		t.Fatalf("dead-letter topic has %d messages, want 4 (written once)", len(dlq))
	}
	for _, m := range dlq {
		if deadletter.Header(m, deadletter.HeaderReason) != string(contract.ReasonMalformedJSON) || deadletter.Header(m, deadletter.HeaderSourcePartition) != "1" {
			t.Errorf("dead letter headers: %v", m.Headers)
		}
	}
	if len(dead) != 4 {
		t.Errorf("dead-letter counter saw %d, want 4", len(dead))
	}
}
