// Package receive is `tripline receive`: an HTTP(S) endpoint for vendor
// webhooks and batch posts (POST /v1/ingest/{format}). It authenticates
// the sender (a bearer token bound to one MSP), checks the body is the
// JSON shape its format takes, and writes it unconverted to a raw topic
// with the tripline-format and tripline-msp headers ingest reads
// (docs/sources.md). It answers 202 only once Kafka acknowledged every
// message of the request (acks=all), so a 2xx never covers data that could
// still be lost; anything else is a 4xx with a reason or a 429/503 the
// sender retries.
package receive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
)

// DefaultTopic is the raw topic the receiver writes: vendor records of
// every format and MSP, told apart by their headers. Ingest reads it by
// default (kafkaio.RawTopics).
const DefaultTopic = kafkaio.TopicVendor

// HeaderReceivedAt is when the receiver accepted the request (RFC 3339,
// UTC), for tracing a record's delay from the vendor to ingest.
const HeaderReceivedAt = "tripline-received-at"

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 8 << 20
	DefaultMaxRecords   = 10000
	DefaultMaxInFlight  = 64
	DefaultWriteTimeout = 10 * time.Second
)

// Producer writes messages and returns once they are acknowledged (a
// kafkaio writer: synchronous, acks=all).
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Config configures a Server.
type Config struct {
	Producer Producer
	Topic    string // default DefaultTopic
	Tokens   *Tokens
	// TokenInURL also admits the token as ?token= on the URL, for
	// vendor webhooks that cannot set headers. Off by default: URLs end up
	// in proxy and vendor logs.
	TokenInURL bool
	// Secrets, when set, also admit HMAC-signed bodies (hmac.go).
	Secrets *Secrets
	// MaxBodyBytes bounds a request body (default 8 MiB).
	MaxBodyBytes int64
	// MaxRecords bounds the records of one request (default 10,000).
	MaxRecords int
	// MaxMessageBytes is the producer's per-message limit (its BatchBytes,
	// kafkaio.WriterLimit); default that of Kafka's default topics.
	MaxMessageBytes int
	// MaxInFlight bounds the requests handled at once; more get 429
	// (default 64).
	MaxInFlight int
	// WriteTimeout bounds the wait for Kafka's acknowledgement; past it
	// the request gets 503 (default 10 s).
	WriteTimeout time.Duration
	Registerer   prometheus.Registerer
	Log          zerolog.Logger
	// Ready, when set, is told each Kafka write's outcome (ops.Run's
	// readiness: a receiver that cannot write is not ready).
	Ready func(ok bool)
	Now   func() time.Time
	// Formats are the vendor formats accepted besides contract v1: the
	// built-in adapters and the mapping files (--mapping) ingest also
	// reads; nil means the built-in ones.
	Formats adapt.FormatSet
}

// Server handles POST /v1/ingest/{format}.
type Server struct {
	cfg      Config
	inFlight chan struct{}
	m        metrics
}

type metrics struct {
	requests *prometheus.CounterVec
	records  *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	write    prometheus.Histogram
	inFlight prometheus.Gauge
}

// New returns a Server; cfg.Producer is required.
func New(cfg Config) (*Server, error) {
	if cfg.Producer == nil {
		return nil, errors.New("receive: no producer")
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = kafkaio.WriterBatchBytes(kafkaio.DefaultBrokerMaxMessageBytes)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := promauto.With(cfg.Registerer)
	s := &Server{cfg: cfg, inFlight: make(chan struct{}, cfg.MaxInFlight), m: metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_receive_requests_total",
			Help: "Requests to /v1/ingest/{format} by format (unknown for one that is not) and HTTP status."}, []string{"format", "code"}),
		records: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_receive_records_total",
			Help: "Records accepted (acknowledged by Kafka), by format."}, []string{"format"}),
		bytes: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_receive_bytes_total",
			Help: "Body bytes accepted (acknowledged by Kafka), by format."}, []string{"format"}),
		write: f.NewHistogram(prometheus.HistogramOpts{Name: "tripline_receive_kafka_write_seconds",
			Help: "Time from a request's messages handed to Kafka to their acknowledgement (or failure).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		inFlight: f.NewGauge(prometheus.GaugeOpts{Name: "tripline_receive_in_flight", Help: "Requests being handled."}),
	}}
	return s, nil
}

// Handler serves POST /v1/ingest/{format} and GET /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/ingest/{format}", s.ingest)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	format := r.PathValue("format")
	label := format
	if !s.known(format) {
		label = "unknown"
	}
	status, records, n := s.handle(w, r, format)
	s.m.requests.WithLabelValues(label, strconv.Itoa(status)).Inc()
	if status == http.StatusAccepted {
		s.m.records.WithLabelValues(label).Add(float64(records))
		s.m.bytes.WithLabelValues(label).Add(float64(n))
	}
}

// handle answers one request and returns its status, and the records and
// bytes it accepted.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, format string) (status, records, n int) {
	// Backpressure first: a full receiver refuses at once rather than
	// queue bodies in memory.
	select {
	case s.inFlight <- struct{}{}:
		s.m.inFlight.Inc()
		defer func() { <-s.inFlight; s.m.inFlight.Dec() }()
	default:
		w.Header().Set("Retry-After", "1")
		return fail(w, &reqError{status: http.StatusTooManyRequests, code: "busy", reason: "too many requests in flight; retry"}), 0, 0
	}
	secret := bearer(r)
	if secret == "" && s.cfg.TokenInURL {
		secret = r.URL.Query().Get("token")
	}
	var msp, sender string
	if tok := s.cfg.Tokens.Lookup(secret); tok != nil {
		msp, sender = tok.MSP, tok.Name
	}
	signed := msp == "" && s.cfg.Secrets != nil && r.Header.Get(HeaderSignature) != ""
	if msp == "" && !signed {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tripline"`)
		return fail(w, &reqError{status: http.StatusUnauthorized, code: "unauthorized", reason: "missing or unknown bearer token"}), 0, 0
	}
	if !s.known(format) {
		return fail(w, &reqError{status: http.StatusNotFound, code: "unknown_format",
			reason: fmt.Sprintf("unknown format %q (known: %s)", format, strings.Join(s.formats(), ", "))}), 0, 0
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(w, tooLarge("body_too_large", "the body is over %d bytes; post fewer records per request", s.cfg.MaxBodyBytes)), 0, 0
		}
		return fail(w, badRequest("read_body", "reading the body: %v", err)), 0, 0
	}
	if signed {
		// The signature covers the body, so it is checked once the body
		// is read (bounded by MaxBodyBytes).
		if msp, err = s.cfg.Secrets.verify(r.Header.Get(HeaderSignedMSP), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, s.cfg.Now()); err != nil {
			return fail(w, &reqError{status: http.StatusUnauthorized, code: "bad_signature", reason: err.Error()}), 0, 0
		}
		sender = "hmac:" + msp
	}
	receivedAt := s.cfg.Now().UTC().Format(time.RFC3339Nano)
	msgs, records, rerr := messages(s.cfg.Topic, format, s.adapter(format), msp, receivedAt, body, s.cfg.MaxMessageBytes, s.cfg.MaxRecords)
	if rerr != nil {
		return fail(w, rerr), 0, 0
	}
	// The write outlives a sender that hangs up: once handed to Kafka the
	// outcome is the same for everyone, and a retry dedups by event_id.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.WriteTimeout)
	defer cancel()
	start := time.Now()
	err = s.cfg.Producer.WriteMessages(ctx, msgs...)
	s.m.write.Observe(time.Since(start).Seconds())
	if s.cfg.Ready != nil {
		s.cfg.Ready(err == nil || errors.Is(err, kafka.MessageSizeTooLarge))
	}
	if err != nil {
		err = kafkaio.SummariseWriteError(err)
		if errors.Is(err, kafka.MessageSizeTooLarge) {
			return fail(w, tooLarge("message_too_large", "the topic refused a message as too large; post fewer records per request")), 0, 0
		}
		s.cfg.Log.Warn().Err(err).Str("format", format).Str("msp", msp).Str("sender", sender).Int("messages", len(msgs)).Msg("kafka write failed: 503")
		w.Header().Set("Retry-After", "5")
		return fail(w, &reqError{status: http.StatusServiceUnavailable, code: "kafka_unavailable", reason: "the records could not be stored (Kafka did not acknowledge them); retry"}), 0, 0
	}
	writeJSON(w, http.StatusAccepted, accepted{Records: records, Messages: len(msgs), MSP: msp, Format: format, ReceivedAt: receivedAt})
	return http.StatusAccepted, records, len(body)
}

// Messages returns the Kafka messages the receiver writes to topic for
// body, one value of format holding msp's records (a record, an array or
// an API page), and the records they hold: key msp, the tripline-format,
// tripline-msp and tripline-received-at headers, values cut to fit
// maxMessageBytes (the producer's per-message limit). It is the receiver's
// own path, exported so that tripline poll writes what it pulls exactly as
// a post of the same page would be written. An error is the reason a post
// of body would be refused.
func Messages(topic, format, msp string, receivedAt time.Time, body []byte, maxMessageBytes, maxRecords int) ([]kafka.Message, int, error) {
	if !knownFormat(format) {
		return nil, 0, fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(Formats(), ", "))
	}
	a, _ := adapt.Get(format)
	msgs, records, rerr := messages(topic, format, a, msp, receivedAt.UTC().Format(time.RFC3339Nano), body, maxMessageBytes, maxRecords)
	if rerr != nil {
		return nil, 0, rerr
	}
	return msgs, records, nil
}

func messages(topic, format string, a adapt.Adapter, msp, receivedAt string, body []byte, maxMessageBytes, maxRecords int) ([]kafka.Message, int, *reqError) {
	headers := []kafka.Header{
		{Key: ingest.HeaderFormat, Value: []byte(format)},
		{Key: ingest.HeaderMSP, Value: []byte(msp)},
		{Key: HeaderReceivedAt, Value: []byte(receivedAt)},
	}
	key := []byte(msp)
	overhead := deadletter.Size(&kafka.Message{Key: key, Headers: headers})
	values, records, rerr := split(format, a, body, msp, limits{value: maxMessageBytes - overhead, records: maxRecords})
	if rerr != nil {
		return nil, 0, rerr
	}
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Topic: topic, Key: key, Value: v, Headers: headers}
	}
	return msgs, records, nil
}

// accepted is the 202 body.
type accepted struct {
	Records    int    `json:"records"`
	Messages   int    `json:"messages"`
	MSP        string `json:"msp"`
	Format     string `json:"format"`
	ReceivedAt string `json:"received_at"`
}

// errorBody is the shape of the API's errors (api.Error).
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func fail(w http.ResponseWriter, e *reqError) int {
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.reason
	writeJSON(w, e.status, b)
	return e.status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// bearer is the token of an Authorization: Bearer header; the scheme is
// case-insensitive (RFC 9110).
func bearer(r *http.Request) string {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(secret)
}

// ServeOptions say how Serve serves.
type ServeOptions struct {
	// TLSCert and TLSKey, both set, serve HTTPS.
	TLSCert, TLSKey string
	// Shutdown is how long a cancelled ctx waits for requests in flight
	// (default 15 s: a request waiting on Kafka gets its answer).
	Shutdown time.Duration
}

// Serve serves s on ln until ctx is cancelled, then shuts down gracefully:
// requests in flight get their answer.
func (s *Server) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	if o.Shutdown <= 0 {
		o.Shutdown = s.cfg.WriteTimeout + 5*time.Second
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		// A batch of several MiB from a slow link still gets in.
		ReadTimeout:    60 * time.Second,
		WriteTimeout:   60*time.Second + s.cfg.WriteTimeout,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 32 << 10,
	}
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
