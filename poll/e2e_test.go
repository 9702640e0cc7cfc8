package poll

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store/storetest"
)

// End to end: what the poller wrote, read back from Kafka and handed to
// ingest's Handler, is stored as exactly the events the adapter makes of
// the vendor's records, under the source's MSP, once each, though the
// kill and the overlap windows wrote some records twice.
func TestEndToEndThroughIngest(t *testing.T) {
	srv := chserver.ForTest(t)
	for _, kind := range []string{NinjaOne, EntraSignIn} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Migrated(t, srv.Addr())
			h := newHarness(t, kind, 4, "")
			addRecords(h.v)
			killed := func(_ string, page int) error {
				if page == 2 {
					return context.Canceled
				}
				return nil
			}
			h.run(ctx, killed)
			if err := h.run(ctx, nil); err != nil {
				t.Fatal(err)
			}
			msgs := h.messages()
			h.check(h.keys(msgs))
			a, _ := adapt.Get(kind)
			want := map[string]bool{}
			for _, m := range msgs {
				a.Convert(m.Value, testMSP, func(o adapt.Out) error {
					if o.Event != nil {
						want[strings.Clone(o.Event.EventID)] = true
					}
					return nil
				})
			}
			if len(want) != 60 {
				t.Fatalf("%d distinct events from 60 records", len(want))
			}
			w := h.b.Config().NewWriter()
			defer w.Close()
			decNow := func() time.Time { return now }
			ih := &ingest.Handler{Store: st, Producer: w, EventsTopic: kafkaio.TopicEvents, DLQTopic: kafkaio.TopicDLQ, Log: zerolog.Nop(),
				Decoder: contract.Decoder{Now: decNow}}
			// The subtests share the server's database: count what this
			// one adds.
			_, before, err := st.CountEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := ih.HandleBatch(ctx, msgs); err != nil {
				t.Fatal(err)
			}
			rows, distinct, err := st.CountEvents(ctx)
			distinct -= before
			if err != nil || distinct != uint64(len(want)) {
				t.Fatalf("ClickHouse has %d rows / %d distinct (%v), want %d distinct", rows, distinct, err, len(want))
			}
			t.Logf("%d messages; ClickHouse: %d rows in all subtests, %d distinct events of this one", len(msgs), rows, distinct)
		})
	}
}
