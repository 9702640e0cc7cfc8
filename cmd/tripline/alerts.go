package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

const alertsUsage = `Usage:
  tripline alerts list [--status S] [--level L] [--msp M] [--tenant T] [--rule R] [--since D] [--limit N] [--json]
  tripline alerts show ID [--json]
  tripline alerts ack ID [--note TEXT]
  tripline alerts assign ID ASSIGNEE [--note TEXT]     (an empty ASSIGNEE unassigns)
  tripline alerts close ID --reason true_positive|benign_authorized|false_positive|duplicate [--note TEXT] [--filter-out FILE] [--brokers ...]
  tripline alerts note ID TEXT...
  tripline alerts reopen ID [--note TEXT] [--brokers ...]
  tripline alerts silence --match key=value [--match ...] --for DURATION --reason TEXT [--msp M] [--start TIME]
  tripline alerts silences [--all] [--json]
  tripline alerts expire SILENCE_ID

Every subcommand takes the --clickhouse flags; the actor is --as (default $USER).
--since and --for take 90m, 24h, 7d; --since also an RFC 3339 time.
Closing as false_positive prints a draft Sigma filter (or writes it to --filter-out).
With --brokers, close and reopen are published to tripline.alerts for tripline notify
(e.g. a PagerDuty resolve).
`

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// alertsCmd is one invocation's flags and store.
type alertsCmd struct {
	common  commonFlags
	as      string
	asJSON  bool
	publish bool
	topic   string
	stdout  io.Writer
}

// registerPublish adds the flags of commands that tell tripline.alerts
// about an action (close, reopen).
func (c *alertsCmd) registerPublish(fs *flag.FlagSet) {
	c.publish = true
	c.common.registerKafka(fs, "")
	fs.StringVar(&c.topic, "alerts-topic", kafkaio.TopicAlerts, "publish the close or reopen here when --brokers is set, for tripline notify")
}

// alertPublisher returns a publisher to topic on the configured brokers,
// or nil when no brokers are set, and a func that releases it.
func (c *commonFlags) alertPublisher(topic string) (triage.Publisher, func(), error) {
	if strings.TrimSpace(c.brokers) == "" {
		return nil, func() {}, nil
	}
	kcfg, err := c.kafka()
	if err != nil {
		return nil, nil, err
	}
	w := kcfg.NewWriter()
	return kafkaPublisher{w: w, topic: topic}, func() { w.Close() }, nil
}

// kafkaPublisher writes alert messages as detect does: JSON, keyed by the
// alert ID, the message ID also in a header (detect.HeaderMessageID).
type kafkaPublisher struct {
	w     *kafka.Writer
	topic string
}

func (p kafkaPublisher) Publish(ctx context.Context, m alert.Message) error {
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode alert message: %w", err)
	}
	return p.w.WriteMessages(ctx, kafka.Message{Topic: p.topic, Key: []byte(m.Alert.AlertID), Value: v,
		Headers: []kafka.Header{{Key: "tripline-message-id", Value: []byte(m.MessageID)}}})
}

func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, alertsUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("alerts "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &alertsCmd{stdout: stdout}
	c.common.register(fs, false)
	fs.StringVar(&c.as, "as", os.Getenv("USER"), "who is acting (recorded in the alert's log)")
	var (
		f                             triage.ListFilter
		since, note, reason, filterTo string
		forDur, start, silenceMSP     string
		matches                       stringList
		all                           bool
	)
	switch sub {
	case "list":
		fs.StringVar(&f.Status, "status", "", "open, acknowledged or closed")
		fs.StringVar(&f.MinLevel, "level", "", "this level or higher: informational, low, medium, high, critical")
		fs.StringVar(&f.MSP, "msp", "", "only this MSP")
		fs.StringVar(&f.Tenant, "tenant", "", "only this tenant")
		fs.StringVar(&f.RuleID, "rule", "", "only this rule ID")
		fs.StringVar(&since, "since", "", "last detection at or after: 90m, 24h, 7d or an RFC 3339 time")
		fs.IntVar(&f.Limit, "limit", 100, "at most this many alerts")
		fs.BoolVar(&c.asJSON, "json", false, "one JSON object per line (the API's form)")
	case "show":
		fs.BoolVar(&c.asJSON, "json", false, "print the API's JSON")
	case "ack", "assign":
		fs.StringVar(&note, "note", "", "a note recorded with the action")
	case "reopen":
		fs.StringVar(&note, "note", "", "a note recorded with the action")
		c.registerPublish(fs)
	case "close":
		c.registerPublish(fs)
		fs.StringVar(&reason, "reason", "", "true_positive, benign_authorized, false_positive or duplicate")
		fs.StringVar(&note, "note", "", "a note recorded with the action")
		fs.StringVar(&filterTo, "filter-out", "", "with false_positive: write the draft Sigma filter to this file instead of stdout")
	case "note":
	case "silence":
		fs.Var(&matches, "match", "matcher key=value, key!=value, key=~regex or key!~regex (repeat; all must hold)")
		fs.StringVar(&forDur, "for", "", "how long: 90m, 24h, 7d (at most 30d)")
		fs.StringVar(&reason, "reason", "", "why (required)")
		fs.StringVar(&silenceMSP, "msp", "", "bind the silence to this MSP (default: every MSP)")
		fs.StringVar(&start, "start", "", "start at this RFC 3339 time (default now)")
	case "silences":
		fs.BoolVar(&all, "all", false, "include expired silences")
		fs.BoolVar(&c.asJSON, "json", false, "one JSON object per line (the API's form)")
	case "expire":
	default:
		fmt.Fprintf(stderr, "tripline alerts: unknown subcommand %q\n\n%s", sub, alertsUsage)
		return errUsage
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	want := map[string][2]int{"list": {0, 0}, "show": {1, 1}, "ack": {1, 1}, "assign": {2, 2}, "close": {1, 1}, "note": {2, -1},
		"reopen": {1, 1}, "silence": {0, 0}, "silences": {0, 0}, "expire": {1, 1}}[sub]
	if len(pos) < want[0] || (want[1] >= 0 && len(pos) > want[1]) {
		fmt.Fprintf(stderr, "tripline alerts %s: wrong number of arguments\n\n%s", sub, alertsUsage)
		return errUsage
	}

	st, err := c.common.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := triage.New(st)
	if c.publish {
		pub, closePub, err := c.common.alertPublisher(c.topic)
		if err != nil {
			return err
		}
		defer closePub()
		if pub != nil {
			svc = svc.WithPublisher(pub)
		}
	}
	// The CLI holds the store's credentials, hence every MSP: scoping is
	// for API tokens.
	scope := store.AllMSPs()

	switch sub {
	case "list":
		if f.Since, err = triage.ParseSince(since, time.Now()); err != nil {
			return err
		}
		as, err := svc.List(ctx, scope, f)
		if err != nil {
			return err
		}
		return c.printAlerts(as)
	case "show":
		d, err := svc.Show(ctx, scope, pos[0])
		if err != nil {
			return err
		}
		return c.printDetail(&d)
	case "ack":
		return c.printResult(svc.Ack(ctx, scope, pos[0], c.as, note))
	case "assign":
		return c.printResult(svc.Assign(ctx, scope, pos[0], c.as, pos[1], note))
	case "note":
		return c.printResult(svc.Note(ctx, scope, pos[0], c.as, strings.Join(pos[1:], " ")))
	case "reopen":
		return c.printResult(svc.Reopen(ctx, scope, pos[0], c.as, note))
	case "close":
		res, err := svc.Close(ctx, scope, pos[0], c.as, reason, note)
		if perr := c.printResult(res, err); perr != nil {
			return perr
		}
		if res.DraftFilter == "" {
			return nil
		}
		if filterTo != "" {
			if err := os.WriteFile(filterTo, []byte(res.DraftFilter), 0o644); err != nil {
				return fmt.Errorf("write draft filter: %w", err)
			}
			fmt.Fprintf(stdout, "draft Sigma filter written to %s: review it, add it to the rules, run 'tripline rules lint'\n", filterTo)
			return nil
		}
		fmt.Fprintf(stdout, "\n%s", res.DraftFilter)
		return nil
	case "silence":
		req := triage.NewSilence{Matchers: matches, Author: c.as, Reason: reason, MSP: silenceMSP}
		if forDur == "" {
			return fmt.Errorf("--for is required (at most 30d)")
		}
		if req.For, err = triage.ParseDuration(forDur); err != nil {
			return err
		}
		if start != "" {
			if req.Starts, err = time.Parse(time.RFC3339, start); err != nil {
				return fmt.Errorf("--start: %w", err)
			}
		}
		sil, err := svc.CreateSilence(ctx, scope, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "silence %s until %s\n", sil.SilenceID, sil.Ends.Format(time.RFC3339))
		return nil
	case "silences":
		ss, err := svc.Silences(ctx, scope, all, 0)
		if err != nil {
			return err
		}
		now := time.Now()
		if c.asJSON {
			enc := json.NewEncoder(stdout)
			for i := range ss {
				if err := enc.Encode(api.SilenceOf(&ss[i], now)); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tSTARTS\tENDS\tMSP\tAUTHOR\tMATCHERS\tREASON")
		for i := range ss {
			s := api.SilenceOf(&ss[i], now)
			state := "active"
			switch {
			case !s.Ends.After(now):
				state = "expired"
			case s.Starts.After(now):
				state = "pending"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.SilenceID, state, s.Starts.Format(time.RFC3339), s.Ends.Format(time.RFC3339),
				orDash(s.MSP), s.Author, strings.Join(s.Matchers, " "), oneLine(s.Reason))
		}
		return tw.Flush()
	case "expire":
		sil, err := svc.ExpireSilence(ctx, scope, pos[0], c.as)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "silence %s expired at %s\n", sil.SilenceID, sil.Ends.Format(time.RFC3339))
		return nil
	}
	return nil
}

// parseInterspersed parses flags wherever they appear among the
// positional arguments ("alerts ack ID --note x"), then fills the rest
// from the environment like parseFlags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	return pos, parseFlags(fs, nil)
}

func (c *alertsCmd) printAlerts(as []store.AlertState) error {
	if c.asJSON {
		enc := json.NewEncoder(c.stdout)
		for i := range as {
			if err := enc.Encode(api.AlertOf(&as[i])); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tSTATUS\tMSP\tTENANT\tRULE\tCOUNT\tLAST\tASSIGNEE\tSILENCED")
	for i := range as {
		a := &as[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.AlertID, a.Level, a.Status, a.MSP, orDash(a.Tenant), a.RuleTitle,
			a.Count, a.LastTime.UTC().Format(time.RFC3339), orDash(a.Assignee), orDash(a.SuppressedBy))
	}
	return tw.Flush()
}

func (c *alertsCmd) printDetail(d *triage.Detail) error {
	if c.asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(api.DetailOf(d))
	}
	a := &d.Alert
	w := c.stdout
	fmt.Fprintf(w, "alert      %s\nrule       %s (%s)\nlevel      %s\nstatus     %s", a.AlertID, a.RuleTitle, a.RuleID, a.Level, a.Status)
	if a.CloseReason != "" {
		fmt.Fprintf(w, " (%s)", a.CloseReason)
	}
	fmt.Fprintf(w, "\nassignee   %s\nmsp        %s\ntenant     %s\n", orDash(a.Assignee), a.MSP, orDash(a.Tenant))
	for i, k := range a.GroupKeys {
		if i < len(a.GroupValues) {
			fmt.Fprintf(w, "group      %s=%s\n", k, a.GroupValues[i])
		}
	}
	fmt.Fprintf(w, "window     %s\nfirst/last %s / %s\ncount      %d\nincident   %s\nsilenced   %s\nsummary    %s\n",
		a.WindowStart.UTC().Format(time.RFC3339), a.FirstTime.UTC().Format(time.RFC3339), a.LastTime.UTC().Format(time.RFC3339),
		a.Count, orDash(a.IncidentID), orDash(a.SuppressedBy), oneLine(a.Summary))
	fmt.Fprintf(w, "\nactions (%d)\n", len(d.Actions))
	for _, x := range d.Actions {
		extra := ""
		switch {
		case x.Assignee != "":
			extra = " → " + x.Assignee
		case x.Reason != "":
			extra = " (" + x.Reason + ")"
		}
		fmt.Fprintf(w, "  %s  %-8s %s%s  %s → %s", x.At.Format(time.RFC3339), x.Actor, x.Action, extra, x.StatusFrom, x.StatusTo)
		if x.Note != "" {
			fmt.Fprintf(w, "  %q", x.Note)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\ndetections (%d shown)\n", len(d.Detections))
	for _, x := range d.Detections {
		fmt.Fprintf(w, "  %s  %s  %s  %s\n", x.FirstTime.UTC().Format(time.RFC3339), x.DetectionID, orDash(x.SuppressedBy), oneLine(x.Summary))
	}
	return nil
}

// printResult prints what an action did. An action can be stored and
// still report an error (a close whose draft filter failed): print both.
func (c *alertsCmd) printResult(res triage.Result, err error) error {
	if res.Action.ActionID == "" {
		return err
	}
	a := &res.Alert
	fmt.Fprintf(c.stdout, "alert %s: %s by %s, now %s", a.AlertID, res.Action.Action, res.Action.Actor, a.Status)
	if a.Assignee != "" {
		fmt.Fprintf(c.stdout, ", assigned to %s", a.Assignee)
	}
	fmt.Fprintln(c.stdout)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a free-text field on its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
