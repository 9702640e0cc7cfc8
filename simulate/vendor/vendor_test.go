package vendor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/simulate"
)

func header(m simulate.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestConvert: records go to the vendor topic with the format and msp
// headers receive writes, keyed by msp; the rest is untouched; every
// client id a record names is in the simulated registry.
func TestConvert(t *testing.T) {
	g, err := simulate.New(simulate.Config{Seed: 1, Events: 20000, Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Parse(g.Registry(), "sim.yml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Formats: All(), Clients: g.VendorClientID})
	if err != nil {
		t.Fatal(err)
	}
	next := c.Wrap(g.Next)
	n := 0
	// Vendor record ids by format and msp, and the event IDs ingest makes
	// of them.
	recordMSPs := map[string]map[string]bool{}
	eventIDs := map[string]string{}
	own := 0 // events at the MSP's own Entra tenant
	for {
		m, ok := next()
		if !ok {
			break
		}
		n++
		f := header(m, ingest.HeaderFormat)
		switch m.Topic {
		case kafkaio.TopicVendor:
			if !slices.Contains(All(), f) || header(m, ingest.HeaderMSP) != string(m.Key) {
				t.Fatalf("vendor message with format %q, msp %q, key %q", f, header(m, ingest.HeaderMSP), m.Key)
			}
			a, _ := adapt.Get(f)
			if err := a.Convert(m.Value, string(m.Key), func(o adapt.Out) error {
				if o.Event == nil {
					return fmt.Errorf("%s: %v %s", m.Value, o.Err, o.Skip)
				}
				// A console login's or account change's Entra tenant is
				// the MSP's own, in the msp's vendor_ids.
				if o.Event.Tenant != "" && !reg.Resolve(o.Event) {
					return fmt.Errorf("tenant %q of %s is not in the registry's vendor_ids", o.Event.Tenant, m.Value)
				}
				if o.Event.Attributes[registry.MSPOwnAttribute] == "true" {
					own++
				}
				rid := f + " " + o.Event.Attributes[f+".record_id"]
				if recordMSPs[rid] == nil {
					recordMSPs[rid] = map[string]bool{}
				}
				recordMSPs[rid][o.Event.MSP] = true
				if prev, dup := eventIDs[o.Event.EventID]; dup {
					return fmt.Errorf("event_id %s of %s is also %s's", o.Event.EventID, rid, prev)
				}
				eventIDs[strings.Clone(o.Event.EventID)] = rid + " " + o.Event.MSP
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		case kafkaio.TopicRemoteSessions, kafkaio.TopicSoftwareUpdates:
			if len(m.Headers) != 0 {
				t.Fatalf("contract message with headers %v", m.Headers)
			}
		default:
			t.Fatalf("topic %q", m.Topic)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 20000 || c.Kept() == 0 {
		t.Fatalf("%d messages, records %v, kept %d", n, c.Records(), c.Kept())
	}
	for _, f := range All() {
		if c.Records()[f] == 0 {
			t.Errorf("no %s records (records %v)", f, c.Records())
		}
	}
	if own == 0 {
		t.Error("no record names an MSP's own Entra tenant")
	}
	// Each MSP's instance numbers its records from 1, so MSPs share record
	// ids; their event IDs differ all the same (checked above).
	shared := 0
	for _, msps := range recordMSPs {
		if len(msps) > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Error("no record id is shared by two MSPs: the event ID namespacing is not exercised")
	}
	t.Logf("records %v, kept %d, %d record ids shared by MSPs", c.Records(), c.Kept(), shared)
	for _, tc := range []struct{ format, msp, tenant, ns string }{
		{"ninjaone", "msp-bluefin", "", "ninjaone:org:"},
		{"screenconnect", "msp-northwind", "", "screenconnect:company:"},
	} {
		if _, ok := g.VendorClientID(tc.format, tc.msp, tc.tenant); !ok {
			t.Errorf("%s does not run %s", tc.msp, tc.format)
		}
	}
	if _, ok := g.VendorClientID("ninjaone", "msp-northwind", ""); ok {
		t.Error("msp-northwind does not run NinjaOne, yet has a client id")
	}
}

func TestNewRefuses(t *testing.T) {
	clients := func(string, string, string) (string, bool) { return "", true }
	for _, cfg := range []Config{{}, {Formats: []string{"kaseya-vsa"}, Clients: clients}, {Formats: []string{"ninjaone"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestParseFormats(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"none", nil, false},
		{"all", All(), false},
		{"teamviewer, ninjaone", []string{"teamviewer", "ninjaone"}, false},
		{"ninjaone,all", append([]string{"ninjaone"}, slices.DeleteFunc(All(), func(f string) bool { return f == "ninjaone" })...), false},
		{"kaseya-vsa", nil, true},
	} {
		got, err := ParseFormats(c.in)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}
