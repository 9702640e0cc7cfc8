package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/broker"
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
// vendorTestStart is the traffic's start in the vendor-format tests: a
// Monday, 06:00 UTC.
var vendorTestStart = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func TestEndToEndVendorFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	w := setup(t)
	ctx := context.Background()
	// The demo's attacks, and one whose sessions and commands run through
	// ScreenConnect, so attack events go through an adapter too.
	scenarios := []string{"kaseya-style", "stolen-credential", "screenconnect-takeover", "rogue-technician", "impossible-travel", "brute-force", "api-key-abuse", "cloud-hopper", "dormant-account", "mfa-removed"}
	// A fixed start: which (attack, rule) pairs the traffic raises depends
	// on the hour and weekday it starts at (working hours, maintenance
	// windows), and the test should check the same 28 pairs every run.
	gen, err := simulate.New(simulate.Config{Seed: 1, Events: 20000, Start: vendorTestStart, Scenarios: scenarios})
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
				id = strings.Clone(o.Event.EventID) // valid only until emit returns
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

// uncontractedRule is the id of rules/msp/registry/uncontracted_tenant_activity.yml.
const uncontractedRule = "91ca4a57-852a-4a5b-be74-9adb17c5c2a9"

// TestMSPOwnTenantSignIns: the simulated MSPs' technicians sign in to
// their consoles through each MSP's own Entra tenant, and their console
// accounts change there; the records name that tenant. With the MSP's own
// vendor_ids in the registry, ingest clears the tenant of those events
// and *Activity for a Tenant the MSP Has No Contract With* stays silent;
// with the same registry without them, it fires on every one of those
// events, through the same ingest and detector.
func TestMSPOwnTenantSignIns(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	w := setup(t)
	ctx := context.Background()
	gen, err := simulate.New(simulate.Config{Seed: 1, Events: 4000, Start: vendorTestStart})
	if err != nil {
		t.Fatal(err)
	}
	doc := gen.Registry()
	withOwn, err := registry.Parse(doc, "simulated-registry.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The msps' own vendor_ids are the only ones at msp indentation.
	stripped := regexp.MustCompile(`(?m)^    vendor_ids: .*\n`).ReplaceAll(doc, nil)
	if bytes.Equal(stripped, doc) {
		t.Fatal("the simulated registry lists no msp's own vendor_ids")
	}
	withoutOwn, err := registry.Parse(stripped, "simulated-registry-without-own.yml")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := vendor.New(vendor.Config{Formats: []string{"entra-signin", "m365-audit"}, Clients: gen.VendorClientID})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	own := 0 // records at an MSP's own tenant
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		out, err := conv.Convert(m)
		if err != nil {
			t.Fatal(err)
		}
		if out.Topic == kafkaio.TopicVendor {
			a, _ := adapt.Get(string(header(out.Headers, ingest.HeaderFormat)))
			if err := a.Convert(out.Value, string(out.Key), func(o adapt.Out) error {
				if o.Event == nil {
					return fmt.Errorf("record %s: %v %s", out.Value, o.Err, o.Skip)
				}
				// The MSP's own Entra tenant, as the simulator names it.
				if id, _ := gen.VendorClientID("entra-signin", o.Event.MSP, ""); id != "" && o.Event.Tenant == "entra:tenant:"+id {
					own++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		msgs = append(msgs, kafka.Message{Topic: out.Topic, Key: out.Key, Value: out.Value, Headers: out.Headers})
	}
	t.Logf("records %v, %d at an MSP's own Entra tenant", conv.Records(), own)
	if own == 0 {
		t.Fatal("no record names an MSP's own Entra tenant: the test would show nothing")
	}
	uncontracted := func() (n int) {
		dets, err := w.store.Detections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dets {
			if d.RuleID == uncontractedRule {
				n++
			}
		}
		return n
	}
	// The same messages on a fresh broker each time, into one store: the
	// second run's detections are the only ones once the first has none.
	for _, tc := range []struct {
		name string
		reg  *registry.Registry
		want int
	}{
		{"with-own", withOwn, 0},
		{"without-own", withoutOwn, own},
	} {
		w.broker = broker.ForTest(t, broker.Options{Partitions: 3})
		w.enricher = tc.reg
		kw := w.broker.Config().NewWriter()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := kw.WriteMessages(wctx, msgs...)
		cancel()
		kw.Close()
		if err != nil {
			t.Fatal(kafkaio.SummariseWriteError(err))
		}
		w.run(t, "ingest-"+tc.name, "detect-"+tc.name)
		if got := uncontracted(); got != tc.want {
			t.Errorf("%s: %d detections of activity at an uncontracted tenant, want %d", tc.name, got, tc.want)
		}
	}
}

func header(hs []kafka.Header, key string) []byte {
	for _, h := range hs {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
