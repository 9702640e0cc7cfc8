package pipeline_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/simulate/vendor"
)

// TestEndToEndVendorFormats runs simulated traffic with ten attacks
// with every format the simulator writes (vendor.All: console logins as
// Entra sign-ins, console-account changes as Microsoft 365 audit records,
// NinjaOne, ScreenConnect, TeamViewer and Datto RMM activity as those
// tools' records, each MSP's instance numbering its records from 1) sent
// on the vendor topic (as tripline demo does), through ingest's adapters
// and the registry's vendor_ids, and requires every rule that the same
// traffic all in contract v1 raises on an attack (rules eval's core,
// offline) to be raised on that attack again, and every event to be
// stored once under its own ID.
func TestEndToEndVendorFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	w := setup(t)
	ctx := context.Background()
	// The demo's attacks, and one whose sessions and commands run through
	// ScreenConnect, so attack events go through an adapter too.
	scenarios := []string{"kaseya-style", "stolen-credential", "screenconnect-takeover", "rogue-technician", "impossible-travel", "brute-force", "api-key-abuse", "cloud-hopper", "dormant-account", "mfa-removed"}
	gen, err := simulate.New(simulate.Config{Seed: 1, Events: 20000, Start: time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour), Scenarios: scenarios})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Parse(gen.Registry(), "simulated-registry.yml")
	if err != nil {
		t.Fatal(err)
	}
	w.enricher = reg
	conv, err := vendor.New(vendor.Config{Formats: vendor.All(), Clients: gen.VendorClientID})
	if err != nil {
		t.Fatal(err)
	}

	// The event IDs ingest will store, with their scenario; the original
	// events for the offline baseline; the messages to send.
	scenarioOf, origScenario := map[string]string{}, map[string]string{}
	var originals []contract.Event
	var msgs []kafka.Message
	vendorAttacks := map[string]int{}
	var dec contract.Decoder
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		ev.Context = reg.Context(&ev)
		originals = append(originals, ev)
		origScenario[ev.EventID] = m.Scenario
		out, err := conv.Convert(m)
		if err != nil {
			t.Fatal(err)
		}
		id := ev.EventID
		if out.Topic == kafkaio.TopicVendor {
			format := string(header(out.Headers, ingest.HeaderFormat))
			a, _ := adapt.Get(format)
			if err := a.Convert(out.Value, ev.MSP, func(o adapt.Out) error {
				if o.Event == nil {
					return fmt.Errorf("record %s: %v %s", out.Value, o.Err, o.Skip)
				}
				id = o.Event.EventID
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if m.Scenario != "" {
				vendorAttacks[m.Scenario+" as "+format]++
			}
		}
		scenarioOf[id] = m.Scenario
		msgs = append(msgs, kafka.Message{Topic: out.Topic, Key: out.Key, Value: out.Value, Headers: out.Headers})
	}
	records := conv.Records()
	t.Logf("vendor records %v, contract events %d; attack events as vendor records: %v", records, conv.Kept(), vendorAttacks)
	for _, f := range vendor.All() {
		if records[f] == 0 {
			t.Fatalf("no %s records: the test would not exercise the adapter (records %v)", f, records)
		}
	}
	if len(vendorAttacks) == 0 {
		t.Fatal("no attack event went through a vendor format")
	}
	kw := w.broker.Config().NewWriter()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = kw.WriteMessages(wctx, msgs...)
	cancel()
	kw.Close()
	if err != nil {
		t.Fatal(kafkaio.SummariseWriteError(err))
	}
	w.run(t, "ingest-vendor", "detect-vendor")

	rows, distinct, err := w.store.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if distinct != uint64(len(scenarioOf)) {
		t.Fatalf("%d distinct events stored (%d rows), want %d", distinct, rows, len(scenarioOf))
	}

	streamed := map[string]bool{}
	dets, err := w.store.Detections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dets {
		for _, id := range d.EventIDs {
			sc, known := scenarioOf[id]
			if !known {
				t.Errorf("detection %s refers to unknown event %s", d.DetectionID, id)
			}
			if sc != "" {
				streamed[sc+": "+d.RuleTitle] = true
			}
		}
	}

	// The baseline: the same traffic all in contract v1.
	snap, errs := rules.LoadBundle(rules.Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	baseline := map[string]bool{}
	core := detection.New(snap, detection.Config{})
	emit := func(r detection.Result) {
		rec := r.Record(time.Time{}, detection.Coordinates{})
		for _, id := range rec.EventIDs {
			if sc := origScenario[id]; sc != "" {
				baseline[sc+": "+rec.RuleTitle] = true
			}
		}
	}
	for i := range originals {
		in := detection.ContractEvent(&originals[i])
		core.Process(&in, emit)
	}
	core.Flush(emit)
	if len(baseline) == 0 {
		t.Fatal("the baseline detects no attack")
	}
	for _, k := range slices.Sorted(maps.Keys(baseline)) {
		if !streamed[k] {
			t.Errorf("lost with vendor formats: %s", k)
		}
	}
	if t.Failed() {
		t.Logf("late events %v, forced %v", ops.Sum(w.reg, "tripline_detect_correlation_late_events"), ops.Sum(w.reg, "tripline_detect_correlation_forced_events"))
		for _, d := range dets {
			t.Logf("stored: %s: %s %v", d.RuleTitle, d.Summary, d.EventIDs)
		}
	}
	t.Logf("attack detections: %d with contract v1 only, %d with vendor formats: %v", len(baseline), len(streamed), slices.Sorted(maps.Keys(streamed)))
}

func header(hs []kafka.Header, key string) []byte {
	for _, h := range hs {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
