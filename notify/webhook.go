package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/alert"
)

// Webhook posts each message to a URL signed per the Standard Webhooks
// specification: headers webhook-id (the message_id, the same on every
// retry so receivers deduplicate), webhook-timestamp (Unix seconds of the
// attempt) and webhook-signature ("v1," + base64 HMAC-SHA256 of
// "id.timestamp.body" under the base64-decoded whsec_ secret). The body is
// the spec's recommended envelope: {"type", "timestamp", "data"}, data
// being the tripline.alerts message.
type Webhook struct {
	URL    string
	key    []byte
	Client *http.Client
	Now    func() time.Time
}

// WebhookPayload is the body of a webhook delivery.
type WebhookPayload struct {
	// Type is "alert." + the message kind, e.g. "alert.opened".
	Type      string        `json:"type"`
	Timestamp time.Time     `json:"timestamp"`
	Data      alert.Message `json:"data"`
	// Repeat counts renotifications of a still-open alert (0: the change).
	Repeat int `json:"repeat,omitempty"`
}

// SecretPrefix starts a Standard Webhooks secret.
const SecretPrefix = "whsec_"

// DecodeSecret returns the HMAC key of a whsec_ secret. Its errors never
// quote the secret.
func DecodeSecret(secret string) ([]byte, error) {
	if !strings.HasPrefix(secret, SecretPrefix) {
		return nil, errors.New("a webhook secret starts with whsec_ (Standard Webhooks)")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, errors.New("the part after whsec_ is not base64")
	}
	// The spec asks for 24 to 64 bytes of key.
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("the key is %d bytes; Standard Webhooks wants 24 to 64", len(key))
	}
	return key, nil
}

// NewWebhook returns a webhook receiver with secret (whsec_...).
func NewWebhook(url, secret string, client *http.Client) (*Webhook, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Webhook{URL: url, key: key, Client: client}, nil
}

// Sign returns the webhook-signature value of one delivery.
func Sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's headers against body, as a receiver does:
// the timestamp within tolerance of now and one of the space-separated
// signatures matching. Tests and receivers written in Go use it.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsStr, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsStr == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %w", tsStr, err)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp %d is %s from now", ts, d)
	}
	want := Sign(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// Groups: one webhook per message, so that webhook-id is the message_id.
func (w *Webhook) Groups() bool { return false }

// Type implements Sender.
func (w *Webhook) Type() string { return TypeWebhook }

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, n *Notification) (int, error) {
	if len(n.Messages) != 1 {
		return 0, Permanent(fmt.Errorf("webhook: %d messages in one notification", len(n.Messages)))
	}
	m := n.Messages[0]
	body, err := json.Marshal(WebhookPayload{Type: "alert." + m.Kind, Timestamp: m.At, Data: m, Repeat: n.Repeat})
	if err != nil {
		return 0, Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := now().Unix()
	h := http.Header{}
	h.Set("webhook-id", n.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", Sign(w.key, n.ID, ts, body))
	return postJSON(ctx, w.Client, w.URL, body, h)
}
