package ingest_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store/storetest"
)

// TestMappingFormat: a user-defined mapping file's format is read exactly
// where a built-in one is: by header and by topic; its events reach
// ClickHouse and tripline.events, its rejects the dead-letter topic with
// the record's position and reason. An ingest without the file does not
// know the format.
func TestMappingFormat(t *testing.T) {
	formats, err := adapt.LoadFormats("../docs/mappings/kaseya-vsa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ingest.ParseTopicFormat("vendor.kaseya=kaseya-vsa", nil); err == nil {
		t.Fatal("kaseya-vsa is a topic format without its mapping file")
	}
	topic, tf, err := ingest.ParseTopicFormat("vendor.kaseya=kaseya-vsa:msp-northwind", formats)
	if err != nil {
		t.Fatal(err)
	}
	srv := chserver.ForTest(t)
	ctx := context.Background()
	st := storetest.Migrated(t, srv.Addr())
	b := broker.ForTest(t, broker.Options{Partitions: 1, Topics: []string{"vendor.kaseya"}})
	w := b.Config().NewWriter()
	defer w.Close()
	h := &ingest.Handler{
		Store: st, Producer: w, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop(),
		Decoder:      contract.Decoder{Now: func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) }},
		TopicFormats: map[string]ingest.TopicFormat{topic: tf},
		Formats:      formats,
	}
	var dead []contract.Reason
	h.Hooks.DeadLettered = func(r contract.Reason) { dead = append(dead, r) }

	input, err := os.ReadFile("../adapt/testdata/kaseya-vsa.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := formats.Get("kaseya-vsa")
	wantEvents, wantFailed := map[string]bool{}, 0
	var batch []kafka.Message
	for i, line := range bytes.Split(bytes.TrimSpace(input), []byte("\n")) {
		_ = a.Convert(line, "msp-northwind", func(o adapt.Out) error {
			switch {
			case o.Err != nil:
				wantFailed++
			case o.Event != nil:
				wantEvents[strings.Clone(o.Event.EventID)] = true
			}
			return nil
		})
		m := kafka.Message{Topic: kafkaio.TopicRemoteSessions, Offset: int64(i), Value: line,
			Headers: []kafka.Header{{Key: ingest.HeaderFormat, Value: []byte("kaseya-vsa")}, {Key: ingest.HeaderMSP, Value: []byte("msp-northwind")}}}
		if i%2 == 1 {
			m.Topic, m.Headers = "vendor.kaseya", nil
		}
		batch = append(batch, m)
	}
	if len(wantEvents) < 3 || wantFailed < 2 {
		t.Fatalf("the sample gives %d events and %d failures: it does not exercise both", len(wantEvents), wantFailed)
	}
	if err := h.HandleBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	rows, distinct, err := st.CountEvents(ctx)
	if err != nil || distinct != uint64(len(wantEvents)) || rows != distinct {
		t.Fatalf("ClickHouse has %d rows / %d distinct (%v), want %d", rows, distinct, err, len(wantEvents))
	}
	norm := readAll(t, b.Config(), kafkaio.TopicEvents)
	for _, m := range norm {
		ev, err := (&contract.Decoder{Now: h.Decoder.Now}).Decode(m.Value)
		if err != nil || !wantEvents[ev.EventID] || ev.Tool != "kaseya-vsa" || ev.EventType != contract.TypeScriptRun {
			t.Errorf("normalised %s (tool %s, type %s): %v", ev.EventID, ev.Tool, ev.EventType, err)
		}
	}
	if len(norm) != len(wantEvents) {
		t.Errorf("%d normalised messages, want %d", len(norm), len(wantEvents))
	}
	if len(dead) != wantFailed {
		t.Errorf("%d dead letters (%v), want %d", len(dead), dead, wantFailed)
	}
	for _, m := range readAll(t, b.Config(), kafkaio.TopicDLQ) {
		reason, detail := deadletter.Header(m, deadletter.HeaderReason), deadletter.Header(m, deadletter.HeaderError)
		if reason != string(contract.ReasonUnmappedRecord) || !strings.Contains(detail, "kaseya-vsa record 0: id 204417337211890/") || len(m.Value) == 0 {
			t.Errorf("dead letter %s %q (%d bytes)", reason, detail, len(m.Value))
		}
	}

	// The same header on an ingest without the mapping file.
	var unknown []contract.Reason
	h2 := &ingest.Handler{Store: st, Producer: w, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop()}
	h2.Hooks.DeadLettered = func(r contract.Reason) { unknown = append(unknown, r) }
	if err := h2.HandleBatch(ctx, batch[:1]); err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 1 || unknown[0] != contract.ReasonUnknownFormat {
		t.Errorf("without the mapping: dead letters %v, want one unknown_format", unknown)
	}
}
