package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/notify"
)

const (
	notifyGroup = "faults-notify"
	// notifySecret is a Standard Webhooks secret (24 bytes of key).
	notifySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// webhookSink is an idempotent Standard Webhooks receiver: it verifies
// each signature and handles each webhook-id once.
type webhookSink struct {
	key   []byte
	delay time.Duration

	mu         sync.Mutex
	handled    map[string]int
	duplicates int
	badSig     int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := notify.Verify(s.key, r.Header, body, time.Now(), 5*time.Minute); err != nil {
		s.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	if s.handled[id] > 0 {
		s.duplicates++
	}
	s.handled[id]++
	w.WriteHeader(http.StatusOK)
}

func (s *webhookSink) counts() (distinct, duplicates, badSig int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.handled), s.duplicates, s.badSig
}

// TestNotifySIGKILL: `tripline notify` is SIGKILLed while it delivers a
// backlog of alerts and restarted. Every alert reaches the receiver (some
// twice, with the same webhook-id: delivered but not committed when the
// process died), and every offset is committed in the end.
func TestNotifySIGKILL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.kafka.EnsureTopics(ctx, []kafkaio.TopicSpec{{Name: notify.TopicAlerts, Partitions: partitions}, {Name: notify.TopicDLQ, Partitions: partitions}}); err != nil {
		t.Fatal(err)
	}
	key, err := notify.DecodeSecret(notifySecret)
	if err != nil {
		t.Fatal(err)
	}
	sink := &webhookSink{key: key, delay: 10 * time.Millisecond, handled: map[string]int{}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "notify.yml")
	err = os.WriteFile(cfg, fmt.Appendf(nil, `
defaults: {group_wait: 0s}
retry: {max_attempts: 10, initial_backoff: 100ms, max_backoff: 1s}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:FAULTS_NOTIFY_SECRET}
routes:
  - {name: all, receivers: [soc]}
`, srv.URL), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	const n = 200
	msgs := make([]kafka.Message, n)
	ids := make([]string, n)
	first := time.Now().Add(-time.Minute).UTC()
	for i := range msgs {
		id := fmt.Sprintf("faults-alert-%03d", i)
		m := alert.Message{Version: alert.MessageVersion, Kind: alert.KindOpened, MessageID: alert.MessageID(id, alert.KindOpened, 1), At: first,
			Alert: alert.Body{AlertID: id, Fingerprint: "fp-" + id, RuleID: "r", RuleTitle: "Rule", Level: "high", MSP: "msp-a", Tenant: "t-1",
				Tags: []string{}, Group: map[string]string{}, EventIDs: []string{}, WindowStart: first, FirstTime: first, LastTime: first, Count: 1}}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i], ids[i] = kafka.Message{Topic: notify.TopicAlerts, Key: []byte(id), Value: b}, m.MessageID
	}
	e.produce(msgs)

	w := e.newWorker("notify", "notify", 20, "--group", notifyGroup, "--config", cfg, "--kafka-session-timeout", "6s")
	w.env = []string{"FAULTS_NOTIFY_SECRET=" + notifySecret}
	w.start()
	deadline := time.Now().Add(30 * time.Second)
	for d, _, _ := sink.counts(); d < 40; d, _, _ = sink.counts() {
		if !w.running() || time.Now().After(deadline) {
			t.Fatalf("notify did not start delivering (running %v):\n%s", w.running(), w.logTail(20))
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.kill()
	atKill, _, _ := sink.counts()
	w.start()

	committed := func() int64 {
		var sum int64
		for _, off := range e.committed(notifyGroup, []string{notify.TopicAlerts}) {
			sum += max(off, 0)
		}
		return sum
	}
	deadline = time.Now().Add(60 * time.Second)
	for committed() < n {
		if !w.running() || time.Now().After(deadline) {
			t.Fatalf("not caught up (%d of %d committed; running %v):\n%s", committed(), n, w.running(), w.logTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := w.stop(20 * time.Second); err != nil {
		t.Error(err)
	}
	distinct, dups, bad := sink.counts()
	t.Logf("SIGKILL after %d of %d alerts delivered; in the end %d distinct webhook-ids, %d sent twice", atKill, n, distinct, dups)
	if atKill >= n || distinct != n || bad != 0 {
		t.Errorf("killed at %d; %d of %d delivered, %d bad signatures", atKill, distinct, n, bad)
	}
	for _, id := range ids {
		if sink.handled[id] == 0 {
			t.Errorf("alert message %s never delivered", id)
		}
	}
	var rows uint64
	if err := e.conn.QueryRow(ctx, "SELECT uniqExact(message_id) FROM tripline.alert_deliveries WHERE result = 'delivered'").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Errorf("alert_deliveries: %d messages with a delivered row, want %d", rows, n)
	}
}

// TestNotifyPoisonConfig: `tripline notify` refuses to start with a bad
// config, at once and with the problems' file:line.
func TestNotifyPoisonConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the tripline binary")
	}
	poison, err := filepath.Abs("../notify/testdata/poison.yml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tripline, "notify", "--config", poison, "--brokers", "127.0.0.1:1", "--clickhouse", "127.0.0.1:1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("exit %d after %s: %v\n%s", code, time.Since(start), err, out)
	}
	if !strings.Contains(string(out), "refusing to start: "+poison+":2: defaults.group_wait") {
		t.Errorf("output:\n%s", out)
	}
}
