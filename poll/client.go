package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client does a source's HTTP requests: authorisation, retries, rate
// limits and bounded bodies.
type client struct {
	hc          *http.Client
	auth        authorizer // nil: no Authorization header (the token endpoint)
	maxBody     int64
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	maxWait     time.Duration
	m           *sourceMetrics
}

// authorizer supplies the Authorization header value and forgets it when
// the API refused it.
type authorizer interface {
	header(ctx context.Context) (string, error)
	invalidate()
}

// statusError is an answer the client does not retry.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.status, e.body)
}

// do sends the request build makes (a new one per attempt) and returns
// the body of a 2xx answer. 429 and 503 wait for Retry-After (at most
// maxWait) or back off; 5xx, 408 and transport errors back off; a 401
// drops the token and retries once with a new one. Other answers fail at
// once.
func (c *client) do(ctx context.Context, build func(ctx context.Context) (*http.Request, error)) ([]byte, error) {
	reauthorized := false
	var last error
	for attempt := 0; attempt < c.maxAttempts; attempt++ {
		if attempt > 0 {
			c.m.retries.Inc()
		}
		req, err := build(ctx)
		if err != nil {
			return nil, err
		}
		if c.auth != nil {
			h, err := c.auth.header(ctx)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", h)
		}
		req.Header.Set("Accept", "application/json")
		start := time.Now()
		resp, err := c.hc.Do(req)
		if err != nil {
			c.m.requests.WithLabelValues("error").Inc()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// The error names the method and URL (no credentials: they
			// travel in headers and bodies only).
			last = err
			if err := sleep(ctx, c.jitter(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		body, rerr := readBounded(resp.Body, c.maxBody)
		resp.Body.Close()
		c.m.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
		c.m.latency.Observe(time.Since(start).Seconds())
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300 && rerr == nil:
			return body, nil
		case code >= 200 && code < 300 && errors.Is(rerr, errBodyTooLarge):
			return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), rerr)
		case code >= 200 && code < 300:
			// The body was cut short (connection lost): transient.
			last = fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), rerr)
			if err := sleep(ctx, c.jitter(attempt)); err != nil {
				return nil, err
			}
		case code == http.StatusUnauthorized && c.auth != nil && !reauthorized:
			// An expired or revoked token: a new one, once.
			reauthorized = true
			c.auth.invalidate()
			attempt--
			continue
		case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
			if code == http.StatusTooManyRequests {
				c.m.rateLimited.Inc()
			}
			last = &statusError{status: code, body: snippet(body)}
			wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if !ok {
				wait = c.jitter(attempt)
			}
			if wait > c.maxWait {
				wait = c.maxWait
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
		case code >= 500 || code == http.StatusRequestTimeout:
			last = &statusError{status: code, body: snippet(body)}
			if err := sleep(ctx, c.jitter(attempt)); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), &statusError{status: code, body: snippet(body)})
		}
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", c.maxAttempts, last)
}

// jitter is the wait before retry attempt+1: uniform in [0, b) with b
// doubling from backoff to maxBackoff ("full jitter"), so that pollers
// that failed together do not retry together.
func (c *client) jitter(attempt int) time.Duration {
	b := c.backoff << min(attempt, 30)
	if b <= 0 || b > c.maxBackoff {
		b = c.maxBackoff
	}
	if b <= 0 {
		return 0
	}
	return rand.N(b)
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, 1<<20)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var errBodyTooLarge = errors.New("response body too large")

// readBounded reads at most max bytes of r; more is errBodyTooLarge.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: over %d bytes (max_body_bytes; lower page_size)", errBodyTooLarge, max)
	}
	return b, nil
}

// snippet is the start of an error body, for the operator: vendors explain
// a 400 there. Bodies of error answers do not carry our credentials.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// redactURL is u without its query: next-page URLs carry opaque tokens
// that are not worth a log line's width.
func redactURL(u *url.URL) string {
	v := *u
	if v.RawQuery != "" {
		v.RawQuery = "…"
	}
	return v.String()
}

// bearer is a fixed token (TeamViewer's script token).
type bearer struct{ tok secret }

func (b bearer) header(context.Context) (string, error) { return "Bearer " + string(b.tok), nil }
func (bearer) invalidate()                              {}

// oauth is an OAuth 2.0 token endpoint (client credentials, or Datto's
// password grant), cached until shortly before expiry or until the API
// refuses the token.
type oauth struct {
	c        *client // no auth of its own
	tokenURL string
	form     url.Values // grant and credentials: never logged
	basic    [2]string  // HTTP basic client authentication, if set
	m        *sourceMetrics
	now      func() time.Time

	mu  sync.Mutex
	tok string
	exp time.Time
}

// expirySkew renews a token this long before the endpoint says it expires
// (clock skew, requests in flight).
const expirySkew = 60 * time.Second

func (o *oauth) header(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tok != "" && o.now().Before(o.exp) {
		return "Bearer " + o.tok, nil
	}
	body, err := o.c.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenURL, strings.NewReader(o.form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if o.basic[0] != "" {
			req.SetBasicAuth(o.basic[0], o.basic[1])
		}
		return req, nil
	})
	if err != nil {
		// The error is the endpoint's status and its error body
		// ("invalid_client"), never the form we sent.
		return "", fmt.Errorf("token from %s: %w", o.tokenURL, err)
	}
	var t struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("token from %s: no access_token in the answer", o.tokenURL)
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return "", fmt.Errorf("token from %s: token_type %q, want Bearer", o.tokenURL, t.TokenType)
	}
	// expires_in is a number, or a string of one (Entra's v1 endpoint).
	secs, _ := strconv.ParseInt(strings.Trim(string(t.ExpiresIn), `"`), 10, 64)
	if secs <= 0 {
		secs = 3600
	}
	o.tok = t.AccessToken
	o.exp = o.now().Add(time.Duration(secs)*time.Second - expirySkew)
	o.m.tokens.Inc()
	return "Bearer " + o.tok, nil
}

func (o *oauth) invalidate() {
	o.mu.Lock()
	o.tok = ""
	o.mu.Unlock()
}
