package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/watermark"
)

const rulesUsage = `Usage:
  tripline rules eval --rules PATH --events FILE.jsonl [--sigmahq DIR] [--logsource product[/category[/service]]] [--alerts] [--stats]
                     [--format FORMAT --msp MSP [--mapping FILE]]
  tripline rules test [--placeholders FILE] PATH...
  tripline rules lint [--placeholders FILE] PATH...
`

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return errUsage
	}
	switch args[0] {
	case "eval":
		return runRulesEval(ctx, args[1:], stdout, stderr)
	case "test":
		return runRulesTest(args[1:], stdout, stderr)
	case "lint":
		return runRulesLint(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "tripline rules: unknown subcommand %q\n%s", args[0], rulesUsage)
	return errUsage
}

// evalOutput is one detection line of `rules eval`.
type evalOutput struct {
	DetectionID string   `json:"detection_id"`
	RuleID      string   `json:"rule_id"`
	RuleTitle   string   `json:"rule_title"`
	Level       string   `json:"level"`
	Tags        []string `json:"tags,omitempty"`
	Time        string   `json:"time,omitempty"`
	EventIDs    []string `json:"event_ids"`
	Line        int      `json:"line,omitempty"`
	Summary     string   `json:"summary,omitempty"`
	// Correlation detections: the type, the measured value, the first
	// event's time and how many events formed it (event_ids is capped).
	Correlation string   `json:"correlation,omitempty"`
	Value       *float64 `json:"value,omitempty"`
	FirstTime   string   `json:"first_time,omitempty"`
	Events      int      `json:"events,omitempty"`
}

func runRulesEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules eval", flag.ContinueOnError)
	rulesPath := fs.String("rules", "", "rule file or directory, searched recursively (default: the embedded pack)")
	eventsPath := fs.String("events", "", "JSONL file of events ('-' for stdin)")
	logsource := fs.String("logsource", "", "logsource of events that are not MSP contract events: product[/category[/service]] (default: unknown, seen by every rule)")
	stats := fs.Bool("stats", false, "print per-rule match counts on stderr")
	lateness := fs.Duration("lateness", watermark.DefaultLateness, "with --no-sort: how far out of event-time order the input may be before correlations treat an event as late")
	noSort := fs.Bool("no-sort", false, "evaluate as a stream: the watermark trails the newest event time by --lateness, as in the detector, instead of ordering the whole input by event time")
	maxHeld := fs.Int("max-held", detection.DefaultMaxHeld, "events held for correlations to put the input in event-time order; past it the oldest are released early")
	placeholders := fs.String("placeholders", "", "YAML file with the values of |expand placeholders (name: [values])")
	sigmaHQ := fs.String("sigmahq", os.Getenv("TRIPLINE_SIGMAHQ"), sigmaHQUsage)
	registryFile := fs.String("registry", "", "MSP relationship registry (YAML): derive contract events' context.* fields from it, as ingest does (default: keep any context the input carries)")
	alerts := fs.Bool("alerts", false, "print one line per alert (detections grouped as the detector groups them, docs/alerts.md) instead of one per detection")
	format := fs.String("format", "", "--events is in this vendor format (as tripline convert --format reads it; docs/sources.md): converted to contract v1 events first, errors on stderr with their line numbers")
	msp := fs.String("msp", "", "with --format: the MSP whose records these are")
	mappings := mappingFlag(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	values, err := rules.LoadPlaceholders(*placeholders)
	if err != nil {
		return err
	}
	var reg *registry.Registry
	if *registryFile != "" {
		if reg, err = registry.Load(*registryFile); err != nil {
			return err
		}
	}
	if *eventsPath == "" {
		fmt.Fprintln(stderr, "tripline rules eval: --events is required")
		return errUsage
	}
	start := time.Now()
	src := rules.Source{Path: *rulesPath, SigmaHQ: *sigmaHQ, Warn: func(err error) { fmt.Fprintln(stderr, "warning:", err) }}
	bundle, errs := rules.LoadBundle(src, engine.Config{Placeholders: values})
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(stderr, err)
		}
		return fmt.Errorf("%d rule errors", len(errs))
	}
	rs, cs := bundle.Rules, bundle.Correlations
	loadTook := time.Since(start)

	in := io.Reader(os.Stdin)
	if *eventsPath != "-" {
		f, err := os.Open(*eventsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	lineOf := func(n int) int { return n }
	if *format != "" {
		// Vendor records go through tripline convert's conversion; lines
		// reported are the vendor file's.
		c, err := newConverter(*format, *msp, *mappings, *registryFile, stderr)
		if err != nil {
			return err
		}
		stderr = &lockedWriter{w: stderr}
		c.stderr, c.prefix = stderr, *eventsPath+": "
		var wait func() error
		in, lineOf, wait = c.pipe(in)
		defer func() {
			if werr := wait(); werr != nil {
				fmt.Fprintf(stderr, "%s: %v\n", *eventsPath, werr)
			}
			fmt.Fprintf(stderr, "rules eval: %s: %d events converted, %d skipped, %d failed\n", *format, c.events, c.skipped, c.failed)
		}()
	}
	ls := parseLogsource(*logsource)
	counts := map[string]int{}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	var events, contractEvents, badLines, detections, invalidContract int
	// The detection core puts what correlations read in event-time order
	// (then event ID) itself, holding only those events: the same core,
	// in the same order, as the detector.
	core := detection.New(bundle, detection.Config{MaxHeld: *maxHeld})
	var encErr error
	line := 0
	// With --alerts, every detection goes through the detector's alert
	// grouping and the alerts are printed at the end.
	var grouper *alert.Grouper
	if *alerts {
		grouper = alert.NewGrouper(alert.Config{Hold: bundle.AlertHold()})
	}
	emit := func(r detection.Result) {
		counts[r.RuleID()]++
		detections++
		if grouper != nil {
			rec := r.Record(time.Time{}, detection.Coordinates{})
			// Line substitutes identify no event: not samples.
			rec.EventIDs = slices.DeleteFunc(slices.Clone(rec.EventIDs), func(id string) bool { return strings.HasPrefix(id, "line:") })
			bundle.Group(grouper, r, &rec)
			return
		}
		if encErr == nil {
			encErr = enc.Encode(newEvalOutput(r, line))
		}
	}
	evalStart := time.Now()
	// A line over the limit is skipped with its number, not the end of
	// the input.
	// Lines are decoded and matched against the plain rules on every core,
	// a few batches ahead, while this goroutine hands them to the
	// detection core in input order (detections, correlations) and writes
	// the output.
	readCfg := rules.ReadConfig{Limit: contract.MaxMessageBytes, Logsource: ls, Match: rs}
	if reg != nil {
		// As ingest does: the registry's context replaces whatever the
		// input carried, before the rules see the event.
		readCfg.Prepare = func(ev *rules.OfflineEvent) {
			if ev.Contract != nil {
				ev.Contract.Context = reg.Context(ev.Contract)
			}
		}
	}
	err = rules.ReadEvents(ctx, in, readCfg, func(n int, ev *rules.OfflineEvent, err error) error {
		if err != nil {
			badLines++
			fmt.Fprintf(stderr, "%s:%d: skipped: %v\n", *eventsPath, lineOf(n), err)
			return nil
		}
		events++
		if ev.Contract != nil {
			contractEvents++
		}
		if ev.ContractErr != nil {
			invalidContract++
			fmt.Fprintf(stderr, "%s:%d: warning: not a valid contract event (%v); evaluated as plain JSON\n", *eventsPath, lineOf(n), ev.ContractErr)
		}
		// Events without an ID are identified by their line.
		id := ev.ID
		if id == "" {
			id = "line:" + strconv.Itoa(n)
		}
		line = lineOf(n)
		in := ev.Input(id)
		core.ProcessMatched(&in, ev.Matched, emit)
		if *noSort && !in.Time.IsZero() {
			core.Advance(in.Partition, in.Time.Add(-*lateness), emit)
		}
		return encErr
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if encErr != nil {
		return encErr
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", *eventsPath, err)
	}
	core.Flush(emit)
	if encErr != nil {
		return encErr
	}
	var nAlerts, nIncidents int
	if grouper != nil {
		all := grouper.Alerts()
		nAlerts, nIncidents = len(all), len(grouper.Incidents())
		for i := range all {
			if err := enc.Encode(newAlertOutput(&all[i])); err != nil {
				return err
			}
		}
	}
	took := time.Since(evalStart)
	all := core.Stats()
	st := all.Correlation
	fmt.Fprintf(stderr, "rules eval: %d rules and %d correlations (loaded in %s), %d events (%d MSP contract, %d other), %d detections, %d unreadable lines, %d invalid contract events, in %s\n",
		rs.Len(), cs.Len(), loadTook.Round(time.Millisecond), events, contractEvents, events-contractEvents, detections, badLines, invalidContract, took.Round(time.Millisecond))
	if grouper != nil {
		fmt.Fprintf(stderr, "rules eval: %d alerts in %d incidents\n", nAlerts, nIncidents)
	}
	if cs.Len() > 0 {
		fmt.Fprintf(stderr, "rules eval: correlation state at end: %d groups, %d entries, ~%d KiB; %d late events skipped, %d released early (--max-held)\n",
			st.Groups, st.Entries, st.Bytes>>10, all.Behind, all.Forced)
	}
	if *stats {
		printStats(stderr, bundle, counts)
	}
	return nil
}

// alertOutput is one alert line of `rules eval --alerts` (pinned fields,
// docs/alerts.md).
type alertOutput struct {
	AlertID     string            `json:"alert_id"`
	Fingerprint string            `json:"fingerprint"`
	RuleID      string            `json:"rule_id"`
	RuleTitle   string            `json:"rule_title"`
	Level       string            `json:"level"`
	MSP         string            `json:"msp"`
	Tenant      string            `json:"tenant"`
	Group       map[string]string `json:"group"`
	FirstTime   string            `json:"first_time"`
	LastTime    string            `json:"last_time"`
	Count       uint64            `json:"count"`
	EventIDs    []string          `json:"event_ids"`
	IncidentID  string            `json:"incident_id"`
}

func newAlertOutput(a *record.Alert) alertOutput {
	b := alert.BodyOf(a)
	// Events without a time have none to print.
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return alertOutput{
		AlertID: b.AlertID, Fingerprint: b.Fingerprint, RuleID: b.RuleID, RuleTitle: b.RuleTitle, Level: b.Level,
		MSP: b.MSP, Tenant: b.Tenant, Group: b.Group, FirstTime: ts(a.FirstTime), LastTime: ts(a.LastTime),
		Count: b.Count, EventIDs: b.EventIDs, IncidentID: b.IncidentID,
	}
}

// newEvalOutput is one output line; line is the input line of a plain
// rule's event.
func newEvalOutput(r detection.Result, line int) evalOutput {
	if d := r.Correlation; d != nil {
		return evalOutput{
			DetectionID: r.ID(),
			RuleID:      d.Rule.ID, RuleTitle: d.Rule.Title, Level: d.Rule.Level, Tags: d.Rule.Tags,
			Time: d.Last.UTC().Format(time.RFC3339Nano), FirstTime: d.First.UTC().Format(time.RFC3339Nano),
			EventIDs: d.EventIDs, Events: d.Events, Value: &d.Value, Summary: d.Summary, Correlation: d.Rule.Kind.String(),
		}
	}
	ev := r.Event
	o := evalOutput{
		DetectionID: r.ID(),
		RuleID:      r.Rule.Identity(), RuleTitle: r.Rule.Title, Level: r.Rule.Level, Tags: r.Rule.Tags,
		EventIDs: []string{}, Line: line,
	}
	if !ev.Time.IsZero() {
		o.Time = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	if !strings.HasPrefix(ev.ID, "line:") {
		o.EventIDs = []string{ev.ID}
	}
	if ev.Contract != nil {
		o.Summary = detection.Summary(r.Rule, ev.Contract)
	}
	return o
}

func printStats(w io.Writer, b *rules.Bundle, counts map[string]int) {
	type row struct {
		id, title, level string
		n                int
	}
	var rows []row
	for _, r := range b.Rules.Rules() {
		if !b.Correlations.Generates(r.Identity()) {
			continue // read by correlations only: no detections of its own
		}
		rows = append(rows, row{r.Identity(), r.Title, r.Level, counts[r.Identity()]})
	}
	for _, c := range b.Correlations.Rules() {
		if b.Correlations.Generates(c.ID) {
			rows = append(rows, row{c.ID, c.Title + " (" + c.Kind.String() + ")", c.Level, counts[c.ID]})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MATCHES\tLEVEL\tRULE\tTITLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.n, r.level, r.id, r.title)
	}
	tw.Flush()
}

func parseLogsource(s string) fields.Logsource {
	parts := strings.SplitN(s, "/", 3)
	var ls fields.Logsource
	if len(parts) > 0 {
		ls.Product = parts[0]
	}
	if len(parts) > 1 {
		ls.Category = parts[1]
	}
	if len(parts) > 2 {
		ls.Service = parts[2]
	}
	return ls
}

// pathsAndConfig parses the flags shared by `rules test` and `rules lint`.
func pathsAndConfig(name string, args []string, stderr io.Writer) ([]string, engine.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	placeholders := fs.String("placeholders", "", "YAML file with the values of |expand placeholders (name: [values])")
	if err := parseFlags(fs, args); err != nil {
		return nil, engine.Config{}, err
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return nil, engine.Config{}, errUsage
	}
	values, err := rules.LoadPlaceholders(*placeholders)
	return fs.Args(), engine.Config{Placeholders: values}, err
}

func runRulesTest(args []string, stdout, stderr io.Writer) error {
	paths, cfg, err := pathsAndConfig("rules test", args, stderr)
	if err != nil {
		return err
	}
	results, err := rules.Test(paths, cfg)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tMATCH\tNO_MATCH\tRULE\tFILE")
	failed := 0
	for _, r := range results {
		status := "pass"
		if !r.Passed() {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", status, r.Matched, r.Rejected, r.RuleID, r.File)
	}
	tw.Flush()
	for _, r := range results {
		for _, f := range r.Failures {
			fmt.Fprintf(stdout, "%s: %s: %s\n", r.File, r.RuleID, f)
		}
	}
	fmt.Fprintf(stdout, "%d rules, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	if failed > 0 || len(results) == 0 {
		return exitCode(1)
	}
	return nil
}

func runRulesLint(args []string, stdout, stderr io.Writer) error {
	paths, cfg, err := pathsAndConfig("rules lint", args, stderr)
	if err != nil {
		return err
	}
	// One set, so an id or name reused across the arguments is found.
	findings, err := rules.LintPaths(paths, cfg)
	if err != nil {
		return err
	}
	errorsFound, notes := 0, 0
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
		switch f.Severity {
		case rules.SeverityError:
			errorsFound++
		case rules.SeverityInfo:
			notes++
		}
	}
	fmt.Fprintf(stderr, "%d errors, %d warnings, %d notes\n", errorsFound, len(findings)-errorsFound-notes, notes)
	if errorsFound > 0 {
		return exitCode(1)
	}
	return nil
}
