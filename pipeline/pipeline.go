package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/watermark"
)

// Config wires both workers.
type Config struct {
	Kafka kafkaio.Config
	Store *store.Store
	Rules detect.Snapshots
	// Enricher, when set, gives ingest the MSP relationship registry
	// (context.* fields); nil leaves them absent.
	Enricher ingest.Enricher
	// Core and Watermark configure the detector's detection core and
	// event-time watermarks (zero values: the defaults).
	Core      detection.Config
	Watermark watermark.Merger
	// MarkInterval is how often ingest writes progress markers when idle
	// (zero: the default).
	MarkInterval time.Duration
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
			Kafka: cfg.Kafka, Group: cfg.IngestGroup, Store: cfg.Store, Enricher: cfg.Enricher, MarkInterval: cfg.MarkInterval,
			BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
			Log: cfg.Log, Registerer: cfg.Registerer,
		})
		if ingestErr != nil {
			cancel()
		}
	})
	wg.Go(func() {
		detectErr = detect.Run(ctx, detect.Config{
			Kafka: cfg.Kafka, Group: cfg.DetectGroup, Store: cfg.Store, State: cfg.Store, Rules: cfg.Rules,
			Alerts: cfg.Store, Silences: cfg.Store,
			Core: cfg.Core, Watermark: cfg.Watermark,
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

// Settled reports, from the detector's metrics on g, whether the detector
// holds nothing for correlations and every partition's watermark follows
// the wall clock (its sources are idle), so every correlation window has
// been evaluated. With both consumer groups caught up it means the
// pipeline has finished its input. lateness is the detector's.
func Settled(g prometheus.Gatherer, lateness time.Duration) bool {
	mfs, err := g.Gather()
	if err != nil {
		return false
	}
	held, lag, partitions := -1.0, 0.0, 0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "tripline_detect_correlation_held_events":
			held = mf.Metric[0].GetGauge().GetValue()
		case "tripline_detect_watermark_lag_seconds":
			for _, m := range mf.Metric {
				lag = max(lag, m.GetGauge().GetValue())
				partitions++
			}
		}
	}
	return held == 0 && partitions > 0 && lag < (lateness+time.Minute).Seconds()
}
