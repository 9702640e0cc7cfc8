package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/console"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/pipeline"
	"github.com/tripline/tripline/receive"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/simulate/vendor"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
	"github.com/tripline/tripline/watermark"
)

// demoScenarios are the attacks the demo injects into benign traffic.
var demoScenarios = []string{"kaseya-style", "stolen-credential"}

// demoFormats are the vendor formats the demo's MSPs send what their
// tools log in by default (vendor.All: people's console logins as Entra ID
// sign-ins, console-account changes as Microsoft 365 audit records, and
// msp-bluefin's NinjaOne and TeamViewer, msp-northwind's ScreenConnect and
// msp-edelweiss's Datto RMM activity as those tools' records): they reach
// ingest on the vendor topic and go through the adapters; the rest stays
// contract v1.
const demoFormats = "all"

// demoBadInput is malformed traffic the demo sends so the dead-letter path
// shows up in the summary.
var demoBadInput = []struct{ topic, value string }{
	{kafkaio.TopicRemoteSessions, `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z"`},
	{kafkaio.TopicRemoteSessions, `{"event_type":"auth.logout","time":"2026-11-20T10:00:00Z","msp":"m","tool":"screenconnect","actor":{"user":"u"}}`},
	{kafkaio.TopicSoftwareUpdates, `{"event_type":"software.push","time":"2026-11-20T10:00:00Z","msp":"m","tool":"ninjaone","actor":{"user":"u"}}`},
	{kafkaio.TopicSoftwareUpdates, `{"event_type":"script.run","time":"2099-01-01T00:00:00Z","msp":"m","tenant":"t","tool":"ninjaone","actor":{"user":"u"}}`},
	{kafkaio.TopicSoftwareUpdates, "{\"event_type\":\"script.run\",\"msp\":\"\xff\"}"},
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	chAddr := fs.String("clickhouse", "", "use this ClickHouse server (HOST:PORT, native protocol) instead of starting a private one")
	keep := fs.Bool("keep", false, "keep the broker, ClickHouse and workers running after the summary (Ctrl-C to stop)")
	events := fs.Int("events", 60000, "simulated events to send")
	seed := fs.Int64("seed", 1, "simulator seed")
	logLevel := fs.String("log-level", "warn", "log level of the workers")
	exit := fs.Bool("exit", false, "exit after the summary even on a terminal (without it, a demo run on a terminal serves the console until Ctrl-C)")
	consoleAddr := fs.String("console", "127.0.0.1:8080", "where the demo serves the console (another free port when this one is taken)")
	sigmaHQ := fs.String("sigmahq", os.Getenv("TRIPLINE_SIGMAHQ"), sigmaHQUsage)
	vendorFormats := fs.String("vendor-formats", demoFormats, "send what these vendor formats can express as the vendors' records, through ingest's adapters ("+strings.Join(adapt.RecordFormats(), ", ")+"; all; none for every event in contract v1; tried in order)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	formats, err := vendor.ParseFormats(*vendorFormats)
	if err != nil {
		return fmt.Errorf("--vendor-formats: %w", err)
	}
	log, err := newLogger(stderr, *logLevel, "auto")
	if err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, "▸ "+format+"\n", a...) }

	b, err := broker.Start(broker.Options{Partitions: 4})
	if err != nil {
		return err
	}
	defer b.Close()
	say("Kafka-protocol broker (in-process) on %s", strings.Join(b.Addrs(), ","))

	addr := *chAddr
	if addr == "" {
		if _, err := chserver.Find(); err != nil {
			fmt.Fprintf(stderr, "%v\nOr run the demo against a server you have: tripline demo --clickhouse HOST:9000\n", err)
			return exitCode(1)
		}
		srv, err := chserver.Start(ctx, chserver.Options{Keep: false})
		if err != nil {
			return err
		}
		defer srv.Stop()
		addr = srv.Addr()
		say("private ClickHouse server on %s (data in a temporary directory, removed on exit)", addr)
	}
	pw, err := secret("CLICKHOUSE_PASSWORD")
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{Addr: addr, User: os.Getenv("TRIPLINE_CLICKHOUSE_USER"), Password: pw})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	say("schema migrated (ClickHouse %s)", st.ServerVersion())

	mgr, err := rules.NewManager(rules.ManagerConfig{SigmaHQ: *sigmaHQ, Log: log})
	if err != nil {
		return err
	}
	if *sigmaHQ != "" {
		say("%d rules loaded from the embedded pack, with the SigmaHQ rules it lists from %s", mgr.RuleSet().Len(), *sigmaHQ)
	} else {
		say("%d rules loaded from the embedded pack (SigmaHQ subset off: --sigmahq DIR or TRIPLINE_SIGMAHQ)", mgr.RuleSet().Len())
	}

	// The simulated MSPs send about 60,000 events in three days: start
	// far enough back that a bigger demo still ends before now (the
	// contract refuses events more than 24 h ahead of the clock).
	back := 72 * time.Hour * time.Duration((max(*events, 1)+59999)/60000)
	gen, err := simulate.New(simulate.Config{
		Seed: *seed, Events: *events, Start: time.Now().UTC().Add(-back).Truncate(time.Hour), Scenarios: demoScenarios,
	})
	if err != nil {
		return err
	}
	// The simulated MSPs' relationship registry, as they would document
	// it, so the registry rules take part (tripline simulate --registry-out
	// writes the same file).
	mspRegistry, err := registry.Parse(gen.Registry(), "simulated-registry.yml")
	if err != nil {
		return fmt.Errorf("simulated registry: %w", err)
	}
	say("MSP registry of the simulated world: %d MSPs, %d tenants", mspRegistry.MSPs(), mspRegistry.Tenants())

	reg := prometheus.NewRegistry()
	runCtx, stopPipeline := context.WithCancel(ctx)
	defer stopPipeline()
	var wg sync.WaitGroup
	var pipeErr error
	wg.Go(func() {
		pipeErr = pipeline.Run(runCtx, pipeline.Config{
			Kafka: b.Config(), Store: st, Rules: mgr, Enricher: mspRegistry, Log: log, Registerer: reg,
			// Default lateness: the watermarks absorb the backfill's
			// disorder. The demo's producer never pauses, so a source that
			// has caught up may stop holding the watermark back sooner
			// than the default idle timeout, and the last windows close
			// seconds after the backfill ends.
			Watermark: watermark.Merger{IdleTimeout: demoIdleTimeout},
		})
	})
	defer wg.Wait()

	start := time.Now()
	w, limit := rawTopicWriter(ctx, b.Config(), receive.DefaultTopic, 4, 0, log)
	next := gen.Next
	var conv *vendor.Converter
	if len(formats) > 0 {
		if conv, err = vendor.New(vendor.Config{Formats: formats, Clients: gen.VendorClientID, MaxMessageBytes: limit}); err != nil {
			w.Close()
			return err
		}
		next = conv.Wrap(next)
	}
	sent, scenarioEvents, err := demoProduce(ctx, w, next)
	w.Close()
	if err == nil && conv != nil {
		err = conv.Err()
	}
	if err != nil {
		return err
	}
	say("sent %d simulated events (%d of them injected attacks: %s) and %d malformed messages in %s",
		sent, scenarioEvents, strings.Join(demoScenarios, ", "), len(demoBadInput), time.Since(start).Round(time.Millisecond))
	if conv != nil {
		say("%d of the events as the vendors' own records on %s (%s), for ingest's adapters; %d as contract v1",
			sum(conv.Records()), receive.DefaultTopic, formatCounts(conv.Records()), conv.Kept())
	}

	if err := demoWait(ctx, b.Config(), st, reg, stdout); err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := demoSummary(ctx, stdout, st, reg, mgr, addr, *keep, sent+len(demoBadInput), elapsed); err != nil {
		return err
	}
	// On a terminal a newcomer gets the console to look at the result;
	// scripts (stdin not a terminal) and --exit get the summary only.
	if !*exit && isatty.IsTerminal(os.Stdin.Fd()) {
		if err := demoConsole(ctx, st, *consoleAddr, log, say); err != nil {
			return err
		}
	} else if *keep {
		say("--keep: everything keeps running; Ctrl-C to stop")
		<-ctx.Done()
	}
	stopPipeline()
	wg.Wait()
	if pipeErr != nil && !errors.Is(pipeErr, context.Canceled) {
		return pipeErr
	}
	return nil
}

// demoConsole serves the console over the demo's ClickHouse, with a demo
// login made up for this run, until ctx is cancelled (Ctrl-C).
func demoConsole(ctx context.Context, st *store.Store, addr string, log zerolog.Logger, say func(string, ...any)) error {
	var pwBytes [9]byte
	if _, err := rand.Read(pwBytes[:]); err != nil {
		return fmt.Errorf("demo password: %w", err)
	}
	password := base64.RawURLEncoding.EncodeToString(pwBytes[:])
	line, err := console.UserLine("demo", console.RoleAdmin, "", "", password)
	if err != nil {
		return err
	}
	users, err := console.ParseUsers([]byte(line+"\n"), "demo users")
	if err != nil {
		return err
	}
	pack, err := console.NewRulePack("", engine.Config{})
	if err != nil {
		return err
	}
	svc := triage.New(st)
	con, err := console.New(console.Config{Triage: svc, Store: st, Users: users, API: api.New(svc, &api.Tokens{}, log), Rules: pack, Log: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("console: %w", err)
		}
	}
	say("console: http://%s/ (log in as demo, password %s); Ctrl-C to stop", ln.Addr(), password)
	return con.Serve(ctx, ln, console.ServeOptions{})
}

// demoProduce sends simulated traffic with the demo's attacks, then a few
// malformed messages, and returns how many simulated events were sent.
func demoProduce(ctx context.Context, w *kafka.Writer, next func() (simulate.Message, bool)) (sent, attacks int, err error) {
	p, err := simulate.Produce(ctx, w, next, simulate.ProduceOptions{BatchSize: 5000})
	if err != nil {
		return p.Messages, p.Attacks, fmt.Errorf("produce simulated events: %w", err)
	}
	bad := make([]kafka.Message, 0, len(demoBadInput))
	for _, b := range demoBadInput {
		bad = append(bad, kafka.Message{Topic: b.topic, Value: []byte(b.value)})
	}
	if err := w.WriteMessages(ctx, bad...); err != nil {
		return p.Messages, p.Attacks, fmt.Errorf("produce malformed messages: %w", err)
	}
	return p.Messages, p.Attacks, nil
}

// demoWait shows progress until both consumer groups have caught up.
func demoWait(ctx context.Context, cfg kafkaio.Config, st *store.Store, reg *prometheus.Registry, stdout io.Writer) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		ingestLag, err1 := cfg.GroupLag(ctx, ingest.DefaultGroup, kafkaio.RawTopics())
		detectLag, err2 := cfg.GroupLag(ctx, detect.DefaultGroup, []string{kafkaio.TopicEvents})
		rows, _, _ := st.CountEvents(ctx)
		fmt.Fprintf(stdout, "  … ingest lag %d, detect lag %d, %d events stored\n", ingestLag, detectLag, rows)
		// Caught up, and the watermarks have passed every event: nothing
		// held for correlations, and every partition's watermark follows
		// the wall clock (all sources idle), so every window has closed.
		if err1 == nil && err2 == nil && ingestLag == 0 && detectLag == 0 && pipeline.Settled(reg, watermark.DefaultLateness) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipeline did not catch up in 5 minutes (ingest lag %d %v, detect lag %d %v)", ingestLag, err1, detectLag, err2)
		}
	}
}

func demoSummary(ctx context.Context, stdout io.Writer, st *store.Store, reg *prometheus.Registry, mgr *rules.Manager, addr string, keep bool, produced int, took time.Duration) error {
	rows, distinct, err := st.CountEvents(ctx)
	if err != nil {
		return err
	}
	byRule, err := st.DetectionsByRule(ctx)
	if err != nil {
		return err
	}
	dead := ops.SumBy(reg, "tripline_ingest_dead_lettered_total", "reason")
	fmt.Fprintf(stdout, "\nSummary (%d messages end to end in %s)\n", produced, took.Round(time.Millisecond))
	if err := demoAlerts(ctx, stdout, st); err != nil {
		return err
	}
	var total uint64
	for _, n := range byRule {
		total += n
	}
	fmt.Fprintf(stdout, "  detections:       %d\n", total)
	// Rules and correlations that fired, most severe first; the quiet ones
	// (including the informational building blocks of correlations) are
	// only counted.
	type fired struct {
		n            uint64
		level, title string
	}
	var list []fired
	quiet := 0
	add := func(id, level, title string) {
		if n := byRule[id]; n > 0 {
			list = append(list, fired{n, level, title})
		} else {
			quiet++
		}
	}
	for _, r := range mgr.RuleSet().Rules() {
		add(r.Identity(), r.Level, r.Title)
	}
	for _, c := range mgr.Correlations().Rules() {
		add(c.ID, c.Level, c.Title)
	}
	severity := map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}
	slices.SortStableFunc(list, func(a, b fired) int {
		if d := cmp.Compare(severity[a.level], severity[b.level]); d != 0 {
			return d
		}
		return cmp.Compare(b.n, a.n)
	})
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, f := range list {
		fmt.Fprintf(tw, "    %d\t%s\t%s\n", f.n, f.level, f.title)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "    (%d other rules and correlations raised nothing)\n", quiet)
	fmt.Fprintf(stdout, "  events ingested:  %d (%d distinct event IDs)\n", rows, distinct)
	var deadTotal float64
	for _, v := range dead {
		deadTotal += v
	}
	fmt.Fprintf(stdout, "  dead letters:     %.0f\n", deadTotal)
	for _, k := range sortedKeys(dead) {
		if dead[k] > 0 {
			fmt.Fprintf(stdout, "    %-22s %.0f\n", k, dead[k])
		}
	}
	if late := ops.Sum(reg, "tripline_detect_correlation_late_events"); late > 0 {
		fmt.Fprintf(stdout, "  late events:      %.0f arrived behind their msp's watermark and were skipped by correlations\n", late)
	}
	host, port := splitAddr(addr)
	fmt.Fprintf(stdout, "\nExplore them:\n  clickhouse-client --host %s --port %s --database tripline --query \"SELECT level, rule_title, tenant, actor_user, count, summary FROM alerts FINAL ORDER BY first_time\"\n", host, port)
	fmt.Fprintf(stdout, "  clickhouse-client --host %s --port %s --database tripline --query \"SELECT level, rule_title, tenant, actor_user, summary FROM detections FINAL ORDER BY first_time\"\n", host, port)
	if !keep {
		fmt.Fprintln(stdout, "  (the demo's private server stops when the demo exits; run `tripline demo --keep` to explore)")
	}
	return nil
}

// demoAlerts prints what an analyst works first: the incidents and alerts
// the detector grouped the detections into (docs/alerts.md), most severe
// first.
func demoAlerts(ctx context.Context, stdout io.Writer, st *store.Store) error {
	incidents, err := st.Incidents(ctx, store.AllMSPs(), store.IncidentFilter{Limit: store.MaxAlertLimit})
	if err != nil {
		return err
	}
	alerts, err := st.Alerts(ctx, store.AllMSPs(), store.AlertFilter{Limit: store.MaxAlertLimit})
	if err != nil {
		return err
	}
	// An incident an alert left for an earlier one keeps a row without
	// alerts.
	incidents = slices.DeleteFunc(incidents, func(i record.Incident) bool { return len(i.AlertIDs) == 0 })
	slices.SortStableFunc(incidents, func(a, b record.Incident) int {
		if d := cmp.Compare(demoSeverity(a.Level), demoSeverity(b.Level)); d != 0 {
			return d
		}
		return cmp.Compare(len(b.AlertIDs), len(a.AlertIDs))
	})
	fmt.Fprintf(stdout, "  incidents:        %d\n", len(incidents))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	const shown = 10
	for i, inc := range incidents {
		if i == shown {
			fmt.Fprintf(tw, "    (%d more)\n", len(incidents)-shown)
			break
		}
		value := inc.EntityValue
		if len(value) > 16 {
			value = value[:16] + "…"
		}
		fmt.Fprintf(tw, "    %s\t%s %s\t%s\t%d alerts, %d tenants\n", inc.Level, inc.EntityKind, value, inc.MSP, len(inc.AlertIDs), len(inc.Tenants))
	}
	tw.Flush()

	// Alerts per rule: how many, and how many detections they hold.
	type ruleAlerts struct {
		level, title string
		alerts       int
		detections   uint64
	}
	byRule := map[string]*ruleAlerts{}
	var order []string
	for _, a := range alerts {
		r := byRule[a.RuleID]
		if r == nil {
			r = &ruleAlerts{level: a.Level, title: a.RuleTitle}
			byRule[a.RuleID] = r
			order = append(order, a.RuleID)
		}
		r.alerts++
		r.detections += a.Count
	}
	slices.SortStableFunc(order, func(x, y string) int {
		a, b := byRule[x], byRule[y]
		if d := cmp.Compare(demoSeverity(a.level), demoSeverity(b.level)); d != 0 {
			return d
		}
		return cmp.Compare(b.alerts, a.alerts)
	})
	fmt.Fprintf(stdout, "  alerts:           %d\n", len(alerts))
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, id := range order {
		r := byRule[id]
		fmt.Fprintf(tw, "    %d\t%s\t%s\t(%d detections)\n", r.alerts, r.level, r.title, r.detections)
	}
	tw.Flush()
	return nil
}

// demoSeverity orders levels most severe first.
func demoSeverity(level string) int {
	if i := slices.Index([]string{"critical", "high", "medium", "low", "informational"}, level); i >= 0 {
		return i
	}
	return 5
}

// demoIdleTimeout is the detector's idle timeout in the demo (see
// watermark.Merger.IdleTimeout).
const demoIdleTimeout = 3 * time.Second

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func splitAddr(addr string) (string, string) {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, "9000"
}
