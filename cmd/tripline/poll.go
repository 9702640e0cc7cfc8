package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/poll"
	"github.com/tripline/tripline/receive"
)

const pollUsage = `Usage:
  tripline poll --source ninjaone|teamviewer|datto-rmm|entra-signin --config FILE [--once] [--topic msp.vendor] [--brokers ...]

poll pulls vendor APIs (docs/sources.md, "tripline poll") and writes their
records unconverted to --topic with the tripline-format and tripline-msp
headers, exactly as tripline receive writes a post; tripline ingest converts
them (add the topic to its --topics).
--config is a YAML file: checkpoint_dir, retry settings and a list of
sources (one vendor account of one MSP each); --source polls those of one
kind. Credentials come from environment variables or files the config
names, never from the config itself.
A source's checkpoint (checkpoint_dir/NAME.checkpoint.json) is written
after Kafka acknowledged each page, so a killed poller resumes where it
stopped. --once polls every source until it is caught up and exits
(non-zero if one failed), for cron and tests.
`

func runPoll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("poll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, pollUsage); fs.PrintDefaults() }
	var c commonFlags
	c.registerKafka(fs, "127.0.0.1:9092")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, console, or auto (console when stderr is a terminal)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (e.g. :9466)")
	fs.IntVar(&c.maxMessage, "max-message-bytes", 0, "max.message.bytes of --topic (0: ask the brokers, Kafka's default 1048588 if they cannot say)")
	source := fs.String("source", "", "kind of the sources to poll: "+strings.Join(poll.Kinds(), ", ")+" (required)")
	config := fs.String("config", "", "poll config file, YAML (required)")
	topic := fs.String("topic", receive.DefaultTopic, "raw topic to write (created if missing, with --partitions)")
	partitions := fs.Int("partitions", 6, "partitions of --topic when the poller creates it")
	once := fs.Bool("once", false, "poll every source until caught up, then exit")
	writeTimeout := fs.Duration("write-timeout", poll.DefaultWriteTimeout, "how long a page waits for Kafka's acknowledgement before the poll stops (and resumes at the next interval)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *source == "" || *config == "" {
		fmt.Fprint(stderr, "tripline poll: --source and --config are required\n\n"+pollUsage)
		return errUsage
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	file, err := poll.LoadFile(*config)
	if err != nil {
		return err
	}
	kcfg, err := c.kafka()
	if err != nil {
		return err
	}
	if len(kcfg.Brokers) == 0 {
		return errors.New("no --brokers")
	}
	o := ops.Config{Addr: c.metricsAddr, Log: log.With().Str("worker", "poll").Logger(), Kafka: kcfg}
	return ops.Run(ctx, o, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		w, limit := rawTopicWriter(ctx, kcfg, *topic, *partitions, c.maxMessage, log)
		defer w.Close()
		p, err := poll.New(poll.Config{File: file, Kind: *source, Producer: w, Topic: *topic, MaxMessageBytes: limit,
			WriteTimeout: *writeTimeout, Once: *once, Registerer: reg, Log: log, Ready: ready})
		if err != nil {
			return err
		}
		log.Info().Str("source", *source).Str("config", *config).Str("topic", *topic).Bool("once", *once).Msg("poll started")
		return p.Run(ctx)
	})
}
