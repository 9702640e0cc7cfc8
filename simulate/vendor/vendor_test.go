package vendor

import (
	"fmt"
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
	g, err := simulate.New(simulate.Config{Seed: 1, Events: 5000, Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Parse(g.Registry(), "sim.yml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Formats: []string{"ninjaone", "screenconnect"}, Clients: g.VendorClientID})
	if err != nil {
		t.Fatal(err)
	}
	next := c.Wrap(g.Next)
	n := 0
	for {
		m, ok := next()
		if !ok {
			break
		}
		n++
		f := header(m, ingest.HeaderFormat)
		switch m.Topic {
		case kafkaio.TopicVendor:
			if f != "ninjaone" && f != "screenconnect" || header(m, ingest.HeaderMSP) != string(m.Key) {
				t.Fatalf("vendor message with format %q, msp %q, key %q", f, header(m, ingest.HeaderMSP), m.Key)
			}
			a, _ := adapt.Get(f)
			if err := a.Convert(m.Value, string(m.Key), func(o adapt.Out) error {
				if o.Event == nil {
					return fmt.Errorf("%s: %v %s", m.Value, o.Err, o.Skip)
				}
				if o.Event.Tenant != "" && !reg.ResolveTenant(o.Event) {
					return fmt.Errorf("tenant %q of %s is not in the registry's vendor_ids", o.Event.Tenant, m.Value)
				}
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
	if n != 5000 || c.Records()["ninjaone"] == 0 || c.Records()["screenconnect"] == 0 || c.Kept() == 0 {
		t.Fatalf("%d messages, records %v, kept %d", n, c.Records(), c.Kept())
	}
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
	for _, cfg := range []Config{{}, {Formats: []string{"teamviewer"}, Clients: clients}, {Formats: []string{"ninjaone"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
