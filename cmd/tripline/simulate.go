package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/receive"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/simulate/vendor"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "send to these Kafka brokers HOST:PORT[,...]")
	out := fs.String("out", "", "write JSONL to this file instead ('-' for stdout)")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same traffic")
	events := fs.Int("events", 10000, "events to generate (0 = until interrupted)")
	rate := fs.Float64("rate", 0, "events per second (0 = as fast as possible)")
	realtime := fs.Bool("realtime", false, "start now and send each event when the wall clock reaches its event time (for a live feed; implies --events 0 unless set)")
	scenario := fs.String("scenario", "", "attacks to inject, comma-separated: "+scenarioNames())
	startFlag := fs.String("start", "", "event time of the first event, RFC 3339 (default: far enough back that the last event is not in the future)")
	msps := fs.Int("msps", 3, "MSPs to simulate")
	tenants := fs.Int("tenants", 10, "tenants per MSP")
	profile := fs.String("profile", "default", "convention profile of the traffic (how automation, tickets, zones, tools, sizes and optional fields look): "+strings.Join(simulate.ProfileNames(), ", "))
	formatsFlag := fs.String("format", "", "with --brokers: send each event one of these vendor formats can express ("+strings.Join(adapt.RecordFormats(), ", ")+", or all: "+strings.Join(vendor.All(), ",")+"; tried in order) as that vendor's record on --vendor-topic, as tripline receive and poll write them; the rest stays contract v1 (docs/sources.md)")
	vendorTopic := fs.String("vendor-topic", receive.DefaultTopic, "with --format: the raw vendor topic (created if missing)")
	registryOut := fs.String("registry-out", "", "also write the simulated world's MSP registry (YAML, for ingest/rules eval --registry) to this file; alone, write only the registry")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *brokers != "" && *out != "" || *brokers == "" && *out == "" && *registryOut == "" {
		fmt.Fprintln(stderr, "tripline simulate: give exactly one of --brokers or --out (or only --registry-out)")
		return errUsage
	}
	formats, err := vendor.ParseFormats(*formatsFlag)
	if err != nil {
		fmt.Fprintf(stderr, "tripline simulate: --format: %v\n", err)
		return errUsage
	}
	if len(formats) > 0 && *brokers == "" {
		fmt.Fprintln(stderr, "tripline simulate: --format needs --brokers (vendor records go to the vendor topic with their format headers)")
		return errUsage
	}
	if *realtime {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "events" })
		if !given {
			*events = 0
		}
	}
	conv, ok := simulate.Profiles()[*profile]
	if !ok {
		return fmt.Errorf("--profile %q: want one of %s", *profile, strings.Join(simulate.ProfileNames(), ", "))
	}
	cfg := simulate.Config{
		Seed: *seed, Events: *events, Scenarios: splitList(*scenario),
		MSPs: *msps, TenantsPerMSP: *tenants, Conventions: conv,
	}
	cfg.Start = simulate.StartBefore(time.Now(), cfg)
	if *realtime {
		cfg.Start = time.Now().UTC()
	}
	if *startFlag != "" {
		t, err := time.Parse(time.RFC3339, *startFlag)
		if err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		cfg.Start = t
	}
	gen, err := simulate.New(cfg)
	if err != nil {
		return err
	}
	if *registryOut != "" {
		// The registry depends on the seed, the world's size and the
		// profile only, so it is written before any event: a pipeline started with it enriches
		// the first event already.
		if err := os.WriteFile(*registryOut, gen.Registry(), 0o644); err != nil {
			return fmt.Errorf("--registry-out: %w", err)
		}
		fmt.Fprintf(stderr, "simulate: wrote the registry of %d MSPs x %d tenants to %s\n", *msps, *tenants, *registryOut)
		if *brokers == "" && *out == "" {
			return nil
		}
	}
	next := gen.Next
	var w *kafka.Writer
	var vconv *vendor.Converter
	if *brokers != "" {
		c := commonFlags{brokers: *brokers}
		kcfg, err := c.kafka()
		if err != nil {
			return err
		}
		w = kcfg.NewWriter()
		if len(formats) > 0 {
			// The vendor topic exists (or is created) and records are
			// cut to its limit, as receive and poll write them.
			log, err := newLogger(stderr, "warn", "auto")
			if err != nil {
				return err
			}
			var limit int
			w, limit = rawTopicWriter(ctx, kcfg, *vendorTopic, vendorTopicPartitions, 0, log)
			vconv, err = vendor.New(vendor.Config{Formats: formats, Clients: gen.VendorClientID, Topic: *vendorTopic, MaxMessageBytes: limit})
			if err != nil {
				w.Close()
				return fmt.Errorf("--format: %w", err)
			}
			next = vconv.Wrap(next)
		}
		defer w.Close()
	}
	switch {
	case *realtime:
		next = simulate.InEventTime(ctx, gen.Next)
	case *rate > 0:
		next = simulate.Pace(ctx, *rate, gen.Next)
	}

	if *out != "" {
		w := stdout
		if *out != "-" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		n, err := simulate.WriteJSONL(ctx, w, next, *realtime) // a live feed is read as it comes
		if err != nil && !errors.Is(err, ctx.Err()) {
			return err
		}
		fmt.Fprintf(stderr, "simulate: wrote %d events\n", n)
		return nil
	}

	o := simulate.ProduceOptions{BatchSize: 2000}
	switch {
	case *realtime:
		o.BatchSize = 1 // a live feed is read as it comes
	case *rate > 0:
		o.Linger = 200 * time.Millisecond // with pacing, do not hold events back for long
	}
	sent, err := simulate.Produce(ctx, w, next, o)
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	if vconv != nil {
		if err := vconv.Err(); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintf(stderr, "simulate: %d of them as vendor records on %s (%s), %d as contract v1\n", sum(vconv.Records()), *vendorTopic, formatCounts(vconv.Records()), vconv.Kept())
	}
	fmt.Fprintf(stderr, "simulate: sent %d events to %s\n", sent.Messages, *brokers)
	return nil
}

// vendorTopicPartitions are the partitions of a vendor topic the simulator
// creates: receive's and poll's default.
const vendorTopicPartitions = 6

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// formatCounts writes counts by format, sorted: "ninjaone 120, screenconnect 40".
func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func scenarioNames() string {
	var names []string
	for _, s := range simulate.Scenarios() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
