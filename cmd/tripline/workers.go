package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/store/storemetrics"
	"github.com/tripline/tripline/watermark"
)

func runIngest(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, true)
	group := fs.String("group", ingest.DefaultGroup, "Kafka consumer group")
	topics := fs.String("topics", strings.Join(kafkaio.RawTopics(), ","), "raw topics to consume, comma-separated (the contract topics and the vendor topic receive and poll write)")
	eventsTopic := fs.String("events-topic", kafkaio.TopicEvents, "normalised events topic")
	eventsEncoding := fs.String("events-encoding", string(contract.EncodingBinary), "how events are written to the events topic: binary (what the detector reads fastest) or json (the normalised document, for other consumers); the detector reads both (docs/event-contract.md)")
	dlqTopic := fs.String("dlq-topic", kafkaio.TopicDLQ, "dead-letter topic")
	registryFile := fs.String("registry", "", "MSP relationship registry (YAML, docs/registry.md): enrich events with context.* fields; reloaded when it changes and on SIGHUP")
	var topicFormatFlags []string
	fs.Func("topic-format", "TOPIC=FORMAT[:MSP]: every message of a raw topic is in this vendor format (docs/sources.md; a tripline-format header wins); repeatable", func(v string) error {
		topicFormatFlags = append(topicFormatFlags, v)
		return nil
	})
	mappings := mappingFlag(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	encoding, err := contract.ParseEncoding(*eventsEncoding)
	if err != nil {
		return err
	}
	// Mapping files and topic formats are checked before anything starts:
	// a worker must not run without a format it was told to read.
	formats, err := adapt.LoadFormats(*mappings...)
	if err != nil {
		return err
	}
	topicFormats, err := parseTopicFormats(topicFormatFlags, formats)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	ingest.TuneGC(os.Getenv)
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	kcfg, err := c.kafka()
	if err != nil {
		return err
	}
	o := ops.Config{Addr: c.metricsAddr, Pprof: c.pprof, Log: log.With().Str("worker", "ingest").Logger(), Ping: st.Ping,
		Kafka: kcfg, Group: *group, Topics: splitList(*topics), LagInterval: c.lagEvery}
	return ops.Run(ctx, o, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(ctx)
		defer func() { cancel(); wg.Wait() }()
		var enricher ingest.Enricher
		if *registryFile != "" {
			w, err := registry.NewWatcher(registry.WatchConfig{File: *registryFile, Log: log, Registerer: reg})
			if err != nil {
				return fmt.Errorf("registry: %w", err)
			}
			wg.Go(func() { w.Watch(ctx) })
			enricher = w
		}
		formats, err := watchFormats(ctx, &wg, *mappings, log, reg)
		if err != nil {
			return err
		}
		return ingest.Run(ctx, ingest.Config{
			Enricher: enricher, TopicFormats: topicFormats, Formats: formats,
			Kafka: kcfg, Group: *group, RawTopics: splitList(*topics),
			EventsTopic: *eventsTopic, EventsEncoding: encoding, DLQTopic: *dlqTopic,
			BatchSize: c.batchSize, FlushInterval: c.flushEvery, ShutdownTimeout: c.shutdownWait, MaxMessageBytes: c.maxMessage,
			Store: storemetrics.Instrument(st, reg), Log: log, Registerer: reg, Ready: ready,
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
	sigmaHQ := fs.String("sigmahq", os.Getenv("TRIPLINE_SIGMAHQ"), sigmaHQUsage)
	eventsTopic := fs.String("events-topic", kafkaio.TopicEvents, "normalised events topic")
	dlqTopic := fs.String("dlq-topic", kafkaio.TopicDLQ, "dead-letter topic")
	alertsTopic := fs.String("alerts-topic", kafkaio.TopicAlerts, "topic of alert changes for tripline notify (docs/alerts.md)")
	silenceEvery := fs.Duration("silence-refresh", detect.DefaultSilenceRefresh, "how often to read the silences from ClickHouse")
	lateness := fs.Duration("lateness", watermark.DefaultLateness, "how far out of event-time order one source partition's events may be: the watermark trails the sources' newest event times by this much; events behind it are late (counted, skipped by correlations)")
	idle := fs.Duration("idle-timeout", watermark.DefaultIdleTimeout, "how long a caught-up source partition with no new events keeps holding the watermark back (a paused producer resuming within it is still in time)")
	maxHeld := fs.Int("max-held", detection.DefaultMaxHeld, "events held for correlations while the watermark waits for a lagging source; past it the oldest are released early")
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
	kcfg, err := c.kafka()
	if err != nil {
		return err
	}
	o := ops.Config{Addr: c.metricsAddr, Pprof: c.pprof, Log: log.With().Str("worker", "detect").Logger(), Ping: st.Ping,
		Kafka: kcfg, Group: *group, Topics: []string{*eventsTopic}, LagInterval: c.lagEvery}
	return ops.Run(ctx, o, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		values, err := rules.LoadPlaceholders(*placeholders)
		if err != nil {
			return err
		}
		mgr, err := rules.NewManager(rules.ManagerConfig{Dir: *rulesDir, SigmaHQ: *sigmaHQ, Engine: engine.Config{Placeholders: values}, Log: o.Log, Registerer: reg})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(ctx)
		defer func() { cancel(); wg.Wait() }()
		wg.Go(func() { mgr.Watch(ctx) })
		ist := storemetrics.Instrument(st, reg)
		return detect.Run(ctx, detect.Config{
			Kafka: kcfg, Group: *group, EventsTopic: *eventsTopic, DLQTopic: *dlqTopic,
			BatchSize: c.batchSize, FlushInterval: c.flushEvery, ShutdownTimeout: c.shutdownWait, MaxMessageBytes: c.maxMessage,
			Rules: mgr, Store: ist, State: ist, Log: log, Registerer: reg, Ready: ready,
			Alerts: ist, AlertTopic: *alertsTopic, Silences: st, SilenceRefresh: *silenceEvery,
			Core:      detection.Config{MaxHeld: *maxHeld},
			Watermark: watermark.Merger{Lateness: *lateness, IdleTimeout: *idle},
		})
	})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, false)
	createUsers := fs.Bool("create-users", false, "also create the least-privilege roles and users (ClickHouse 21.8+; users.xml on older servers, see the README)")
	writerUser := fs.String("writer-user", "", "with --create-users: create this user for the workers, INSERT only (password: TRIPLINE_WRITER_PASSWORD or _FILE)")
	writerReads := fs.Bool("writer-read-events", true, "with --create-users: let the writer SELECT events (detect's stateful rules rebuild their state from it)")
	analystRole := fs.String("analyst-role", "tripline_analyst", "with --create-users: the read-only analyst role")
	mspAnalysts := fs.String("msp-analysts", "", "with --create-users: comma-separated MSP IDs, each getting a role ANALYST-ROLE_<msp> limited to its rows")
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
	if !*createUsers {
		return nil
	}
	pw, err := secret("WRITER_PASSWORD")
	if err != nil {
		return err
	}
	access := store.AccessConfig{WriterUser: *writerUser, WriterPassword: pw, ReadEvents: *writerReads,
		AnalystRole: *analystRole, MSPs: splitList(*mspAnalysts)}
	stmts, err := st.CreateAccess(ctx, access)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "access: %d statements applied (roles %s, %s", len(stmts), "tripline_writer", *analystRole)
	for _, m := range access.MSPs {
		fmt.Fprintf(stdout, ", %s", access.RoleForMSP(m))
	}
	if *writerUser != "" {
		fmt.Fprintf(stdout, "; user %s", *writerUser)
	}
	fmt.Fprintln(stdout, ")")
	return nil
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
