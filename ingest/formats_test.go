package ingest_test

import (
	"bufio"
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
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/store/storetest"
)

// TestVendorFormats: vendor records reach ClickHouse and tripline.events
// as the events their adapter makes, whether the format comes in a header
// or from the topic's configuration; a record the adapter cannot convert,
// an unknown format and a value that is not JSON are dead-lettered with
// their reasons; nothing is lost.
func TestVendorFormats(t *testing.T) {
	srv := chserver.ForTest(t)
	ctx := context.Background()
	st := storetest.Migrated(t, srv.Addr())
	b := broker.ForTest(t, broker.Options{Partitions: 2, Topics: []string{"vendor.ninjaone"}})
	w := b.Config().NewWriter()
	defer w.Close()
	h := &ingest.Handler{
		Store: st, Producer: w, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop(),
		Decoder:      contract.Decoder{Now: func() time.Time { return time.Date(2025, 11, 21, 0, 0, 0, 0, time.UTC) }},
		TopicFormats: map[string]ingest.TopicFormat{"vendor.ninjaone": {Format: "ninjaone", MSP: "msp-northwind"}},
	}
	// The registry names NinjaOne organization 12 (the sample's) as the
	// tenant "county-clinic": its events are stored under that name.
	reg, err := registry.Parse([]byte("msps:\n  - id: msp-northwind\n    tenants:\n      - {id: county-clinic, vendor_ids: [\"ninjaone:org:12\"]}\n"), "reg.yml")
	if err != nil {
		t.Fatal(err)
	}
	h.Enricher = reg
	var dead []contract.Reason
	h.Hooks.DeadLettered = func(r contract.Reason) { dead = append(dead, r) }

	f, err := os.Open("../adapt/testdata/ninjaone.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, _ := adapt.Get("ninjaone")
	var batch []kafka.Message
	wantEvents, wantUnmapped, wantMalformed := map[string]bool{}, 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		line := bytes.Clone(sc.Bytes())
		if err := a.Convert(line, "msp-northwind", func(o adapt.Out) error {
			switch {
			case o.Err != nil:
				wantUnmapped++
			case o.Event != nil:
				wantEvents[strings.Clone(o.Event.EventID)] = true
			}
			return nil
		}); err != nil {
			wantMalformed++ // the sample holds values that are not records
		}
		m := kafka.Message{Topic: kafkaio.TopicRemoteSessions, Partition: 0, Offset: int64(i), Value: line,
			Headers: []kafka.Header{{Key: ingest.HeaderFormat, Value: []byte("ninjaone")}, {Key: ingest.HeaderMSP, Value: []byte("msp-northwind")}}}
		if i%2 == 1 {
			// Same records on a topic configured for the format, no headers.
			m.Topic, m.Headers = "vendor.ninjaone", nil
		}
		batch = append(batch, m)
	}
	if len(wantEvents) == 0 || wantUnmapped == 0 {
		t.Fatalf("the sample gives %d events and %d unmapped records: it does not exercise both", len(wantEvents), wantUnmapped)
	}
	n := int64(len(batch))
	batch = append(batch,
		kafka.Message{Topic: kafkaio.TopicRemoteSessions, Offset: n, Value: []byte(`{"id":1}`),
			Headers: []kafka.Header{{Key: ingest.HeaderFormat, Value: []byte("kaseya-vsa-9")}}},
		kafka.Message{Topic: kafkaio.TopicRemoteSessions, Offset: n + 1, Value: []byte(`not json`),
			Headers: []kafka.Header{{Key: ingest.HeaderFormat, Value: []byte("ninjaone")}, {Key: ingest.HeaderMSP, Value: []byte("m")}}},
	)
	// A contract v1 event from a producer bound to one msp (tripline
	// receive) naming another is refused.
	golden, err := os.ReadFile("../adapt/testdata/ninjaone.golden")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(golden, []byte("\n"))
	batch = append(batch, kafka.Message{Topic: kafkaio.TopicRemoteSessions, Offset: n + 2,
		Value:   bytes.Replace(first, []byte(`"msp":"msp-northwind"`), []byte(`"msp":"msp-other"`), 1),
		Headers: []kafka.Header{{Key: ingest.HeaderMSP, Value: []byte("msp-northwind")}}})
	if err := h.HandleBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	rows, distinct, err := st.CountEvents(ctx)
	if err != nil || distinct != uint64(len(wantEvents)) || rows != distinct {
		t.Fatalf("ClickHouse has %d rows / %d distinct (%v), want %d", rows, distinct, err, len(wantEvents))
	}
	norm := readAll(t, b.Config(), kafkaio.TopicEvents)
	clinic := 0
	for _, m := range norm {
		ev, err := (&contract.Decoder{Now: h.Decoder.Now}).Decode(m.Value)
		if err != nil || !wantEvents[ev.EventID] || ev.MSP != "msp-northwind" || ev.Tool != "ninjaone" {
			t.Errorf("normalised %s (msp %s, tool %s): %v", ev.EventID, ev.MSP, ev.Tool, err)
		}
		if strings.HasPrefix(ev.Tenant, "ninjaone:org:12") {
			t.Errorf("event %s kept the vendor id %s the registry maps", ev.EventID, ev.Tenant)
		}
		if ev.Tenant == "county-clinic" {
			clinic++
			if ev.Attributes[registry.VendorTenantAttribute] != "ninjaone:org:12" || ev.Context == nil || ev.Context.TenantContracted == nil || !*ev.Context.TenantContracted {
				t.Errorf("event %s: attributes %v, context %+v", ev.EventID, ev.Attributes, ev.Context)
			}
		}
	}
	if clinic == 0 {
		t.Error("no event was mapped to the registry's tenant")
	}
	if len(norm) != len(wantEvents) {
		t.Errorf("%d normalised messages, want %d", len(norm), len(wantEvents))
	}
	count := map[contract.Reason]int{}
	for _, r := range dead {
		count[r]++
	}
	if count[contract.ReasonUnmappedRecord] != wantUnmapped || count[contract.ReasonUnknownFormat] != 1 ||
		count[contract.ReasonMalformedJSON] != wantMalformed+1 || count[contract.ReasonInvalidValue] != 1 || len(dead) != wantUnmapped+wantMalformed+3 {
		t.Errorf("dead letters by reason %v, want %d unmapped_record, 1 unknown_format, %d malformed_json, 1 invalid_value (another msp)", count, wantUnmapped, wantMalformed+1)
	}
	for _, m := range readAll(t, b.Config(), kafkaio.TopicDLQ) {
		if deadletter.Header(m, deadletter.HeaderReason) == string(contract.ReasonUnmappedRecord) && len(m.Value) == 0 {
			t.Error("an unmapped record's dead letter lost the message")
		}
	}
	t.Logf("%d messages: %d events stored, %d records dead-lettered as unmapped", len(batch), len(wantEvents), wantUnmapped)
}

func TestParseTopicFormat(t *testing.T) {
	for _, tc := range []struct {
		in    string
		topic string
		want  ingest.TopicFormat
		ok    bool
	}{
		{"ninja=ninjaone", "ninja", ingest.TopicFormat{Format: "ninjaone"}, true},
		{"sc=screenconnect:msp-a", "sc", ingest.TopicFormat{Format: "screenconnect", MSP: "msp-a"}, true},
		{"raw=contract-v1", "raw", ingest.TopicFormat{Format: "contract-v1"}, true},
		{"x=nope", "", ingest.TopicFormat{}, false},
		{"=ninjaone", "", ingest.TopicFormat{}, false},
		{"ninja", "", ingest.TopicFormat{}, false},
	} {
		topic, tf, err := ingest.ParseTopicFormat(tc.in, nil)
		if (err == nil) != tc.ok || topic != tc.topic || tf != tc.want {
			t.Errorf("ParseTopicFormat(%q) = %q %+v %v", tc.in, topic, tf, err)
		}
	}
}
