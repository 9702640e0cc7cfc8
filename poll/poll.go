package poll

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/receive"
)

// DefaultWriteTimeout bounds the wait for Kafka's acknowledgement of a page.
const DefaultWriteTimeout = 30 * time.Second

// Config configures a Poller.
type Config struct {
	File *File
	// Kind selects the sources of File polled (--source).
	Kind     string
	Producer receive.Producer
	// Topic is the raw topic (default receive.DefaultTopic).
	Topic string
	// MaxMessageBytes is the producer's per-message limit.
	MaxMessageBytes int
	WriteTimeout    time.Duration
	// Once polls every source until it is caught up, then returns; an
	// error of any source is returned.
	Once       bool
	HTTPClient *http.Client // default: one with File.Timeout
	Registerer prometheus.Registerer
	Log        zerolog.Logger
	// Ready is told each Kafka write's outcome.
	Ready func(ok bool)
	Now   func() time.Time

	// afterAck, in tests, runs between Kafka's acknowledgement of a page
	// and its checkpoint; an error stands for a kill at that point.
	afterAck func(source string, page int) error
}

// Poller polls the sources of one kind.
type Poller struct {
	cfg     Config
	runners []*runner
}

type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	pages       *prometheus.CounterVec
	records     *prometheus.CounterVec
	errors      *prometheus.CounterVec
	checkpoint  *prometheus.GaugeVec
}

// sourceMetrics are the metrics of one source.
type sourceMetrics struct {
	requests                     *prometheus.CounterVec // by code
	latency                      prometheus.Observer
	retries, rateLimited, tokens prometheus.Counter
	pages, records               prometheus.Counter
	errors                       *prometheus.CounterVec // by kind
	checkpoint                   prometheus.Gauge
}

// New checks cfg, reads the sources' credentials and checkpoints: a
// missing credential or an unreadable checkpoint fails here, before
// anything is fetched.
func New(cfg Config) (*Poller, error) {
	if cfg.File == nil || cfg.Producer == nil {
		return nil, errors.New("poll: no config or no producer")
	}
	srcs := cfg.File.Select(cfg.Kind)
	if len(srcs) == 0 {
		return nil, fmt.Errorf("poll: %s has no source of kind %q (kinds: %s)", cfg.File.file, cfg.Kind, strings.Join(Kinds(), ", "))
	}
	if cfg.Topic == "" {
		cfg.Topic = receive.DefaultTopic
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = kafkaio.WriterBatchBytes(kafkaio.DefaultBrokerMaxMessageBytes)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: time.Duration(cfg.File.Timeout)}
	}
	if err := os.MkdirAll(cfg.File.CheckpointDir, 0o750); err != nil {
		return nil, fmt.Errorf("poll: checkpoint_dir: %w", err)
	}
	f := promauto.With(cfg.Registerer)
	m := metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_requests_total",
			Help: "Vendor API requests by source and HTTP status (error: no answer)."}, []string{"source", "code"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "tripline_poll_request_seconds",
			Help: "Vendor API request time, body included.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"source"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_retries_total",
			Help: "Vendor API requests retried (429, 5xx, network)."}, []string{"source"}),
		rateLimited: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_rate_limited_total",
			Help: "429 answers from the vendor API."}, []string{"source"}),
		tokens: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_token_fetches_total",
			Help: "OAuth tokens fetched (first, expired or refused)."}, []string{"source"}),
		pages: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_pages_total",
			Help: "Pages written to Kafka and checkpointed."}, []string{"source", "format", "msp"}),
		records: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_records_total",
			Help: "Vendor records acknowledged by Kafka and checkpointed."}, []string{"source", "format", "msp"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_poll_errors_total",
			Help: "Polls that stopped short of caught-up, by kind (http, page, kafka, checkpoint)."}, []string{"source", "kind"}),
		checkpoint: f.NewGaugeVec(prometheus.GaugeOpts{Name: "tripline_poll_checkpoint_timestamp_seconds",
			Help: "When the source's checkpoint was last written (Unix time)."}, []string{"source"}),
	}
	p := &Poller{cfg: cfg}
	var errs []error
	for _, s := range srcs {
		r, err := p.newRunner(s, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.runners = append(p.runners, r)
		if s.Source == TeamViewer && (s.Connections == nil || *s.Connections) {
			// The connection reports: the same account, another cursor.
			c := s
			c.Name, c.endpoint = s.Name+"-connections", "connections"
			if r, err = p.newRunner(c, m); err != nil {
				errs = append(errs, err)
				continue
			}
			p.runners = append(p.runners, r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// runner polls one source.
type runner struct {
	p      *Poller
	src    Source
	format string
	kind   kind
	c      *client
	m      *sourceMetrics
	path   string
	cp     Checkpoint
	pages  int
	log    zerolog.Logger
	// loadedNext is the next-page cursor of the checkpoint read at start.
	loadedNext string
}

func (p *Poller) newRunner(s Source, m metrics) (*runner, error) {
	file := p.cfg.File
	where := s.where(file.file)
	sm := &sourceMetrics{
		requests: m.requests.MustCurryWith(prometheus.Labels{"source": s.Name}),
		latency:  m.latency.WithLabelValues(s.Name), retries: m.retries.WithLabelValues(s.Name),
		rateLimited: m.rateLimited.WithLabelValues(s.Name), tokens: m.tokens.WithLabelValues(s.Name),
		pages: m.pages.WithLabelValues(s.Name, s.Source, s.MSP), records: m.records.WithLabelValues(s.Name, s.Source, s.MSP),
		errors: m.errors.MustCurryWith(prometheus.Labels{"source": s.Name}), checkpoint: m.checkpoint.WithLabelValues(s.Name),
	}
	base := client{hc: p.cfg.HTTPClient, maxBody: file.MaxBodyBytes, maxAttempts: file.MaxAttempts,
		backoff: time.Duration(file.Backoff), maxBackoff: time.Duration(file.MaxBackoff), maxWait: time.Duration(file.MaxRetryWait), m: sm}
	r := &runner{p: p, src: s, format: s.Source, m: sm, path: checkpointFile(file.CheckpointDir, s.Name),
		log: p.cfg.Log.With().Str("source", s.Name).Str("msp", s.MSP).Logger()}
	tokenClient := base // the token endpoint: same limits, no Authorization
	newOAuth := func(tokenURL string, form url.Values, basic [2]string) *oauth {
		return &oauth{c: &tokenClient, tokenURL: tokenURL, form: form, basic: basic, m: sm, now: p.cfg.Now}
	}
	cred := func(c Credential, key string, secretKind bool) (secret, error) {
		return c.resolve(file.file, s.Name+": "+key, secretKind)
	}
	win := window{overlap: time.Duration(s.Overlap), lookback: time.Duration(s.Lookback), maxWindow: time.Duration(s.MaxWindow), delay: time.Duration(s.Delay)}
	if win.maxWindow <= win.overlap {
		return nil, fmt.Errorf("%s: max_window (%v) must be longer than overlap (%v)", where, win.maxWindow, win.overlap)
	}
	c := base
	switch s.Source {
	case NinjaOne, EntraSignIn:
		id, err1 := cred(s.ClientID, "client_id", false)
		sec, err2 := cred(s.ClientSecret, "client_secret", true)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		tokenURL, scope := s.TokenURL, s.Scope
		if s.Source == NinjaOne {
			if tokenURL == "" {
				tokenURL = strings.TrimRight(s.URL, "/") + "/ws/oauth/token"
			}
			if scope == "" {
				scope = "monitoring"
			}
			r.kind = ninjaOne{base: s.URL, pageSize: s.PageSize}
		} else {
			if tokenURL == "" {
				tokenURL = "https://login.microsoftonline.com/" + url.PathEscape(s.TenantID) + "/oauth2/v2.0/token"
			}
			if scope == "" {
				scope = "https://graph.microsoft.com/.default"
			}
			r.kind = graphSignIns{window: win, base: s.URL, pageSize: s.PageSize}
		}
		c.auth = newOAuth(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {string(id)},
			"client_secret": {string(sec)}, "scope": {scope}}, [2]string{})
	case TeamViewer:
		tok, err := cred(s.Token, "token", true)
		if err != nil {
			return nil, err
		}
		c.auth = bearer{tok: tok}
		r.kind = teamViewer{window: win, base: s.URL}
		if s.endpoint == "connections" {
			r.kind = teamViewerConnections{window: win, base: s.URL}
		}
	case DattoRMM:
		key, err1 := cred(s.APIKey, "api_key", true)
		sec, err2 := cred(s.APISecret, "api_secret", true)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		tokenURL := s.TokenURL
		if tokenURL == "" {
			tokenURL = strings.TrimRight(s.URL, "/") + "/auth/oauth/token"
		}
		// Datto's documented flow: the password grant with the API key
		// and secret, the client authenticated as public-client:public.
		c.auth = newOAuth(tokenURL, url.Values{"grant_type": {"password"}, "username": {string(key)}, "password": {string(sec)}},
			[2]string{"public-client", "public"})
		k := dattoRMM{window: win, base: s.URL, pageSize: s.PageSize}
		if s.JobComponents == nil || *s.JobComponents {
			k.jobs = newDattoJobs(s.URL, r.log)
		}
		r.kind = k
	}
	r.c = &c
	cp, ok, err := loadCheckpoint(r.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if ok && (cp.Source != s.Source || cp.MSP != s.MSP) {
		return nil, fmt.Errorf("%s: checkpoint %s is of %s/%s, not %s/%s", where, r.path, cp.Source, cp.MSP, s.Source, s.MSP)
	}
	if !ok {
		cp = Checkpoint{Source: s.Source, Name: s.Name, MSP: s.MSP, LastID: s.StartAfterID}
	}
	r.cp, r.loadedNext = cp, cp.Next
	return r, nil
}

// Run polls every source, each in its own goroutine, until ctx is done
// (or, with Once, until each is caught up). It waits for all of them.
func (p *Poller) Run(ctx context.Context) error {
	for _, r := range p.runners {
		unlock, err := lockCheckpoint(r.path)
		if err != nil {
			return fmt.Errorf("%s: %w", r.src.Name, err)
		}
		defer unlock()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(p.runners))
	for i, r := range p.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.run(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *runner) run(ctx context.Context) error {
	interval := time.Duration(r.p.cfg.File.Interval)
	for {
		err := r.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.Error().Err(err).Msg("poll stopped; retrying at the next interval from the last checkpoint")
			if r.p.cfg.Once {
				return fmt.Errorf("%s: %w", r.src.Name, err)
			}
		}
		if r.p.cfg.Once {
			return nil
		}
		// ±10% so that sources started together spread out.
		wait := interval - interval/10 + rand.N(interval/5+1)
		if sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// poll fetches pages until the source is caught up.
func (r *runner) poll(ctx context.Context) error {
	for {
		more, err := r.page(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// page fetches, writes and checkpoints one page.
func (r *runner) page(ctx context.Context) (more bool, err error) {
	now := r.p.cfg.Now()
	cp, ok := r.kind.open(r.cp, now)
	if !ok {
		return false, nil
	}
	body, err := r.c.do(ctx, func(ctx context.Context) (*http.Request, error) { return r.kind.request(ctx, cp) })
	var se *statusError
	if err != nil && cp.Next != "" && cp.Next == r.loadedNext && errors.As(err, &se) && (se.status == http.StatusBadRequest || se.status == http.StatusNotFound || se.status == http.StatusGone) {
		// A continuation token or next-page URL the vendor no longer
		// takes (expired after a long stop): re-read the window from its
		// start. What was written already is written again and dedups by
		// event_id; nothing is skipped. Only for the cursor read from the
		// checkpoint at start: a vendor refusing the cursors it just
		// gave is an error, not a reason to loop over the window.
		r.log.Warn().Err(err).Time("since", cp.Since).Time("until", cp.Until).Msg("the vendor refused the saved next page; re-reading the window")
		cp.Next, r.loadedNext = "", ""
		cp.Written = now.UTC()
		if err := saveCheckpoint(r.path, cp); err != nil {
			r.fail(ctx, "checkpoint")
			return false, err
		}
		r.cp = cp
		r.m.errors.WithLabelValues("stale_cursor").Inc()
		return true, nil
	}
	if err != nil {
		r.fail(ctx, "http")
		return false, err
	}
	pg, err := r.kind.advance(body, cp, now)
	if err != nil {
		r.fail(ctx, "page")
		return false, fmt.Errorf("page after checkpoint %s: %w", r.path, err)
	}
	if e, ok := r.kind.(enricher); ok && pg.n > 0 {
		if pg.records, err = e.enrich(ctx, r.c, pg.records); err != nil {
			r.fail(ctx, "enrich")
			return false, fmt.Errorf("page after checkpoint %s: %w", r.path, err)
		}
	}
	if pg.n > 0 {
		msgs, err := pageMessages(r.p, pg, r.format, r.src.MSP, now)
		if err != nil {
			r.fail(ctx, "page")
			return false, fmt.Errorf("page of %d records: %w", pg.n, err)
		}
		wctx, cancel := context.WithTimeout(ctx, r.p.cfg.WriteTimeout)
		err = r.p.cfg.Producer.WriteMessages(wctx, msgs...)
		cancel()
		if r.p.cfg.Ready != nil {
			r.p.cfg.Ready(err == nil)
		}
		if err != nil {
			r.fail(ctx, "kafka")
			return false, fmt.Errorf("kafka: %w", kafkaio.SummariseWriteError(err))
		}
	}
	r.pages++
	if h := r.p.cfg.afterAck; h != nil {
		if err := h(r.src.Name, r.pages); err != nil {
			return false, err
		}
	}
	pg.next.Written = now.UTC()
	if err := saveCheckpoint(r.path, pg.next); err != nil {
		r.fail(ctx, "checkpoint")
		return false, err
	}
	r.cp = pg.next
	r.m.checkpoint.Set(float64(now.Unix()))
	r.m.pages.Inc()
	r.m.records.Add(float64(pg.n))
	r.log.Debug().Int("records", pg.n).Bool("more", pg.more).Msg("page written")
	return pg.more, nil
}

// pageMessages are the Kafka messages of a page: the receiver's.
func pageMessages(p *Poller, pg page, format, msp string, now time.Time) ([]kafka.Message, error) {
	msgs, _, err := receive.Messages(p.cfg.Topic, format, msp, now, pg.records, p.cfg.MaxMessageBytes, pg.n)
	return msgs, err
}

func (r *runner) fail(ctx context.Context, kind string) {
	if ctx.Err() == nil {
		r.m.errors.WithLabelValues(kind).Inc()
	}
}
