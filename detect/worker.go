package detect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/watermark"
)

// DefaultGroup is the detector consumer group.
const DefaultGroup = "tripline-detect"

// Config configures a detector worker process.
type Config struct {
	Kafka           kafkaio.Config
	Group           string
	EventsTopic     string
	DLQTopic        string
	BatchSize       int
	FlushInterval   time.Duration
	ShutdownTimeout time.Duration
	Rules           Snapshots
	Store           DetectionStore
	Log             zerolog.Logger
	Registerer      prometheus.Registerer
	Ready           func(ok bool)
	// MaxMessageBytes overrides the dead-letter topic's max.message.bytes
	// (0: read it from the brokers; docs/limits.md).
	MaxMessageBytes int
	// Core bounds the detection core (correlation state, events held for
	// the watermark); Watermark sets the lateness and idle timeout.
	Core      detection.Config
	Watermark watermark.Merger
	// State persists correlation frontiers and rebuilds state from stored
	// events (nil: every start begins with empty correlation state).
	State StateStore
	// MaxReplay caps the history a state rebuild reads.
	MaxReplay time.Duration
	// Alerts, when set, stores the alerts and incidents the detections
	// form; AlertTopic (default tripline.alerts) receives their changes.
	Alerts     AlertStore
	AlertTopic string
	// Silences, when set, is read every SilenceRefresh (default 15 s):
	// alerts its silences match are stored marked and not delivered.
	Silences       SilenceSource
	SilenceRefresh time.Duration
}

// SilenceSource reads the silences in force; *store.Store implements it.
type SilenceSource interface {
	ActiveSilences(ctx context.Context, at time.Time) ([]record.Silence, error)
}

// DefaultSilenceRefresh is how often the detector reads the silences.
const DefaultSilenceRefresh = 15 * time.Second

// Run consumes the normalised topic until ctx is cancelled, then flushes,
// commits and returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Store == nil || cfg.Rules == nil {
		return errors.New("detect: rules and a detection store are required")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.EventsTopic == "" {
		cfg.EventsTopic = kafkaio.TopicEvents
	}
	if cfg.DLQTopic == "" {
		cfg.DLQTopic = kafkaio.TopicDLQ
	}
	if cfg.AlertTopic == "" {
		cfg.AlertTopic = kafkaio.TopicAlerts
	}
	// Rebuilding correlation state needs to know which msps a partition
	// holds, hence the partition count.
	partitions, err := partitionCount(ctx, cfg)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	reader, err := cfg.Kafka.NewGroupReader(cfg.Group, []string{cfg.EventsTopic}, kafkaio.ReaderOptions{QueueCapacity: max(cfg.BatchSize, 1000)})
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	defer reader.Close()
	// Dead letters are the only messages detect writes: size the writer
	// by the dead-letter topic's max.message.bytes.
	limit, lerr := cfg.Kafka.WriterLimit(ctx, cfg.MaxMessageBytes, cfg.DLQTopic)
	if lerr != nil {
		cfg.Log.Warn().Str("worker", "detect").Err(lerr).Str("topic", cfg.DLQTopic).Int("max_message_bytes", limit).
			Msg("cannot read the topic's max.message.bytes; set --max-message-bytes if it is not Kafka's default")
	}
	writer := cfg.Kafka.NewWriterLimit(limit)
	defer writer.Close()

	log := cfg.Log.With().Str("worker", "detect").Logger()
	m := newMetrics(cfg.Registerer)
	var silences func() *silence.Set
	if cfg.Silences != nil {
		w := &silenceWatcher{src: cfg.Silences, every: cfg.SilenceRefresh, log: log}
		w.refresh(ctx)
		var wg sync.WaitGroup
		wctx, stop := context.WithCancel(ctx)
		wg.Go(func() { w.run(wctx) })
		defer func() { stop(); wg.Wait() }()
		silences = w.set.Load
	}
	h := &Handler{
		Alerts: cfg.Alerts,
		// Normalised documents may be larger than the contract's 1 MiB.
		Decoder:         contract.Decoder{MaxBytes: contract.MaxNormalisedBytes},
		Rules:           cfg.Rules,
		Store:           cfg.Store,
		Producer:        writer,
		MaxMessageBytes: limit,
		DLQTopic:        cfg.DLQTopic,
		Log:             log,
		Core:            cfg.Core,
		Watermark:       cfg.Watermark,
		State:           cfg.State,
		MaxReplay:       cfg.MaxReplay,
		Partitions:      partitions,
		Group:           cfg.Group,
		Matched:         func(id string) { m.matches.WithLabelValues(id).Inc() },
		Undecodable:     m.undecodable.Inc,
		Silences:        silences,
		AlertTopic:      cfg.AlertTopic,
		AlertMessages: func(kind string, silenced bool) {
			m.alertMessages.WithLabelValues(kind, strconv.FormatBool(silenced)).Inc()
		},
		Rebuilt: func(n int, took time.Duration, err error) {
			m.rebuildEvents.Add(float64(n))
			if err != nil {
				m.rebuildErrors.Inc()
			}
		},
	}
	c := &kafkaio.Consumer{
		Fetcher:         reader,
		Handler:         h,
		BatchSize:       cfg.BatchSize,
		FlushInterval:   cfg.FlushInterval,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Log:             log,
		Observe: func(size int, took time.Duration, err error) {
			if err != nil {
				m.batchErrors.Inc()
			} else {
				m.events.Add(float64(size))
				m.batchSeconds.Observe(took.Seconds())
				m.observe(h)
			}
			if cfg.Ready != nil {
				cfg.Ready(err == nil)
			}
		},
	}
	log.Info().Str("topic", cfg.EventsTopic).Str("group", cfg.Group).Msg("detect worker started")
	err = c.Run(ctx)
	log.Info().Err(err).Msg("detect worker stopped")
	return err
}

// partitionCount reads the normalised topic's partition count, retrying
// while the broker is not reachable yet.
func partitionCount(ctx context.Context, cfg Config) (int, error) {
	backoff := 100 * time.Millisecond
	for {
		n, err := cfg.Kafka.PartitionCount(ctx, cfg.EventsTopic)
		if err == nil {
			return n, nil
		}
		cfg.Log.Warn().Err(err).Msg("cannot read the normalised topic's partitions; retrying")
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

type metrics struct {
	events       prometheus.Counter
	matches      *prometheus.CounterVec
	undecodable  prometheus.Counter
	batchSeconds prometheus.Histogram
	batchErrors  prometheus.Counter

	stateGroups   prometheus.Gauge
	stateBytes    prometheus.Gauge
	late          prometheus.Gauge
	held          prometheus.Gauge
	forced        prometheus.Gauge
	duplicates    prometheus.Gauge
	watermarkLag  *prometheus.GaugeVec
	sourceLag     *prometheus.GaugeVec
	rebuildEvents prometheus.Counter
	rebuildErrors prometheus.Counter
	alertMessages *prometheus.CounterVec
	alertsHeld    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_detect_events_total", Help: "Normalised events evaluated.",
		}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_detect_detections_total", Help: "Detections written, by rule.",
		}, []string{"rule_id"}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_detect_undecodable_total", Help: "Messages on the normalised topic that did not decode (dead-lettered).",
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tripline_detect_batch_seconds", Help: "Time to evaluate and store one batch.", Buckets: prometheus.DefBuckets,
		}),
		batchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_detect_batch_errors_total", Help: "Failed batch attempts (retried).",
		}),
		stateGroups: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_correlation_groups", Help: "Correlation state: groups held (per entity and correlation).",
		}),
		stateBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_correlation_state_bytes", Help: "Correlation state: estimated memory.",
		}),
		late: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_correlation_late_events", Help: "Events behind their msp's watermark when they arrived (late data, or replays correlations had already seen), skipped by correlations (since start).",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_correlation_held_events", Help: "Events waiting for the watermark before correlations see them.",
		}),
		forced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_correlation_forced_events", Help: "Events released to correlations before the watermark passed them because the held-events cap was reached (since start).",
		}),
		duplicates: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_correlation_duplicate_events", Help: "Events delivered again while still held (since start).",
		}),
		watermarkLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tripline_detect_watermark_lag_seconds", Help: "How far the event-time watermark of each partition of the normalised topic trails the wall clock.",
		}, []string{"partition"}),
		sourceLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tripline_detect_source_event_time_lag_seconds", Help: "How far the newest event time ingest has forwarded from each raw source partition trails the wall clock (a source far behind the others holds the watermark back).",
		}, []string{"topic", "partition"}),
		rebuildEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_detect_correlation_rebuild_events_total", Help: "Stored events replayed to rebuild correlation state.",
		}),
		rebuildErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_detect_correlation_rebuild_errors_total", Help: "Correlation state rebuilds that failed (state partial).",
		}),
		alertMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_detect_alert_messages_total", Help: "Alert changes written to tripline.alerts, by kind and whether a silence holds the alert.",
		}, []string{"kind", "silenced"}),
		alertsHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_detect_open_alerts", Help: "Alerts whose window is still open, held in memory.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.matches, m.undecodable, m.batchSeconds, m.batchErrors,
			m.stateGroups, m.stateBytes, m.late, m.held, m.forced, m.duplicates, m.watermarkLag, m.sourceLag, m.rebuildEvents, m.rebuildErrors,
			m.alertMessages, m.alertsHeld)
	}
	return m
}

// observe publishes the handler's state after a batch.
func (m *metrics) observe(h *Handler) {
	st := h.Stats()
	m.stateGroups.Set(float64(st.Correlation.Groups))
	m.stateBytes.Set(float64(st.Correlation.Bytes))
	m.late.Set(float64(st.Behind))
	m.held.Set(float64(st.Held))
	m.forced.Set(float64(st.Forced))
	m.duplicates.Set(float64(st.Duplicates))
	if h.grouper != nil {
		m.alertsHeld.Set(float64(h.grouper.Stats().Alerts))
	}
	now := h.now()
	for _, p := range h.Watermark.Partitions() {
		m.watermarkLag.WithLabelValues(strconv.Itoa(p)).Set(h.Watermark.Lag(p, now).Seconds())
	}
	for _, s := range h.Watermark.Sources() {
		if !s.MaxTime.IsZero() {
			m.sourceLag.WithLabelValues(s.Topic, strconv.Itoa(s.Partition)).Set(now.Sub(s.MaxTime).Seconds())
		}
	}
}
