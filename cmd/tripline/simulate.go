package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/simulate"
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
	registryOut := fs.String("registry-out", "", "also write the simulated world's MSP registry (YAML, for ingest/rules eval --registry) to this file; alone, write only the registry")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *brokers != "" && *out != "" || *brokers == "" && *out == "" && *registryOut == "" {
		fmt.Fprintln(stderr, "tripline simulate: give exactly one of --brokers or --out (or only --registry-out)")
		return errUsage
	}
	start := defaultStart(time.Now(), *events, *msps, *tenants)
	if *realtime {
		start = time.Now().UTC()
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "events" })
		if !given {
			*events = 0
		}
	}
	if *startFlag != "" {
		t, err := time.Parse(time.RFC3339, *startFlag)
		if err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		start = t
	}
	gen, err := simulate.New(simulate.Config{
		Seed: *seed, Events: *events, Start: start, Scenarios: splitList(*scenario),
		MSPs: *msps, TenantsPerMSP: *tenants,
	})
	if err != nil {
		return err
	}
	if *registryOut != "" {
		// The registry depends on the seed and the world's size only, so it
		// is written before any event: a pipeline started with it enriches
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
	switch {
	case *realtime:
		next = inEventTime(ctx, gen.Next)
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
		bw := bufio.NewWriterSize(w, 1<<20)
		n := 0
		for ctx.Err() == nil {
			m, ok := next()
			if !ok {
				break
			}
			bw.Write(m.Value)
			bw.WriteByte('\n')
			n++
			if *realtime {
				bw.Flush() // a live feed is read as it comes
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "simulate: wrote %d events\n", n)
		return nil
	}

	c := commonFlags{brokers: *brokers}
	kcfg, err := c.kafka()
	if err != nil {
		return err
	}
	w := kcfg.NewWriter()
	defer w.Close()
	batch := make([]kafka.Message, 0, 2000)
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	lastFlush := time.Now()
	for ctx.Err() == nil {
		m, ok := next()
		if !ok {
			break
		}
		batch = append(batch, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
		// With pacing, do not hold events back for long.
		if len(batch) == cap(batch) || (*rate > 0 && time.Since(lastFlush) > 200*time.Millisecond) {
			if err := flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
	}
	if err := flush(); err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintf(stderr, "simulate: sent %d events to %s\n", n, *brokers)
	return nil
}

// inEventTime holds each event until the wall clock reaches its event
// time, so a continuous feed never runs into the future (ingest rejects
// events more than 24 h ahead).
func inEventTime(ctx context.Context, next func() (simulate.Message, bool)) func() (simulate.Message, bool) {
	return func() (simulate.Message, bool) {
		m, ok := next()
		if !ok {
			return m, false
		}
		if wait := time.Until(m.Time); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return simulate.Message{}, false
			}
		}
		return m, true
	}
}

// defaultStart puts the first event far enough back that the last one is
// not in the future: the simulator produces about 1,500 events per
// simulated hour for 3 MSPs of 10 tenants, proportionally more for bigger
// worlds; the estimate is doubled for quiet nights and weekends.
func defaultStart(now time.Time, events, msps, tenants int) time.Time {
	if events <= 0 {
		return now.UTC().Add(-time.Hour).Truncate(time.Minute)
	}
	perHour := 1500 * float64(max(msps*tenants, 1)) / 30
	span := time.Duration(2 * float64(events) / perHour * float64(time.Hour))
	return now.UTC().Add(-span - time.Hour).Truncate(time.Hour)
}

func scenarioNames() string {
	var names []string
	for _, s := range simulate.Scenarios() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
