package receive_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/receive"
	"github.com/tripline/tripline/store/storetest"
)

// End to end: NinjaOne records and pages posted to the receiver, then
// ingest's Handler on what it wrote, store exactly the events the adapter
// makes of them, under the token's MSP.
func TestEndToEndNinjaOne(t *testing.T) {
	srv := chserver.ForTest(t)
	ctx := context.Background()
	st := storetest.Migrated(t, srv.Addr())
	e := newEnv(t, receive.Config{})
	a, _ := adapt.Get("ninjaone")
	want := map[string]bool{}
	posted := 0
	for _, line := range ninjaLines(t) {
		r := e.post("ninjaone", e.tokens["msp-northwind"], line)
		if r.status != http.StatusAccepted {
			t.Logf("refused (%d): %v", r.status, r.body)
			continue
		}
		posted++
		_ = a.Convert(line, "msp-northwind", func(o adapt.Out) error {
			if o.Event != nil {
				want[strings.Clone(o.Event.EventID)] = true
			}
			return nil
		})
	}
	if len(want) == 0 {
		t.Fatal("the sample gives no events")
	}
	msgs := readTopic(t, e.b.Config(), receive.DefaultTopic)
	if len(msgs) != posted {
		t.Fatalf("%d messages on the topic for %d accepted posts", len(msgs), posted)
	}
	w := e.b.Config().NewWriter()
	defer w.Close()
	h := &ingest.Handler{
		Store: st, Producer: w, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop(),
		Decoder: contract.Decoder{Now: func() time.Time { return time.Date(2025, 11, 21, 0, 0, 0, 0, time.UTC) }},
	}
	if err := h.HandleBatch(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	rows, distinct, err := st.CountEvents(ctx)
	if err != nil || distinct != uint64(len(want)) || rows != distinct {
		t.Fatalf("ClickHouse has %d rows / %d distinct (%v), want %d", rows, distinct, err, len(want))
	}
	for _, m := range readTopic(t, e.b.Config(), kafkaio.TopicEvents) {
		ev, err := (&contract.Decoder{Now: h.Decoder.Now}).Decode(m.Value)
		if err != nil || !want[ev.EventID] || ev.MSP != "msp-northwind" {
			t.Errorf("normalised event %v (msp %s): %v", ev.EventID, ev.MSP, err)
		}
	}
	t.Logf("%d posts accepted, %d events stored", posted, len(want))
}
