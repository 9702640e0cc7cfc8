package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/notify"
	"github.com/tripline/tripline/ops"
)

const notifyUsage = `Usage:
  tripline notify --config FILE --brokers ... --clickhouse ... [--group NAME]
  tripline notify lint --config FILE [--resolve]
`

// runNotify parses flags and wires package notify; the config file's
// format and the delivery rules are documented in docs/alerts.md.
func runNotify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "lint" {
		return runNotifyLint(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, true)
	configFile := fs.String("config", "", "notify config file (YAML, docs/alerts.md \"Delivery\"); secrets in it are env:NAME or file:/path references")
	group := fs.String("group", notify.DefaultGroup, "Kafka consumer group")
	topic := fs.String("alerts-topic", notify.TopicAlerts, "alerts topic to consume")
	dlqTopic := fs.String("alerts-dlq-topic", notify.TopicDLQ, "dead-letter topic for alerts no receiver accepted")
	// A batch is held until each of its notifications is answered: smaller
	// batches than the storage workers' (the environment still overrides).
	if f := fs.Lookup("batch-size"); f != nil {
		f.DefValue = "500"
		_ = f.Value.Set("500")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *configFile == "" {
		fmt.Fprint(stderr, notifyUsage)
		return errUsage
	}
	// The config and its secrets are checked before anything connects:
	// a bad file refuses to start, with every problem and its line.
	cfg, err := notify.LoadFile(*configFile)
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	recv, err := notify.BuildReceivers(cfg, notify.HTTPClient())
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
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
	kcfg, err := c.kafka()
	if err != nil {
		return err
	}
	o := ops.Config{Addr: c.metricsAddr, Pprof: c.pprof, Log: log.With().Str("worker", "notify").Logger(), Ping: st.Ping,
		Kafka: kcfg, Group: *group, Topics: []string{*topic}, LagInterval: c.lagEvery}
	return ops.Run(ctx, o, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		return notify.Run(ctx, notify.WorkerConfig{
			Kafka: kcfg, Group: *group, Topic: *topic, DLQTopic: *dlqTopic,
			Config: cfg, Receivers: recv, Store: st,
			BatchSize: c.batchSize, ShutdownTimeout: c.shutdownWait, MaxMessageBytes: c.maxMessage,
			Log: log, Registerer: reg, Ready: ready,
		})
	})
}

func runNotifyLint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("notify lint", flag.ContinueOnError)
	configFile := fs.String("config", "", "notify config file")
	resolve := fs.Bool("resolve", false, "also resolve the env:/file: secret references (run where notify runs)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *configFile == "" {
		fmt.Fprint(stderr, notifyUsage)
		return errUsage
	}
	cfg, err := notify.LoadFile(*configFile)
	if err == nil && *resolve {
		_, err = notify.BuildReceivers(cfg, nil)
	}
	if err != nil {
		fmt.Fprintln(stdout, err)
		return exitCode(1)
	}
	fmt.Fprintf(stderr, "%s: ok (%d receivers, %d routes)\n", *configFile, len(cfg.Receivers), len(cfg.Routes))
	return nil
}
