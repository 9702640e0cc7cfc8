package ingest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/registry"
)

type memStore struct{ rows []record.Event }

func (s *memStore) InsertEvents(_ context.Context, rows []record.Event) error {
	s.rows = append(s.rows, rows...)
	return nil
}

type memProducer struct{ msgs []kafka.Message }

func (p *memProducer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// spoofed claims everything a policy rule would check, for an AnyDesk
// session at acme-corp, which the example registry does not approve,
// outside its maintenance windows (Tuesday 09:00 in Chicago).
const spoofed = `{"event_type":"session.start","time":"2026-11-10T15:00:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"anydesk","actor":{"user":"helpdesk7"},"target":{"host":"acme-dc01"},` +
	`"context":{"msp_known":true,"tenant_contracted":true,"tool_approved":true,"actor_known":true,"in_maintenance_window":true,"asset_tags":[]}}`

func runBatch(t *testing.T, enricher ingest.Enricher, raw string) (record.Event, kafka.Message) {
	t.Helper()
	st, pr := &memStore{}, &memProducer{}
	h := &ingest.Handler{Store: st, Producer: pr, Enricher: enricher, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop()}
	if err := h.HandleBatch(context.Background(), []kafka.Message{{Topic: kafkaio.TopicRemoteSessions, Value: []byte(raw)}}); err != nil {
		t.Fatal(err)
	}
	if len(st.rows) != 1 || len(pr.msgs) != 1 || pr.msgs[0].Topic != kafkaio.TopicEvents {
		t.Fatalf("stored %d rows, produced %v; want one event", len(st.rows), pr.msgs)
	}
	return st.rows[0], pr.msgs[0]
}

// A producer cannot set context.*: ingest overwrites it with what the
// registry says, or drops it without a registry, and the spoofed object
// changes neither the event ID nor the attributes.
func TestProducerContextIsOverwritten(t *testing.T) {
	reg, err := registry.Load("../deployments/registry.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	honest := strings.Replace(spoofed, `,"context":{"msp_known":true,"tenant_contracted":true,"tool_approved":true,"actor_known":true,"in_maintenance_window":true,"asset_tags":[]}`, "", 1)
	if honest == spoofed {
		t.Fatal("test setup: could not strip the context")
	}
	honestRow, _ := runBatch(t, nil, honest)

	t.Run("with a registry", func(t *testing.T) {
		row, msg := runBatch(t, reg, spoofed)
		const want = `"context":{"msp_known":true,"tenant_contracted":true,"tool_approved":false,"actor_known":false,"in_maintenance_window":false,"in_working_hours":true,"local_hour":9,"weekday":"tue","asset_tags":["critical"]}}`
		for name, doc := range map[string][]byte{"ClickHouse doc": row.Doc, "tripline.events": msg.Value} {
			if !bytes.HasSuffix(doc, []byte(want)) {
				t.Errorf("%s: %s\nwant it to end %s", name, doc, want)
			}
		}
		c := row.Event.Context
		if c == nil || *c.ToolApproved || *c.ActorKnown || *c.InMaintenanceWindow {
			t.Errorf("stored event context: %+v", c)
		}
		// The detector reads the context back from tripline.events.
		back, err := (&contract.Decoder{}).Decode(msg.Value)
		if err != nil {
			t.Fatal(err)
		}
		if v := back.Lookup("context.tool_approved"); v.Bool || back.Context == nil {
			t.Errorf("detector sees context.tool_approved = %+v", v)
		}
		if full, _ := back.MarshalJSON(); !bytes.Equal(full, msg.Value) {
			t.Errorf("re-encoded normalised event differs:\n %s\n %s", full, msg.Value)
		}
		if row.Event.EventID != honestRow.Event.EventID {
			t.Errorf("spoofed context changed the derived event ID: %s vs %s", row.Event.EventID, honestRow.Event.EventID)
		}
		if _, ok := row.Event.Attributes["context"]; ok {
			t.Error("the producer's context leaked into attributes")
		}
	})

	t.Run("without a registry", func(t *testing.T) {
		row, msg := runBatch(t, nil, spoofed)
		if row.Event.Context != nil || bytes.Contains(msg.Value, []byte(`"context"`)) || bytes.Contains(row.Doc, []byte(`"context"`)) {
			t.Errorf("producer context survived ingest without a registry: %s", msg.Value)
		}
		if !bytes.Equal(row.Doc, honestRow.Doc) {
			t.Errorf("doc with a spoofed context differs from the honest one:\n %s\n %s", row.Doc, honestRow.Doc)
		}
	})
}

// Enrichment adds little to ingest's per-event cost. registry-binary is
// what the worker does by default (--events-encoding binary).
func BenchmarkPrepareWithRegistry(b *testing.B) {
	reg, err := registry.Load("../deployments/registry.example.yml")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    ingest.Enricher
		enc  contract.Encoding
	}{{"none", nil, ""}, {"registry", reg, ""}, {"registry-binary", reg, contract.EncodingBinary}} {
		b.Run(tc.name, func(b *testing.B) {
			st, pr := &memStore{}, &memProducer{}
			h := &ingest.Handler{Store: st, Producer: pr, Enricher: tc.e, EventsEncoding: tc.enc, Log: zerolog.Nop(), Decoder: contract.Decoder{Now: func() time.Time { return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) }}}
			batch := make([]kafka.Message, 100)
			for i := range batch {
				batch[i] = kafka.Message{Topic: kafkaio.TopicRemoteSessions, Offset: int64(i), Value: []byte(spoofed)}
			}
			b.ReportAllocs()
			for b.Loop() {
				st.rows, pr.msgs = st.rows[:0], pr.msgs[:0]
				if err := h.HandleBatch(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/event")
		})
	}
}
