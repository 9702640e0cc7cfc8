package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tripline/tripline/alert"
)

// Notification is what one delivery attempt sends: one message, or several
// of one route for receivers that carry groups (Sender.Groups).
type Notification struct {
	// ID is the idempotency key, the same on every retry: the message's
	// message_id, or for a group a UUIDv5 of its message IDs.
	ID       string
	Route    string
	Messages []alert.Message
	// Repeat counts renotifications of an open alert (0: the change itself).
	Repeat int
}

// Sender delivers notifications to one receiver. Send returns the status
// the receiver answered (an HTTP status, 250 for SMTP) and an error unless
// the receiver accepted the notification. Wrapping the error in
// Permanent stops retries: the receiver refused the content, and sending
// it again cannot help.
type Sender interface {
	Send(ctx context.Context, n *Notification) (status int, err error)
	// Groups reports whether one notification may carry several messages.
	Groups() bool
	// Type is the receiver type, for rows and metrics.
	Type() string
}

// permanentError marks a failure retries cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterError carries a receiver's Retry-After (429, 503).
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter is the wait a receiver asked for, 0 when it did not.
func RetryAfter(err error) time.Duration {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after
	}
	return 0
}

// groupNamespace is the UUIDv5 namespace of group and repeat
// notification IDs. Never change it: receivers deduplicate on them.
var groupNamespace = uuid.MustParse("1f0b6d1e-8c4a-5b77-a2c3-6e6f74696679")

// NotificationID is the idempotency key of msgs sent together, the
// repeat-th time (0: first).
func NotificationID(msgs []alert.Message, repeat int) string {
	if len(msgs) == 1 && repeat == 0 {
		return msgs[0].MessageID
	}
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.MessageID)
		b.WriteByte(0)
	}
	fmt.Fprintf(&b, "repeat=%d", repeat)
	return uuid.NewSHA1(groupNamespace, []byte(b.String())).String()
}

// maxResponseSnippet caps what a receiver's error answer contributes to an
// error (and so to a row of alert_deliveries).
const maxResponseSnippet = 256

// postJSON posts body and classifies the answer: 2xx is success; 408, 425,
// 429 and 5xx are retried (with the receiver's Retry-After when it gave
// one); other statuses are permanent.
func postJSON(ctx context.Context, client *http.Client, endpoint string, body []byte, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, Permanent(fmt.Errorf("request: %w", stripURL(err)))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tripline-notify")
	resp, err := client.Do(req)
	if err != nil {
		// url.Error quotes the URL, which for Slack and Teams is the
		// credential.
		return 0, fmt.Errorf("post: %w", stripURL(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	err = fmt.Errorf("answered %d %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return code, &retryAfterError{err: err, after: parseRetryAfter(resp.Header.Get("Retry-After"))}
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code >= 500:
		return code, err
	default:
		return code, Permanent(err)
	}
}

func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Text helpers shared by the chat and email receivers.

var kindVerb = map[string]string{
	alert.KindOpened:   "opened",
	alert.KindUpdated:  "updated",
	alert.KindResolved: "resolved",
	alert.KindClosed:   "closed",
	alert.KindReopened: "reopened",
}

// title is one line about a message, e.g. "[HIGH] opened: Rule title".
func title(m *alert.Message, repeat int) string {
	verb := kindVerb[m.Kind]
	if verb == "" {
		verb = m.Kind
	}
	if repeat > 0 {
		verb = "still open"
	}
	return fmt.Sprintf("[%s] %s: %s", strings.ToUpper(m.Alert.Level), verb, m.Alert.RuleTitle)
}

// facts are the alert's fields worth a line each, in a fixed order.
func facts(m *alert.Message) [][2]string {
	a := &m.Alert
	f := [][2]string{
		{"Rule", a.RuleID},
		{"MSP", a.MSP},
		{"Tenant", a.Tenant},
	}
	if a.ActorUser != "" {
		f = append(f, [2]string{"Actor", a.ActorUser})
	}
	f = append(f,
		[2]string{"Detections", strconv.FormatUint(a.Count, 10)},
		[2]string{"First", a.FirstTime.UTC().Format(time.RFC3339)},
		[2]string{"Last", a.LastTime.UTC().Format(time.RFC3339)},
		[2]string{"Alert", a.AlertID},
	)
	if a.IncidentID != "" {
		f = append(f, [2]string{"Incident", a.IncidentID})
	}
	if m.CloseReason != "" {
		f = append(f, [2]string{"Close reason", m.CloseReason})
	}
	return f
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
