package detect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
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
	Rules           Matcher
	Store           DetectionStore
	Log             zerolog.Logger
	Registerer      prometheus.Registerer
	Ready           func(ok bool)
}

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
	reader, err := cfg.Kafka.NewGroupReader(cfg.Group, []string{cfg.EventsTopic}, kafkaio.ReaderOptions{QueueCapacity: max(cfg.BatchSize, 1000)})
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	defer reader.Close()
	writer := cfg.Kafka.NewWriter()
	defer writer.Close()

	log := cfg.Log.With().Str("worker", "detect").Logger()
	m := newMetrics(cfg.Registerer)
	h := &Handler{
		Rules:       cfg.Rules,
		Store:       cfg.Store,
		Producer:    writer,
		DLQTopic:    cfg.DLQTopic,
		Log:         log,
		Matched:     func(id string) { m.matches.WithLabelValues(id).Inc() },
		Undecodable: m.undecodable.Inc,
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

type metrics struct {
	events       prometheus.Counter
	matches      *prometheus.CounterVec
	undecodable  prometheus.Counter
	batchSeconds prometheus.Histogram
	batchErrors  prometheus.Counter
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
	}
	if reg != nil {
		reg.MustRegister(m.events, m.matches, m.undecodable, m.batchSeconds, m.batchErrors)
	}
	return m
}
