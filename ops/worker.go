package ops

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
)

// Config says what surrounds one worker: where its endpoints are served and
// which dependencies its readiness probes.
type Config struct {
	// Addr is where /metrics, /healthz and /readyz are served; empty serves
	// nothing (the probes still run and log).
	Addr string
	Log  zerolog.Logger
	// Ping, when set, is the "clickhouse" condition: it is called every
	// two seconds (the store's Ping).
	Ping func(context.Context) error
	// Kafka, Group and Topics, when brokers and a group are set, are the
	// consumer group whose lag is exported every LagInterval
	// (kafkaio.LagMetrics); the lag poll, a real request to the brokers, is
	// the "kafka" condition.
	Kafka       kafkaio.Config
	Group       string
	Topics      []string
	LagInterval time.Duration // 0: every two seconds
	// Pprof also serves Go's profiler under /debug/pprof/ on Addr. Off by
	// default: profiles expose the process's internals (and a CPU profile
	// costs CPU while it runs), so an operator turns it on to look.
	Pprof bool
}

// probeInterval is how often readiness re-checks ClickHouse (and Kafka,
// unless Config.LagInterval says otherwise).
const probeInterval = 2 * time.Second

// Worker is a worker run beside its operational endpoints: it registers its
// metrics on reg and reports each batch attempt's outcome to ready.
type Worker func(ctx context.Context, reg prometheus.Registerer, ready func(ok bool)) error

// Run runs worker beside its metrics/health server, the readiness probes
// and the consumer-lag poller, and returns when the worker has returned and
// all of them have stopped. It returns the worker's error or, when the
// worker succeeded, the server's (e.g. Addr in use).
//
// /readyz is ready when all of these hold: "pipeline" (the last batch
// attempt succeeded), "clickhouse" (Ping answers) and "kafka" (the last lag
// poll succeeded). So an outage shows up within seconds even on an idle
// worker. tripline_ready{condition} exports each of them.
func Run(ctx context.Context, cfg Config, worker Worker) error {
	reg := NewRegistry()
	var ready Readiness
	ready.Set("pipeline", true)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var serveErr error
	h := Handler(reg, &ready)
	if cfg.Pprof {
		h = WithPprof(h)
	}
	wg.Go(func() { serveErr = Serve(ctx, cfg.Addr, h) })
	if cfg.Addr != "" {
		cfg.Log.Info().Str("addr", cfg.Addr).Msg("serving /metrics, /healthz, /readyz")
	}
	readyGauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tripline_ready", Help: "1 when a readiness condition holds (pipeline: last batch attempt; clickhouse: ping; kafka: lag poll), else 0. /readyz is ready when all are 1.",
	}, []string{"condition"})
	reg.MustRegister(readyGauge)
	readyGauge.WithLabelValues("pipeline").Set(1)
	set := func(name string, err error) {
		readyGauge.WithLabelValues(name).Set(map[bool]float64{true: 1, false: 0}[err == nil])
		if changed := ready.Set(name, err == nil); changed {
			if err != nil {
				cfg.Log.Warn().Str("condition", name).Err(err).Msg("not ready")
			} else {
				cfg.Log.Info().Str("condition", name).Msg("ready")
			}
		}
	}
	if cfg.Ping != nil {
		wg.Go(func() {
			Probe(ctx, probeInterval, cfg.Ping, func(err error) { set("clickhouse", err) })
		})
	}
	if len(cfg.Kafka.Brokers) > 0 && cfg.Group != "" {
		lagEvery := cfg.LagInterval
		if lagEvery <= 0 {
			lagEvery = probeInterval
		}
		lm := kafkaio.NewLagMetrics(reg, cfg.Group)
		wg.Go(func() {
			cfg.Kafka.WatchLag(ctx, cfg.Group, cfg.Topics, lagEvery, lm, cfg.Log, func(err error) { set("kafka", err) })
		})
	}
	err := worker(ctx, reg, func(ok bool) {
		var err error
		if !ok {
			err = errBatchFailed
		}
		set("pipeline", err)
	})
	cancel()
	wg.Wait()
	if err == nil {
		err = serveErr
	}
	return err
}

var errBatchFailed = errors.New("the last batch attempt failed (see the worker's warnings)")
