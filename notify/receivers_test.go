package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tripline/tripline/alert"
)

// testSecret is the Standard Webhooks test suite's secret (24 bytes).
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func sample(kind string, n int) alert.Message {
	first := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("alert-%03d", n)
	return alert.Message{Version: 1, Kind: kind, MessageID: alert.MessageID(id, kind, 1), At: first.Add(time.Minute),
		Alert: alert.Body{AlertID: id, Fingerprint: "fp-" + id, RuleID: "tripline-mass-push", RuleTitle: "Mass package push <to> many & tenants",
			Level: "high", Tags: []string{"attack.t1072"}, MSP: "msp-a", Tenant: "t-1", ActorUser: "tech1",
			Group: map[string]string{"msp": "msp-a"}, WindowStart: first, FirstTime: first, LastTime: first.Add(time.Minute),
			Count: 3, EventIDs: []string{"e1", "e2"}, IncidentID: "inc-1", Summary: "pushed pkg.msi to 40 tenants"}}
}

func notification(msgs ...alert.Message) *Notification {
	return &Notification{ID: NotificationID(msgs, 0), Route: "r", Messages: msgs}
}

// TestSignSpecVector: the Standard Webhooks reference libraries' test
// vector.
func TestSignSpecVector(t *testing.T) {
	key, err := DecodeSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

// capture is an HTTP receiver that records request bodies and headers.
type capture struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	status  int
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.headers = append(c.headers, r.Header.Clone())
	status := c.status
	c.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

func (c *capture) last(t *testing.T) map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) == 0 {
		t.Fatal("nothing received")
	}
	var v map[string]any
	if err := json.Unmarshal(c.bodies[len(c.bodies)-1], &v); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	return v
}

func TestWebhookSignedAndVerified(t *testing.T) {
	key, _ := DecodeSecret(testSecret)
	c := &capture{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	w, err := NewWebhook(srv.URL, testSecret, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	m := sample("opened", 1)
	n := notification(m)
	for range 2 { // a retry carries the same webhook-id
		if status, err := w.Send(context.Background(), n); err != nil || status != 200 {
			t.Fatalf("send: %d %v", status, err)
		}
	}
	for i, h := range c.headers {
		if err := Verify(key, h, c.bodies[i], time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery %d does not verify: %v", i, err)
		}
		if h.Get("webhook-id") != m.MessageID {
			t.Errorf("webhook-id %q, want the message_id %q", h.Get("webhook-id"), m.MessageID)
		}
		if h.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", h.Get("Content-Type"))
		}
	}
	// Tampering breaks it.
	if err := Verify(key, c.headers[0], append([]byte(" "), c.bodies[0]...), time.Now(), 5*time.Minute); err == nil {
		t.Error("a changed body verifies")
	}
	if err := Verify(key, c.headers[0], c.bodies[0], time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("a stale timestamp verifies")
	}
	body := c.last(t)
	if body["type"] != "alert.opened" {
		t.Errorf("type %v", body["type"])
	}
	data, _ := body["data"].(map[string]any)
	if data["message_id"] != m.MessageID || data["alert"].(map[string]any)["alert_id"] != "alert-001" {
		t.Errorf("data %v", data)
	}
	if _, err := time.Parse(time.RFC3339, body["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
}

func TestHTTPStatusClasses(t *testing.T) {
	for _, c := range []struct {
		status    int
		permanent bool
		after     time.Duration
	}{
		{500, false, 0}, {502, false, 0}, {408, false, 0}, {429, false, 7 * time.Second}, {503, false, 7 * time.Second},
		{400, true, 0}, {401, true, 0}, {404, true, 0}, {410, true, 0}, {302, true, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Location", "https://elsewhere.example/")
			w.WriteHeader(c.status)
		}))
		s := &Slack{URL: srv.URL + "/services/T/B/secretpath", Client: HTTPClient()}
		status, err := s.Send(context.Background(), notification(sample("opened", 1)))
		srv.Close()
		if status != c.status || err == nil || IsPermanent(err) != c.permanent || RetryAfter(err) != c.after {
			t.Errorf("%d: status %d, err %v, permanent %v, after %s", c.status, status, err, IsPermanent(err), RetryAfter(err))
		}
	}
	// A connection error does not quote the URL (a Slack URL is the credential).
	s := &Slack{URL: "http://127.0.0.1:1/services/T/B/secretpath", Client: HTTPClient()}
	if _, err := s.Send(context.Background(), notification(sample("opened", 1))); err == nil || strings.Contains(err.Error(), "secretpath") || IsPermanent(err) {
		t.Errorf("connection refused: %v", err)
	}
}

// The schema helpers check required fields and their JSON types, as the
// receivers' documentation states them.

func str(t *testing.T, v map[string]any, path string, key string) string {
	t.Helper()
	s, ok := v[key].(string)
	if !ok || s == "" {
		t.Errorf("%s.%s: want a non-empty string, got %#v", path, key, v[key])
	}
	return s
}

func obj(t *testing.T, v map[string]any, path, key string) map[string]any {
	t.Helper()
	o, ok := v[key].(map[string]any)
	if !ok {
		t.Fatalf("%s.%s: want an object, got %#v", path, key, v[key])
	}
	return o
}

func arr(t *testing.T, v map[string]any, path, key string) []any {
	t.Helper()
	a, ok := v[key].([]any)
	if !ok || len(a) == 0 {
		t.Fatalf("%s.%s: want a non-empty array, got %#v", path, key, v[key])
	}
	return a
}

// TestSlackSchema: an incoming-webhook message: text (string) and blocks,
// each with a type; header text plain_text of at most 150 characters,
// section text plain_text or mrkdwn of at most 3000, at most 50 blocks.
func TestSlackSchema(t *testing.T) {
	c := &capture{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	s := &Slack{URL: srv.URL, Client: srv.Client()}
	var msgs []alert.Message
	for i := range 45 {
		msgs = append(msgs, sample("opened", i))
	}
	for _, n := range []*Notification{notification(msgs[0]), notification(msgs...)} {
		if _, err := s.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		v := c.last(t)
		if text := str(t, v, "", "text"); strings.Contains(text, "<to>") {
			t.Errorf("text not escaped: %q", text)
		}
		blocks := arr(t, v, "", "blocks")
		if len(blocks) > 50 {
			t.Errorf("%d blocks", len(blocks))
		}
		for i, b := range blocks {
			b := b.(map[string]any)
			path := fmt.Sprintf("blocks[%d]", i)
			switch typ := str(t, b, path, "type"); typ {
			case "header":
				txt := obj(t, b, path, "text")
				if str(t, txt, path+".text", "type") != "plain_text" || len([]rune(str(t, txt, path+".text", "text"))) > 150 {
					t.Errorf("%s: bad header %v", path, txt)
				}
			case "section":
				txt := obj(t, b, path, "text")
				if typ := str(t, txt, path+".text", "type"); typ != "mrkdwn" && typ != "plain_text" {
					t.Errorf("%s: text type %q", path, typ)
				}
				if len([]rune(str(t, txt, path+".text", "text"))) > 3000 {
					t.Errorf("%s: text too long", path)
				}
			case "context":
				for _, e := range arr(t, b, path, "elements") {
					str(t, e.(map[string]any), path+".elements[]", "text")
				}
			default:
				t.Errorf("%s: unexpected block type %q", path, typ)
			}
		}
	}
}

// TestTeamsSchema: a Workflows webhook message: type "message",
// attachments of contentType application/vnd.microsoft.card.adaptive whose
// content is an AdaptiveCard with a version and a body of elements.
func TestTeamsSchema(t *testing.T) {
	c := &capture{status: http.StatusAccepted} // Workflows answers 202
	srv := httptest.NewServer(c)
	defer srv.Close()
	tm := &Teams{URL: srv.URL, Client: srv.Client()}
	closed := sample("closed", 2)
	closed.CloseReason = "false_positive"
	if status, err := tm.Send(context.Background(), notification(sample("opened", 1), closed)); err != nil || status != 202 {
		t.Fatalf("send: %d %v", status, err)
	}
	v := c.last(t)
	if str(t, v, "", "type") != "message" {
		t.Errorf("type %v", v["type"])
	}
	att := arr(t, v, "", "attachments")
	a := att[0].(map[string]any)
	if str(t, a, "attachments[0]", "contentType") != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("contentType %v", a["contentType"])
	}
	card := obj(t, a, "attachments[0]", "content")
	if str(t, card, "content", "type") != "AdaptiveCard" || str(t, card, "content", "version") == "" {
		t.Errorf("card %v", card)
	}
	facts := 0
	for i, e := range arr(t, card, "content", "body") {
		e := e.(map[string]any)
		path := fmt.Sprintf("body[%d]", i)
		switch str(t, e, path, "type") {
		case "TextBlock":
			str(t, e, path, "text")
		case "FactSet":
			for _, f := range arr(t, e, path, "facts") {
				f := f.(map[string]any)
				str(t, f, path+".facts[]", "title")
				if _, ok := f["value"].(string); !ok {
					t.Errorf("%s: fact value %#v", path, f["value"])
				}
				facts++
			}
		default:
			t.Errorf("%s: unexpected element %v", path, e["type"])
		}
	}
	if facts == 0 || !strings.Contains(string(c.bodies[0]), "false_positive") {
		t.Errorf("card lacks facts or the close reason: %s", c.bodies[0])
	}
}

// TestPagerDutySchema: Events API v2: routing_key, event_action
// (trigger|resolve), dedup_key (≤255); a trigger's payload has summary
// (≤1024), source and severity (critical|error|warning|info), timestamp
// ISO 8601 when present. Resolved and closed alerts resolve the same
// dedup_key.
func TestPagerDutySchema(t *testing.T) {
	c := &capture{status: http.StatusAccepted}
	srv := httptest.NewServer(c)
	defer srv.Close()
	pd := &PagerDuty{URL: srv.URL, routingKey: "R0123456789abcdef0123456789abcdef", Client: srv.Client()}
	for _, kind := range []string{"opened", "updated", "reopened", "resolved", "closed"} {
		m := sample(kind, 1)
		if _, err := pd.Send(context.Background(), notification(m)); err != nil {
			t.Fatal(err)
		}
		v := c.last(t)
		str(t, v, "", "routing_key")
		if dk := str(t, v, "", "dedup_key"); dk != m.Alert.Fingerprint || len(dk) > 255 {
			t.Errorf("%s: dedup_key %q, want the fingerprint", kind, dk)
		}
		action := str(t, v, "", "event_action")
		want := "trigger"
		if kind == "resolved" || kind == "closed" {
			want = "resolve"
		}
		if action != want {
			t.Errorf("%s: event_action %q, want %q", kind, action, want)
		}
		if action == "resolve" {
			continue
		}
		p := obj(t, v, "", "payload")
		if s := str(t, p, "payload", "summary"); len(s) > 1024 {
			t.Errorf("summary too long")
		}
		str(t, p, "payload", "source")
		if sev := str(t, p, "payload", "severity"); sev != "error" {
			t.Errorf("severity %q for high", sev)
		}
		if _, err := time.Parse(time.RFC3339Nano, str(t, p, "payload", "timestamp")); err != nil {
			t.Errorf("timestamp: %v", err)
		}
		if _, ok := p["custom_details"].(map[string]any); !ok {
			t.Errorf("custom_details %#v", p["custom_details"])
		}
	}
	for level, want := range map[string]string{"critical": "critical", "medium": "warning", "low": "info", "informational": "info"} {
		m := sample("opened", 1)
		m.Alert.Level = level
		ev, _ := PagerDutyEventOf(&m, "k", 0)
		if ev.Payload.Severity != want {
			t.Errorf("%s: severity %s", level, ev.Payload.Severity)
		}
	}
}

// smtpSink is an in-process SMTP server (emersion/go-smtp) that offers
// STARTTLS, accepts AUTH PLAIN only over TLS, and records messages.
type smtpSink struct {
	addr   string
	caFile string
	mu     sync.Mutex
	mails  []sunkMail
}

type sunkMail struct {
	from, user string
	to         []string
	data       string
	tls        bool
}

type smtpSession struct {
	sink *smtpSink
	conn *smtp.Conn
	cur  sunkMail
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "tripline" || pass != "smtp-pass" {
			return errors.New("bad credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.cur)
	s.sink.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur = sunkMail{user: s.cur.user} }
func (s *smtpSession) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and its PEM in a file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tripline test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}

func startSMTP(t *testing.T, withTLS bool) *smtpSink {
	t.Helper()
	cert, caFile := selfSigned(t)
	sink := &smtpSink{caFile: caFile}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{sink: sink, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = l.Addr().String()
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Serve(l) })
	t.Cleanup(func() { s.Close(); wg.Wait() })
	return sink
}

func emailReceiver(t *testing.T, sink *smtpSink) *Email {
	t.Helper()
	host, port, _ := net.SplitHostPort(sink.addr)
	var p int
	fmt.Sscan(port, &p)
	e, err := NewEmail(&ReceiverConfig{SMTPHost: host, SMTPPort: p, Username: "tripline", From: "tripline@example.com",
		To: []string{"soc@example.com", "oncall@example.com"}, CAFile: sink.caFile}, "smtp-pass", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEmailSTARTTLS: a grouped notification arrives as one mail, over
// STARTTLS, authenticated, to every recipient.
func TestEmailSTARTTLS(t *testing.T) {
	sink := startSMTP(t, true)
	e := emailReceiver(t, sink)
	n := notification(sample("opened", 1), sample("resolved", 2))
	if status, err := e.Send(context.Background(), n); err != nil || status != 250 {
		t.Fatalf("send: %d %v", status, err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.mails) != 1 {
		t.Fatalf("%d mails", len(sink.mails))
	}
	m := sink.mails[0]
	if !m.tls || m.user != "tripline" || m.from != "tripline@example.com" || len(m.to) != 2 {
		t.Errorf("mail %+v", m)
	}
	for _, want := range []string{"Subject: [tripline] 2 alerts (r)", "Message-ID: <" + n.ID + "@tripline>", "alert-001", "alert-002", "resolved"} {
		if !strings.Contains(m.data, want) {
			t.Errorf("mail lacks %q:\n%s", want, m.data)
		}
	}
}

// TestEmailRefusesPlaintext: a server without STARTTLS gets nothing.
func TestEmailRefusesPlaintext(t *testing.T) {
	sink := startSMTP(t, false)
	e := emailReceiver(t, sink)
	if _, err := e.Send(context.Background(), notification(sample("opened", 1))); err == nil {
		t.Fatal("sent without STARTTLS")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.mails) != 0 {
		t.Fatalf("%d mails in clear text", len(sink.mails))
	}
}
