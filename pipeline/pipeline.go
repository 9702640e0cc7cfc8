package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store"
)

// Config wires both workers.
type Config struct {
	Kafka kafkaio.Config
	Store *store.Store
	Rules detect.Matcher
	// Enricher, when set, gives ingest the MSP relationship registry
	// (context.* fields); nil leaves them absent.
	Enricher ingest.Enricher
	// Correlation configures the detector's correlations (allowed
	// lateness, caps).
	Correlation correlate.Config
	// IngestGroup and DetectGroup default to the production group names.
	IngestGroup, DetectGroup string
	BatchSize                int
	FlushInterval            time.Duration
	Log                      zerolog.Logger
	Registerer               prometheus.Registerer
}

// Run runs ingest and detect until ctx is cancelled; both flush and commit
// before Run returns.
func Run(ctx context.Context, cfg Config) error {
	var wg sync.WaitGroup
	var ingestErr, detectErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		ingestErr = ingest.Run(ctx, ingest.Config{
			Kafka: cfg.Kafka, Group: cfg.IngestGroup, Store: cfg.Store, Enricher: cfg.Enricher,
			BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
			Log: cfg.Log, Registerer: cfg.Registerer,
		})
		if ingestErr != nil {
			cancel()
		}
	})
	wg.Go(func() {
		detectErr = detect.Run(ctx, detect.Config{
			Kafka: cfg.Kafka, Group: cfg.DetectGroup, Store: cfg.Store, Rules: cfg.Rules, Correlation: cfg.Correlation,
			BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
			Log: cfg.Log, Registerer: cfg.Registerer,
		})
		if detectErr != nil {
			cancel()
		}
	})
	wg.Wait()
	return errors.Join(ingestErr, detectErr)
}
