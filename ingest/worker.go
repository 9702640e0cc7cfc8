package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/watermark"
)

// Config configures an ingest worker process.
type Config struct {
	Kafka       kafkaio.Config
	Group       string
	RawTopics   []string
	EventsTopic string
	// EventsEncoding is how events are written to EventsTopic (default
	// binary; docs/event-contract.md).
	EventsEncoding contract.Encoding
	DLQTopic       string
	// BatchSize and FlushInterval bound a batch (count and latency).
	BatchSize       int
	FlushInterval   time.Duration
	ShutdownTimeout time.Duration
	Store           EventStore
	// Enricher fills context.* (the MSP registry); nil means none.
	Enricher Enricher
	Log      zerolog.Logger
	// Registerer receives the worker's metrics; nil means none.
	Registerer prometheus.Registerer
	// Ready, when set, is told whether the last batch attempt succeeded.
	Ready func(ok bool)
	// MaxMessageBytes overrides the max.message.bytes read from the
	// events and dead-letter topics (0: read it; docs/limits.md).
	MaxMessageBytes int
	// MarkInterval is how often progress markers are written when no
	// batch wrote one (default DefaultMarkInterval).
	MarkInterval time.Duration
	// TopicFormats names the vendor format of raw topics whose messages
	// carry no tripline-format header (see TopicFormat).
	TopicFormats map[string]TopicFormat
	// Formats are the vendor formats read (nil: the built-in adapters).
	Formats adapt.FormatSet
}

// DefaultGroup is the ingest consumer group.
const DefaultGroup = "tripline-ingest"

// Run consumes the raw topics until ctx is cancelled, then flushes, commits
// and returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Store == nil {
		return errors.New("ingest: no event store")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if len(cfg.RawTopics) == 0 {
		cfg.RawTopics = kafkaio.RawTopics()
	}
	if cfg.EventsTopic == "" {
		cfg.EventsTopic = kafkaio.TopicEvents
	}
	if cfg.EventsEncoding == "" {
		cfg.EventsEncoding = contract.EncodingBinary
	}
	if cfg.DLQTopic == "" {
		cfg.DLQTopic = kafkaio.TopicDLQ
	}
	reader, err := cfg.Kafka.NewGroupReader(cfg.Group, cfg.RawTopics, kafkaio.ReaderOptions{QueueCapacity: max(cfg.BatchSize, 1000)})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer reader.Close()
	limit, err := writerLimit(ctx, cfg.Kafka, cfg.MaxMessageBytes, cfg.Log.With().Str("worker", "ingest").Logger(), cfg.EventsTopic, cfg.DLQTopic)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	writer := cfg.Kafka.NewWriterLimit(limit)
	// Progress markers name their partition; events go by key.
	writer.Balancer = watermark.Balancer{Fallback: writer.Balancer}
	defer writer.Close()

	m := NewMetrics(cfg.Registerer)
	log := cfg.Log.With().Str("worker", "ingest").Logger()
	h := &Handler{
		MaxMessageBytes: limit,
		Store:           cfg.Store,
		Producer:        writer,
		EventsTopic:     cfg.EventsTopic,
		EventsEncoding:  cfg.EventsEncoding,
		DLQTopic:        cfg.DLQTopic,
		Enricher:        cfg.Enricher,
		TopicFormats:    cfg.TopicFormats,
		Formats:         cfg.Formats,
		Log:             log,
		Hooks:           m.hooks(),
		Progress:        &Progress{Tracker: watermark.NewTracker(), Producer: writer, Topic: cfg.EventsTopic},
	}
	if cfg.MarkInterval <= 0 {
		cfg.MarkInterval = DefaultMarkInterval
	}
	var wg sync.WaitGroup
	markCtx, stopMarks := context.WithCancel(ctx)
	defer func() { stopMarks(); wg.Wait() }()
	// The first marker, naming every raw source partition with its lag,
	// goes out before the first event: the detector then holds each
	// partition's watermark for every source from the start, and does not
	// take a partition whose events come before any marker for one
	// written by an ingest without markers (package watermark).
	h.Progress.tick(ctx, cfg.Kafka, cfg.Group, cfg.RawTopics, log)
	wg.Go(func() { h.Progress.run(markCtx, cfg.MarkInterval, cfg.Kafka, cfg.Group, cfg.RawTopics, log) })
	c := &kafkaio.Consumer{
		Fetcher:         reader,
		Handler:         h,
		BatchSize:       cfg.BatchSize,
		FlushInterval:   cfg.FlushInterval,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Log:             log,
		Observe: func(size int, took time.Duration, err error) {
			m.observeBatch(size, took, err)
			if cfg.Ready != nil {
				cfg.Ready(err == nil)
			}
		},
	}
	log.Info().Strs("topics", cfg.RawTopics).Str("group", cfg.Group).Msg("ingest worker started")
	err = c.Run(ctx)
	log.Info().Err(err).Msg("ingest worker stopped")
	return err
}

// Metrics are the ingest worker's Prometheus metrics.
type Metrics struct {
	consumed     *prometheus.CounterVec
	stored       prometheus.Counter
	deadLettered *prometheus.CounterVec
	batchSize    prometheus.Histogram
	batchSeconds prometheus.Histogram
	batchErrors  prometheus.Counter
	skipped      *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_ingest_consumed_total", Help: "Raw messages consumed, by topic.",
		}, []string{"topic"}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_ingest_events_stored_total", Help: "Valid events acknowledged by ClickHouse and the normalised topic.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_ingest_dead_lettered_total", Help: "Messages sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tripline_ingest_batch_size", Help: "Messages per batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tripline_ingest_batch_seconds", Help: "Time to write one batch (ClickHouse insert and topic writes).", Buckets: prometheus.DefBuckets,
		}),
		batchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_ingest_batch_errors_total", Help: "Failed batch attempts (retried).",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_ingest_vendor_records_skipped_total", Help: "Vendor records their format's adapter skips (known types that carry nothing the contract describes; docs/sources.md), by format.",
		}, []string{"format"}),
	}
	for _, r := range append(slices.Clone(contract.Reasons), contract.SourceReasons...) {
		m.deadLettered.WithLabelValues(string(r))
	}
	if reg != nil {
		reg.MustRegister(m.consumed, m.stored, m.deadLettered, m.batchSize, m.batchSeconds, m.batchErrors, m.skipped)
	}
	return m
}

func (m *Metrics) hooks() Hooks {
	return Hooks{
		Consumed:     func(topic string, n int) { m.consumed.WithLabelValues(topic).Add(float64(n)) },
		Stored:       func(n int) { m.stored.Add(float64(n)) },
		DeadLettered: func(r contract.Reason) { m.deadLettered.WithLabelValues(string(r)).Inc() },
		Skipped:      func(format string) { m.skipped.WithLabelValues(format).Inc() },
	}
}

func (m *Metrics) observeBatch(size int, took time.Duration, err error) {
	if err != nil {
		m.batchErrors.Inc()
		return
	}
	m.batchSize.Observe(float64(size))
	m.batchSeconds.Observe(took.Seconds())
}
