package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/record"
)

type memStore struct {
	mu   sync.Mutex
	rows []record.AlertDelivery
}

func (s *memStore) InsertDeliveries(_ context.Context, rows []record.AlertDelivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, rows...)
	return nil
}

// TestRepeat: an open alert is renotified once per repeat_interval, with
// a new webhook-id each time (it is a new notification), until it is
// resolved or closed.
func TestRepeat(t *testing.T) {
	hook, hookSrv := newIdempotentReceiver(t)
	slack := &capture{}
	slackSrv := httptest.NewServer(slack)
	defer slackSrv.Close()
	t.Setenv("TEST_WEBHOOK_SECRET", testSecret)
	t.Setenv("TEST_SLACK_URL", slackSrv.URL)
	cfg := parseConfig(t, fmt.Sprintf(`
defaults: {repeat_interval: 1h}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:TEST_WEBHOOK_SECRET}
  - {name: chat, type: slack, url: env:TEST_SLACK_URL}
routes:
  - {name: all, receivers: [soc, chat]}
`, hookSrv.URL))
	recv, err := BuildReceivers(cfg, HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{}
	h := &Handler{Config: cfg, Receivers: recv, Store: st, Metrics: NewMetrics(nil), Log: zerolog.Nop(), Repeats: &Repeater{}}
	route := &cfg.Routes[0]
	t0 := time.Now()
	a, b := sample(alert.KindOpened, 1), sample(alert.KindOpened, 2)
	h.Repeats.Observe(route, &a, t0)
	h.Repeats.Observe(route, &b, t0)
	h.repeatOnce(context.Background(), t0.Add(59*time.Minute))
	if handled, _, _, _ := hook.count(); handled != 0 {
		t.Fatalf("renotified before the interval: %d", handled)
	}
	h.repeatOnce(context.Background(), t0.Add(61*time.Minute))
	handled, _, _, bad := hook.count()
	if handled != 2 || bad != 0 || len(slack.bodies) != 1 {
		t.Fatalf("first repeat: %d webhooks (%d bad), %d slack posts; want 2 and 1 grouped", handled, bad, len(slack.bodies))
	}
	if hook.times(a.MessageID) != 0 || hook.times(NotificationID([]alert.Message{a}, 1)) != 1 {
		t.Errorf("a repeat must carry its own webhook-id, not the change's: %v", hook.handled)
	}
	var sm SlackMessage
	if err := json.Unmarshal(slack.bodies[0], &sm); err != nil || len(sm.Blocks) != 3 {
		t.Errorf("slack repeat: %v %s", err, slack.bodies[0])
	}
	// b resolves; a is still open and renotified at the next interval.
	resolved := sample(alert.KindResolved, 2)
	h.Repeats.Observe(route, &resolved, t0.Add(70*time.Minute))
	h.repeatOnce(context.Background(), t0.Add(122*time.Minute))
	if handled, _, _, _ := hook.count(); handled != 3 || h.Repeats.Open() != 1 {
		t.Errorf("second repeat: %d webhooks, %d open; want 3 and 1", handled, h.Repeats.Open())
	}
	closed := sample(alert.KindClosed, 1)
	h.Repeats.Observe(route, &closed, t0.Add(130*time.Minute))
	h.repeatOnce(context.Background(), t0.Add(300*time.Minute))
	if handled, _, _, _ := hook.count(); handled != 3 || h.Repeats.Open() != 0 {
		t.Errorf("after close: %d webhooks, %d open", handled, h.Repeats.Open())
	}
	kinds := map[string]int{}
	for _, r := range st.rows {
		kinds[r.Kind+"/"+r.Result]++
	}
	if kinds["repeat/delivered"] != 3+3 { // webhooks: a, b, a; slack: a, b, a
		t.Errorf("rows %v", kinds)
	}
}
