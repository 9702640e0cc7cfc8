package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
)

// Default topics (kafkaio's: detect writes the one notify reads) and group.
const (
	TopicAlerts  = kafkaio.TopicAlerts
	TopicDLQ     = kafkaio.TopicAlertsDLQ
	DefaultGroup = "tripline-notify"
)

// WorkerConfig configures a notify worker process.
type WorkerConfig struct {
	Kafka     kafkaio.Config
	Group     string
	Topic     string
	DLQTopic  string
	Config    *Config
	Receivers *Receivers
	Store     DeliveryStore
	// BatchSize caps a batch; the batch window is the shortest group_wait
	// of the config's routes (at least MinFlush).
	BatchSize       int
	ShutdownTimeout time.Duration
	// MinFlush is the shortest batch window (default 200ms).
	MinFlush time.Duration
	// RepeatTick is how often open alerts are checked for
	// repeat_interval (default 30s).
	RepeatTick time.Duration
	// MaxMessageBytes overrides the dead-letter topic's max.message.bytes
	// (0: ask the brokers).
	MaxMessageBytes int
	// RetryMin and RetryMax bound the consumer's backoff between attempts
	// at a batch whose log or dead letters could not be written.
	RetryMin, RetryMax time.Duration
	Log                zerolog.Logger
	Registerer         prometheus.Registerer
	Ready              func(ok bool)
}

// Run consumes the alerts topic until ctx ends, then finishes the batch in
// hand (within the shutdown timeout), commits and returns.
func Run(ctx context.Context, cfg WorkerConfig) error {
	if cfg.Config == nil || cfg.Receivers == nil || cfg.Store == nil {
		return errors.New("notify: config, receivers and store are required")
	}
	for _, r := range cfg.Config.Routes {
		for _, name := range r.Receivers {
			if cfg.Receivers.Sender(name) == nil {
				return fmt.Errorf("notify: route %q: receiver %q was not built (BuildReceivers with this config)", r.Name, name)
			}
		}
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.Topic == "" {
		cfg.Topic = TopicAlerts
	}
	if cfg.DLQTopic == "" {
		cfg.DLQTopic = TopicDLQ
	}
	if cfg.MinFlush <= 0 {
		cfg.MinFlush = 200 * time.Millisecond
	}
	if cfg.RepeatTick <= 0 {
		cfg.RepeatTick = 30 * time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	log := cfg.Log.With().Str("worker", "notify").Logger()
	reader, err := cfg.Kafka.NewGroupReader(cfg.Group, []string{cfg.Topic}, kafkaio.ReaderOptions{QueueCapacity: max(cfg.BatchSize, 100)})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer reader.Close()
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	limit, err := cfg.Kafka.WriterLimit(qctx, cfg.MaxMessageBytes, cfg.DLQTopic)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		log.Warn().Err(err).Str("topic", cfg.DLQTopic).Int("max_message_bytes", limit).Msg("cannot read the dead-letter topic's max.message.bytes; set --max-message-bytes if it is not Kafka's default")
	}
	writer := cfg.Kafka.NewWriterLimit(limit)
	defer writer.Close()

	m := NewMetrics(cfg.Registerer)
	names := make([]string, 0, len(cfg.Config.Receivers))
	for _, r := range cfg.Config.Receivers {
		names = append(names, r.Name)
	}
	m.initReceivers(names)
	h := &Handler{
		Config: cfg.Config, Receivers: cfg.Receivers, Store: cfg.Store, Producer: writer,
		DLQTopic: cfg.DLQTopic, MaxMessageBytes: limit, Metrics: m, Log: log, Repeats: &Repeater{},
	}
	var wg sync.WaitGroup
	rctx, stopRepeats := context.WithCancel(ctx)
	defer func() { stopRepeats(); wg.Wait() }()
	wg.Go(func() { h.RunRepeats(rctx, cfg.RepeatTick) })

	c := &kafkaio.Consumer{
		Fetcher:         reader,
		Handler:         h,
		BatchSize:       cfg.BatchSize,
		FlushInterval:   max(cfg.Config.MinGroupWait(), cfg.MinFlush),
		ShutdownTimeout: cfg.ShutdownTimeout,
		RetryMin:        cfg.RetryMin,
		RetryMax:        cfg.RetryMax,
		Log:             log,
		Observe: func(_ int, _ time.Duration, err error) {
			if cfg.Ready != nil {
				cfg.Ready(err == nil)
			}
		},
	}
	log.Info().Str("topic", cfg.Topic).Str("group", cfg.Group).Str("config", cfg.Config.File).
		Int("routes", len(cfg.Config.Routes)).Strs("receivers", names).Msg("notify worker started")
	err = c.Run(ctx)
	log.Info().Err(err).Msg("notify worker stopped")
	return err
}

// HTTPClient is the client receivers post with: no redirects followed (a
// redirect would carry the signed body, or a credential in the URL,
// elsewhere) and per-attempt timeouts from the retry settings.
func HTTPClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
	}
}
