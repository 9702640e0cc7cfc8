package ingest_test

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/watermark"
)

// TestEventsEncodingsAgree: the detector decodes exactly the same events
// from ingest's binary encoding as from the normalised JSON documents, on
// simulated traffic with attacks, enriched by the simulated MSPs'
// registry (every context field), and each message is keyed by its msp
// and says where its event was read.
func TestEventsEncodingsAgree(t *testing.T) {
	gen, err := simulate.New(simulate.Config{Seed: 5, Events: 4000, Start: time.Now().UTC().AddDate(0, 0, -10),
		Scenarios: []string{"kaseya-style", "stolen-credential"}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Parse(gen.Registry(), "simulated.yml")
	if err != nil {
		t.Fatal(err)
	}
	var batch []kafka.Message
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		batch = append(batch, kafka.Message{Topic: m.Topic, Offset: int64(len(batch)), Value: m.Value})
	}
	out := map[contract.Encoding][]kafka.Message{}
	for _, enc := range []contract.Encoding{contract.EncodingJSON, contract.EncodingBinary} {
		pr := &memProducer{}
		h := &ingest.Handler{Store: &memStore{}, Producer: pr, Enricher: reg, EventsTopic: kafkaio.TopicEvents,
			EventsEncoding: enc, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop()}
		if err := h.HandleBatch(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		for _, m := range pr.msgs {
			if m.Topic == kafkaio.TopicEvents && watermark.Control(&m) == "" {
				out[enc] = append(out[enc], m)
			}
		}
	}
	js, bin := out[contract.EncodingJSON], out[contract.EncodingBinary]
	if len(js) != len(batch) || len(bin) != len(batch) {
		t.Fatalf("%d JSON and %d binary events from %d messages", len(js), len(bin), len(batch))
	}
	var d contract.Decoder
	withContext, jsonBytes, binBytes := 0, 0, 0
	for i := range js {
		if !contract.IsBinary(bin[i].Value) || contract.IsBinary(js[i].Value) {
			t.Fatalf("message %d: not in its encoding", i)
		}
		want, err := d.DecodeStored(js[i].Value)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.DecodeStored(bin[i].Value)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("message %d decodes differently:\nbinary %+v\n  JSON %+v", i, got, want)
		}
		if string(bin[i].Key) != got.MSP {
			t.Fatalf("message %d keyed %q, msp %q", i, bin[i].Key, got.MSP)
		}
		// Where each event was read: in the binary encoding, and no
		// headers (the detector's reader allocates each); as headers on
		// a JSON document.
		src := contract.Provenance{Topic: batch[i].Topic, Partition: batch[i].Partition, Offset: batch[i].Offset}
		if p, ok, err := contract.ReadProvenance(bin[i].Value); err != nil || !ok || p != src || len(bin[i].Headers) != 0 {
			t.Fatalf("binary message %d: provenance %+v, %v, %v and %d headers; want %+v and none", i, p, ok, err, len(bin[i].Headers), src)
		}
		if deadletter.Header(js[i], deadletter.HeaderSourceTopic) != src.Topic || deadletter.Header(js[i], deadletter.HeaderSourceOffset) != strconv.FormatInt(src.Offset, 10) ||
			deadletter.Header(js[i], deadletter.HeaderSourcePartition) != strconv.Itoa(src.Partition) {
			t.Fatalf("JSON message %d: headers %v, want the provenance %+v", i, js[i].Headers, src)
		}
		if got.Context != nil {
			withContext++
		}
		jsonBytes += len(js[i].Value)
		binBytes += len(bin[i].Value)
	}
	if withContext < len(js)/2 {
		t.Errorf("only %d of %d events carry a context: the registry did not enrich them", withContext, len(js))
	}
	t.Logf("%d events: %d bytes as JSON, %d in the binary encoding (%.0f %%)", len(js), jsonBytes, binBytes, 100*float64(binBytes)/float64(jsonBytes))
}
