package ingest_test

import (
	"bytes"
	"context"
	"reflect"
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

// InsertEvents keeps copies: the handler reuses its rows and events for
// the next batch (EventStore).
func (s *memStore) InsertEvents(_ context.Context, rows []record.Event) error {
	for _, r := range rows {
		ev := *r.Event
		r.Event = &ev
		s.rows = append(s.rows, r)
	}
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

// A handler reuses a written batch's events and rows for the next batch,
// and a rejected message's event for the next message: what it stores and
// forwards for a message is what a new handler does for that message
// alone, whatever it handled before (bigger batches, attributes, messages
// rejected half-way through normalisation).
func TestHandlerReuseLeavesNoTrace(t *testing.T) {
	withAttrs := `{"event_type":"software.push","time":"2026-11-10T15:00:00+01:00","msp":"m1","tenant":"t","tool":"x","actor":{"user":"u","mfa":true},` +
		`"target":{"host_count":3,"tags":["a","b"]},"package":{"name":"p","signed":true},"attributes":{"k":"v","z":"w"},"extra":"x"}`
	plain := `{"event_type":"session.start","time":"2026-11-10T15:00:00Z","msp":"m2","tenant":"t","tool":"y","actor":{"user":"v"}}`
	invalid := `{"event_type":"session.start","msp":"m2"}`
	// Rejected only once normalise has filled most of its event.
	lateInvalid := `{"event_type":"session.start","time":"2026-11-10T15:00:00Z","msp":"m2","tenant":"t","tool":"y","actor":{"user":"v","asn":7},` +
		`"target":{"tags":["c"]},"attributes":{"` + strings.Repeat("k", 300) + `":"v"}}`
	msgs := func(values ...string) []kafka.Message {
		out := make([]kafka.Message, len(values))
		for i, v := range values {
			out[i] = kafka.Message{Topic: kafkaio.TopicRemoteSessions, Offset: int64(i), Value: []byte(v)}
		}
		return out
	}
	newHandler := func() (*ingest.Handler, *memStore, *memProducer) {
		st, pr := &memStore{}, &memProducer{}
		return &ingest.Handler{Store: st, Producer: pr, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ,
			EventsEncoding: contract.EncodingBinary, Log: zerolog.Nop(), Now: func() time.Time { return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) },
			Decoder: contract.Decoder{Now: func() time.Time { return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) }}}, st, pr
	}
	first := msgs(withAttrs, withAttrs, invalid, withAttrs)
	second := msgs(plain, lateInvalid, plain, invalid, plain)
	used, st, pr := newHandler()
	if err := used.HandleBatch(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	st.rows, pr.msgs = nil, nil
	if err := used.HandleBatch(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	// The reference: every message alone, in a handler of its own.
	wantSt, wantPr := &memStore{}, &memProducer{}
	for i := range second {
		fresh, st1, pr1 := newHandler()
		if err := fresh.HandleBatch(context.Background(), second[i:i+1]); err != nil {
			t.Fatal(err)
		}
		wantSt.rows, wantPr.msgs = append(wantSt.rows, st1.rows...), append(wantPr.msgs, pr1.msgs...)
	}
	if len(st.rows) != 3 || len(wantSt.rows) != 3 {
		t.Fatalf("stored %d and %d rows, want 3", len(st.rows), len(wantSt.rows))
	}
	for i := range st.rows {
		if !reflect.DeepEqual(st.rows[i], wantSt.rows[i]) || !reflect.DeepEqual(*st.rows[i].Event, *wantSt.rows[i].Event) {
			t.Errorf("row %d after another batch:\n %+v\nfresh:\n %+v", i, *st.rows[i].Event, *wantSt.rows[i].Event)
		}
	}
	// A batch writes its dead letters before its events: compare each
	// topic's messages in order.
	for _, topic := range []string{kafkaio.TopicEvents, kafkaio.TopicDLQ} {
		of := func(msgs []kafka.Message) (out []kafka.Message) {
			for _, m := range msgs {
				if m.Topic == topic {
					out = append(out, m)
				}
			}
			return out
		}
		if got, want := of(pr.msgs), of(wantPr.msgs); !reflect.DeepEqual(got, want) {
			t.Errorf("%s after another batch:\n %v\nalone:\n %v", topic, got, want)
		}
	}
}
