package notify

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/store/storetest"
)

var ch chserver.Shared

// childEnv makes the test binary a notify worker process (see
// TestSIGKILLMidDelivery) instead of running tests.
const childEnv = "TRIPLINE_NOTIFY_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(ch.Run(m))
}

// idempotentReceiver is a Standard Webhooks receiver as the spec asks
// receivers to be: it verifies every signature and handles each
// webhook-id once, answering 2xx to a duplicate without handling it again.
type idempotentReceiver struct {
	key []byte
	// down answers 503 to everything while set.
	down atomic.Bool
	// failAfterHandling answers 500 after handling the first delivery of
	// every n-th webhook-id (0: never): the answer was lost, the sender
	// retries, the receiver must not handle it twice.
	failAfterHandling int
	delay             time.Duration

	mu         sync.Mutex
	handled    map[string]int
	duplicates int
	requests   int
	badSig     int
	handledAt  []time.Time
}

func newIdempotentReceiver(t *testing.T) (*idempotentReceiver, *httptest.Server) {
	key, err := DecodeSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &idempotentReceiver{key: key, handled: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *idempotentReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := Verify(r.key, req.Header, body, time.Now(), 5*time.Minute); err != nil {
		r.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p WebhookPayload
	// A change's webhook-id is its message_id; a renotification has its own.
	if err := json.Unmarshal(body, &p); err != nil || p.Repeat == 0 && p.Data.MessageID != req.Header.Get("webhook-id") {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	if r.handled[id] > 0 {
		r.duplicates++
		w.WriteHeader(http.StatusNoContent)
		return
	}
	r.handled[id]++
	r.handledAt = append(r.handledAt, time.Now())
	if r.failAfterHandling > 0 && len(r.handled)%r.failAfterHandling == 0 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// times is how often id was handled.
func (r *idempotentReceiver) times(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handled[id]
}

func (r *idempotentReceiver) count() (handled, duplicates, requests, badSig int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.handled), r.duplicates, r.requests, r.badSig
}

// world is one test's broker, ClickHouse and receivers.
type world struct {
	t     *testing.T
	brk   *broker.Broker
	st    *store.Store
	chAdr string
	name  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := ch.Get(t)
	st := storetest.Migrated(t, srv.Addr())
	brk := broker.ForTest(t, broker.Options{Partitions: 2, Topics: []string{TopicAlerts, TopicDLQ}})
	return &world{t: t, brk: brk, st: st, chAdr: srv.Addr(), name: strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))}
}

// alerts returns n messages of this test's own alerts.
func (w *world) alerts(n int, kind, level string) []alert.Message {
	out := make([]alert.Message, n)
	for i := range out {
		m := sample(kind, i)
		m.Alert.AlertID = fmt.Sprintf("%s-%03d", w.name, i)
		m.Alert.Fingerprint = "fp-" + m.Alert.AlertID
		m.Alert.Level = level
		m.Alert.FirstTime = time.Now().Add(-2 * time.Second)
		m.MessageID = alert.MessageID(m.Alert.AlertID, kind, 1)
		out[i] = m
	}
	return out
}

func (w *world) produce(topic string, msgs ...alert.Message) {
	w.t.Helper()
	wr := w.brk.Config().NewWriterLimit(1 << 20)
	defer wr.Close()
	var km []kafka.Message
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			w.t.Fatal(err)
		}
		km = append(km, kafka.Message{Topic: topic, Key: []byte(m.Alert.AlertID), Value: b})
	}
	if err := wr.WriteMessages(context.Background(), km...); err != nil {
		w.t.Fatal(err)
	}
}

// run starts a notify worker and stops it when the test ends.
func (w *world) run(cfg *Config, reg prometheus.Registerer) (stop func()) {
	w.t.Helper()
	recv, err := BuildReceivers(cfg, HTTPClient())
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		err := Run(ctx, WorkerConfig{Kafka: w.brk.Config(), Group: w.name, Config: cfg, Receivers: recv, Store: w.st,
			MinFlush: 50 * time.Millisecond, RetryMin: 50 * time.Millisecond, RetryMax: time.Second, ShutdownTimeout: 5 * time.Second,
			Log: zerolog.New(zerolog.NewTestWriter(w.t)).Level(zerolog.WarnLevel), Registerer: reg})
		if err != nil {
			w.t.Errorf("notify: %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	w.t.Cleanup(stop)
	return stop
}

// deliveries counts alert_deliveries rows of this test by receiver and
// result.
func (w *world) deliveries() map[string]int {
	w.t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{w.chAdr}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(),
		"SELECT receiver, result, count() FROM tripline.alert_deliveries WHERE startsWith(alert_id, ?) GROUP BY receiver, result", w.name+"-")
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var recv, res string
		var n uint64
		if err := rows.Scan(&recv, &res, &n); err != nil {
			w.t.Fatal(err)
		}
		out[recv+"/"+res] = int(n)
	}
	return out
}

// committed is the group's committed offset summed over partitions.
func (w *world) committed(topic string) int64 {
	w.t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(w.brk.Addrs()...), Timeout: 5 * time.Second}
	resp, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: w.name, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		w.t.Fatal(err)
	}
	var sum int64
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.CommittedOffset > 0 {
				sum += p.CommittedOffset
			}
		}
	}
	return sum
}

// readDLQ reads n dead letters (or fails after a timeout).
func (w *world) readDLQ(n int) []kafka.Message {
	w.t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: w.brk.Addrs(), GroupID: w.name + "-dlq", Topic: TopicDLQ, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			w.t.Fatalf("read %s: %d of %d: %v", TopicDLQ, len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func parseConfig(t *testing.T, text string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(text), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestDeliver: messages reach the receivers their routes name; Slack gets
// a route's batch as one message; silenced and unrouted ones go nowhere;
// every attempt is a row; offsets are committed; metrics count it all.
func TestDeliver(t *testing.T) {
	w := newWorld(t)
	hook, hookSrv := newIdempotentReceiver(t)
	slack := &capture{}
	slackSrv := httptest.NewServer(slack)
	defer slackSrv.Close()
	t.Setenv("TEST_WEBHOOK_SECRET", testSecret)
	t.Setenv("TEST_SLACK_URL", slackSrv.URL+"/services/T0/B0/secret")
	cfg := parseConfig(t, fmt.Sprintf(`
defaults: {group_wait: 300ms}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:TEST_WEBHOOK_SECRET}
  - {name: chat, type: slack, url: env:TEST_SLACK_URL}
routes:
  - {name: all, match: {level: medium}, receivers: [soc, chat]}
`, hookSrv.URL))
	reg := prometheus.NewRegistry()
	w.run(cfg, reg)

	msgs := w.alerts(8, alert.KindOpened, "high")
	silenced := w.alerts(10, alert.KindOpened, "critical")[9]
	silenced.Alert.SuppressedBy = "silence-1"
	low := w.alerts(11, alert.KindOpened, "low")[10]
	w.produce(TopicAlerts, append(msgs, silenced, low)...)

	waitFor(t, 15*time.Second, "8 webhooks", func() bool { h, _, _, _ := hook.count(); return h == 8 })
	waitFor(t, 15*time.Second, "all offsets committed", func() bool { return w.committed(TopicAlerts) == 10 })
	handled, dups, _, bad := hook.count()
	if handled != 8 || dups != 0 || bad != 0 {
		t.Errorf("webhook: handled %d, duplicates %d, bad signatures %d", handled, dups, bad)
	}
	for _, m := range msgs {
		if n := hook.times(m.MessageID); n != 1 {
			t.Errorf("message %s handled %d times", m.MessageID, n)
		}
	}
	slack.mu.Lock()
	slackPosts, alertsInSlack := len(slack.bodies), 0
	for _, b := range slack.bodies {
		var sm SlackMessage
		if err := json.Unmarshal(b, &sm); err != nil {
			t.Fatal(err)
		}
		for _, bl := range sm.Blocks {
			if bl.Type == "section" {
				alertsInSlack++
			}
		}
	}
	slack.mu.Unlock()
	if alertsInSlack != 8 || slackPosts > 2 {
		t.Errorf("slack: %d alerts in %d posts; want 8 alerts grouped", alertsInSlack, slackPosts)
	}
	rows := w.deliveries()
	if rows["soc/delivered"] != 8 || rows["chat/delivered"] != 8 {
		t.Errorf("alert_deliveries rows: %v", rows)
	}
	if got := counter(t, reg, "tripline_notify_silenced_total"); got != 1 {
		t.Errorf("silenced %v", got)
	}
	if got := counter(t, reg, "tripline_notify_unrouted_total"); got != 1 {
		t.Errorf("unrouted %v", got)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "tripline_notify_delivery_delay_seconds":
			for _, m := range mf.GetMetric() {
				if c := m.GetHistogram().GetSampleCount(); c != 8 {
					t.Errorf("delay histogram %v: %d samples", m.GetLabel(), c)
				}
				if s := m.GetHistogram().GetSampleSum(); s < 8*2 {
					t.Errorf("delay sum %v below 8 × the 2 s since first_time", s)
				}
			}
		case "tripline_notify_deliveries_total":
			for _, m := range mf.GetMetric() {
				// Attempts: one per webhook, one per Slack post.
				want := map[string]float64{"soc": 8, "chat": float64(slackPosts)}[m.GetLabel()[0].GetValue()]
				if m.GetLabel()[1].GetValue() == ResultDelivered && m.GetCounter().GetValue() != want {
					t.Errorf("deliveries %v: %v, want %v", m.GetLabel(), m.GetCounter().GetValue(), want)
				}
			}
		}
	}
}

// counter is the value of an unlabelled counter.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// outage is how long the receiver is down in TestReceiverOutage. The
// issue says 30 s; what matters is an outage longer than several retries,
// shorter than the retry budget, so 3 s with backoffs of 100 ms to 1 s
// (budget: 10 attempts ≈ 7.5 s) keeps the test short.
const outage = 3 * time.Second

// TestReceiverOutage: the receiver is down, then up; nothing is lost,
// nothing dead-lettered, and each webhook-id is handled once although
// some answers were lost after handling (the receiver deduplicates).
func TestReceiverOutage(t *testing.T) {
	w := newWorld(t)
	hook, hookSrv := newIdempotentReceiver(t)
	hook.failAfterHandling = 4
	t.Setenv("TEST_WEBHOOK_SECRET", testSecret)
	cfg := parseConfig(t, fmt.Sprintf(`
defaults: {group_wait: 0s}
retry: {max_attempts: 10, initial_backoff: 100ms, max_backoff: 1s, timeout: 2s}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:TEST_WEBHOOK_SECRET}
routes:
  - {name: all, receivers: [soc]}
`, hookSrv.URL))
	hook.down.Store(true)
	w.run(cfg, nil)
	msgs := w.alerts(20, alert.KindOpened, "high")
	w.produce(TopicAlerts, msgs...)
	time.Sleep(outage)
	_, _, during, _ := hook.count()
	hook.down.Store(false)
	waitFor(t, 20*time.Second, "all offsets committed", func() bool { return w.committed(TopicAlerts) == 20 })
	handled, dups, requests, bad := hook.count()
	t.Logf("outage %s: %d requests refused during it; then %d handled, %d duplicates answered, %d requests in all", outage, during, handled, dups, requests)
	if handled != 20 || bad != 0 {
		t.Errorf("handled %d of 20, %d bad signatures", handled, bad)
	}
	for _, m := range msgs {
		if n := hook.times(m.MessageID); n != 1 {
			t.Errorf("message %s handled %d times", m.MessageID, n)
		}
	}
	if during < 2 || dups == 0 {
		t.Errorf("want retries during the outage (%d) and duplicates after lost answers (%d)", during, dups)
	}
	rows := w.deliveries()
	if rows["soc/delivered"] != 20 || rows["soc/retry"] < during || rows["soc/failed"] != 0 {
		t.Errorf("alert_deliveries rows: %v", rows)
	}
}

// TestDeadLetter: a receiver that keeps failing, and one that refuses the
// content, get their messages dead-lettered after bounded retries (the
// refused ones at once), and the offsets move on.
func TestDeadLetter(t *testing.T) {
	w := newWorld(t)
	var hookRequests atomic.Int32
	hookSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		hookRequests.Add(1)
		rw.WriteHeader(http.StatusBadGateway)
	}))
	defer hookSrv.Close()
	var pdRequests atomic.Int32
	pdSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		pdRequests.Add(1)
		http.Error(rw, `{"status":"invalid event","message":"Event object is invalid"}`, http.StatusBadRequest)
	}))
	defer pdSrv.Close()
	t.Setenv("TEST_WEBHOOK_SECRET", testSecret)
	t.Setenv("TEST_PD_KEY", "R0123456789abcdef0123456789abcdef")
	cfg := parseConfig(t, fmt.Sprintf(`
defaults: {group_wait: 0s}
retry: {max_attempts: 3, initial_backoff: 20ms, max_backoff: 50ms}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:TEST_WEBHOOK_SECRET}
  - {name: pager, type: pagerduty, url: %q, routing_key: env:TEST_PD_KEY}
routes:
  - {name: all, receivers: [soc, pager]}
`, hookSrv.URL, pdSrv.URL))
	w.run(cfg, nil)
	msgs := w.alerts(3, alert.KindOpened, "high")
	w.produce(TopicAlerts, msgs...)
	dead := w.readDLQ(6)
	waitFor(t, 10*time.Second, "offsets committed", func() bool { return w.committed(TopicAlerts) == 3 })
	perReceiver := map[string]int{}
	for _, d := range dead {
		if r := deadletter.Header(d, deadletter.HeaderReason); r != ReasonDeliveryFailed {
			t.Errorf("reason %q", r)
		}
		perReceiver[deadletter.Header(d, HeaderReceiver)]++
		if _, err := alert.ParseMessage(d.Value); err != nil {
			t.Errorf("dead letter is not the original message: %v", err)
		}
		if strings.Contains(deadletter.Header(d, deadletter.HeaderError), "R0123456789") {
			t.Error("a dead letter quotes the routing key")
		}
	}
	if perReceiver["soc"] != 3 || perReceiver["pager"] != 3 {
		t.Errorf("dead letters per receiver: %v", perReceiver)
	}
	if hookRequests.Load() != 9 || pdRequests.Load() != 3 {
		t.Errorf("requests: webhook %d (want 3 × 3 attempts), pagerduty %d (want 3: a 400 is not retried)", hookRequests.Load(), pdRequests.Load())
	}
	if rows := w.deliveries(); rows["soc/retry"] != 6 || rows["soc/failed"] != 3 || rows["pager/failed"] != 3 {
		t.Errorf("alert_deliveries rows: %v", rows)
	}
}

// TestSIGKILLMidDelivery: a notify process is SIGKILLed while it delivers
// a backlog; a second one in the same group delivers the rest. Nothing is
// lost and the idempotent receiver handles every webhook-id once (some
// were sent twice: delivered, not yet committed, when the first died).
func TestSIGKILLMidDelivery(t *testing.T) {
	w := newWorld(t)
	hook, hookSrv := newIdempotentReceiver(t)
	hook.delay = 20 * time.Millisecond // slow enough to be killed mid-way
	cfgFile := filepath.Join(t.TempDir(), "notify.yml")
	err := os.WriteFile(cfgFile, fmt.Appendf(nil, `
defaults: {group_wait: 0s}
retry: {max_attempts: 10, initial_backoff: 100ms, max_backoff: 1s}
receivers:
  - {name: soc, type: webhook, url: %q, secret: env:TEST_WEBHOOK_SECRET}
routes:
  - {name: all, receivers: [soc]}
`, hookSrv.URL), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	msgs := w.alerts(n, alert.KindOpened, "high")
	w.produce(TopicAlerts, msgs...)
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "TEST_WEBHOOK_SECRET="+testSecret,
			"CHILD_BROKERS="+strings.Join(w.brk.Addrs(), ","), "CHILD_CLICKHOUSE="+w.chAdr,
			"CHILD_CONFIG="+cfgFile, "CHILD_GROUP="+w.name)
		cmd.Stderr = &testLogWriter{t: t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	waitFor(t, 20*time.Second, "deliveries to begin", func() bool { h, _, _, _ := hook.count(); return h >= 10 })
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill, _, _, _ := hook.count()
	committedAtKill := w.committed(TopicAlerts)
	second := start()
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	waitFor(t, 30*time.Second, "every offset committed", func() bool { return w.committed(TopicAlerts) == n })
	handled, dups, requests, bad := hook.count()
	t.Logf("killed at %d handled, %d committed; in the end %d handled, %d duplicates answered, %d requests", atKill, committedAtKill, handled, dups, requests)
	if atKill >= n {
		t.Errorf("the kill came after every delivery (%d); not mid-delivery", atKill)
	}
	if handled != n || bad != 0 {
		t.Errorf("handled %d of %d, %d bad signatures", handled, n, bad)
	}
	for _, m := range msgs {
		if n := hook.times(m.MessageID); n != 1 {
			t.Errorf("message %s handled %d times", m.MessageID, n)
		}
	}
	if rows := w.deliveries(); rows["soc/delivered"] < n {
		t.Errorf("alert_deliveries: %v, want a delivered row for each of %d messages", rows, n)
	}
}

type testLogWriter struct{ t *testing.T }

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.t.Logf("child: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// runChild is a notify worker process for TestSIGKILLMidDelivery.
func runChild() int {
	cfg, err := LoadFile(os.Getenv("CHILD_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	recv, err := BuildReceivers(cfg, HTTPClient())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Addr: os.Getenv("CHILD_CLICKHOUSE")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	err = Run(ctx, WorkerConfig{
		Kafka: kafkaio.Config{Brokers: strings.Split(os.Getenv("CHILD_BROKERS"), ","), SessionTimeout: 6 * time.Second},
		Group: os.Getenv("CHILD_GROUP"), Config: cfg, Receivers: recv, Store: st, BatchSize: 10,
		MinFlush: 50 * time.Millisecond, RetryMin: 50 * time.Millisecond, RetryMax: time.Second,
		Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
