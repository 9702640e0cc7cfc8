package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/record"
)

// flakyStore fails its first insert, as ClickHouse down would.
type flakyStore struct {
	memStore
	failures int
}

func (s *flakyStore) InsertDeliveries(ctx context.Context, rows []record.AlertDelivery) error {
	s.mu.Lock()
	if s.failures > 0 {
		s.failures--
		s.mu.Unlock()
		return errors.New("clickhouse down")
	}
	s.mu.Unlock()
	return s.memStore.InsertDeliveries(ctx, rows)
}

type memProducer struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (p *memProducer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func records(t *testing.T, msgs ...alert.Message) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for i, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, kafka.Message{Topic: TopicAlerts, Offset: int64(i), Key: []byte(m.Alert.AlertID), Value: b})
	}
	return out
}

// TestHandlerRetryDoesNotResend: a batch whose log insert failed is
// retried by the consumer; what was delivered is not sent again, and the
// rows are written once the store is back. An unreadable record is
// dead-lettered, not retried.
func TestHandlerRetryDoesNotResend(t *testing.T) {
	hook, hookSrv := newIdempotentReceiver(t)
	t.Setenv("TEST_WEBHOOK_SECRET", testSecret)
	cfg := parseConfig(t, fmt.Sprintf(`
defaults: {group_wait: 0s}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:TEST_WEBHOOK_SECRET}
routes:
  - {name: all, receivers: [soc]}
`, hookSrv.URL))
	recv, err := BuildReceivers(cfg, HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	st := &flakyStore{failures: 1}
	prod := &memProducer{}
	h := &Handler{Config: cfg, Receivers: recv, Store: st, Producer: prod, DLQTopic: TopicDLQ, Log: zerolog.Nop()}
	batch := records(t, sample(alert.KindOpened, 1), sample(alert.KindOpened, 2), sample(alert.KindResolved, 1))
	batch = append(batch, kafka.Message{Topic: TopicAlerts, Offset: 3, Value: []byte(`{"version":1,"kind":`)})
	if err := h.HandleBatch(context.Background(), batch); err == nil {
		t.Fatal("a failed log insert must fail the batch")
	}
	if err := h.HandleBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	handled, dups, requests, _ := hook.count()
	if handled != 3 || dups != 0 || requests != 3 {
		t.Errorf("handled %d, duplicates %d, requests %d; want 3, 0, 3", handled, dups, requests)
	}
	if len(st.rows) != 3 {
		t.Errorf("%d rows, want 3", len(st.rows))
	}
	if len(prod.msgs) != 1 || string(prod.msgs[0].Value) != `{"version":1,"kind":` {
		t.Errorf("dead letters: %d, want the unreadable record", len(prod.msgs))
	}
}
