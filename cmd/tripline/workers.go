package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/rules"
)

func runIngest(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, true)
	group := fs.String("group", ingest.DefaultGroup, "Kafka consumer group")
	topics := fs.String("topics", kafkaio.TopicRemoteSessions+","+kafkaio.TopicSoftwareUpdates, "raw topics to consume, comma-separated")
	eventsTopic := fs.String("events-topic", kafkaio.TopicEvents, "normalised events topic")
	dlqTopic := fs.String("dlq-topic", kafkaio.TopicDLQ, "dead-letter topic")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return withOps(ctx, c.metricsAddr, log, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		return ingest.Run(ctx, ingest.Config{
			Kafka: c.kafka(), Group: *group, RawTopics: splitList(*topics),
			EventsTopic: *eventsTopic, DLQTopic: *dlqTopic,
			BatchSize: c.batchSize, FlushInterval: c.flushEvery, ShutdownTimeout: c.shutdownWait,
			Store: st, Log: log, Registerer: reg, Ready: ready,
		})
	})
}

func runDetect(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, true)
	group := fs.String("group", detect.DefaultGroup, "Kafka consumer group")
	rulesDir := fs.String("rules", "", "directory of Sigma rules, searched recursively (default: the embedded pack)")
	placeholders := fs.String("placeholders", "", "YAML file with the values of |expand placeholders (name: [values])")
	eventsTopic := fs.String("events-topic", kafkaio.TopicEvents, "normalised events topic")
	dlqTopic := fs.String("dlq-topic", kafkaio.TopicDLQ, "dead-letter topic")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return withOps(ctx, c.metricsAddr, log, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		values, err := rules.LoadPlaceholders(*placeholders)
		if err != nil {
			return err
		}
		mgr, err := rules.NewManager(rules.ManagerConfig{Dir: *rulesDir, Engine: engine.Config{Placeholders: values}, Log: log, Registerer: reg})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(ctx)
		defer func() { cancel(); wg.Wait() }()
		wg.Go(func() { mgr.Watch(ctx) })
		return detect.Run(ctx, detect.Config{
			Kafka: c.kafka(), Group: *group, EventsTopic: *eventsTopic, DLQTopic: *dlqTopic,
			BatchSize: c.batchSize, FlushInterval: c.flushEvery, ShutdownTimeout: c.shutdownWait,
			Rules: mgr, Store: st, Log: log, Registerer: reg, Ready: ready,
		})
	})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema up to date (ClickHouse %s)\n", st.ServerVersion())
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	return nil
}

// withOps runs a worker beside its metrics/health server; the server stops
// when the worker returns.
func withOps(ctx context.Context, addr string, log zerolog.Logger, worker func(context.Context, prometheus.Registerer, func(bool)) error) error {
	reg := ops.NewRegistry()
	var ready ops.Readiness
	ready.Set("pipeline", true)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() { serveErr = ops.Serve(ctx, addr, ops.Handler(reg, &ready)) })
	if addr != "" {
		log.Info().Str("addr", addr).Msg("serving /metrics, /healthz, /readyz")
	}
	err := worker(ctx, reg, func(ok bool) { ready.Set("pipeline", ok) })
	cancel()
	wg.Wait()
	if err == nil {
		err = serveErr
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
