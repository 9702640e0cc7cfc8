package registry

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
)

// FuzzParse: a registry file is operator input that ingest re-reads while
// running, so no file may panic Parse (the recover there is for yaml.v3's
// own panics, which carry no "runtime error"), and every registry that
// parses must enrich events without panicking.
func FuzzParse(f *testing.F) {
	if example, err := os.ReadFile("../deployments/registry.example.yml"); err == nil {
		f.Add(example)
	}
	for _, seed := range []string{
		"msps:\n  - id: a\n    tenants: [t]\n",
		"msps:\n  - id: a\n    tz: Europe/Berlin\n    tenants:\n      - id: t\n        maintenance: [{days: [fri], from: \"18:00\", to: \"02:00\"}]\n",
		"msps:\n  - id: a\n    technicians: [{user: u, countries: [US]}]\n    tenants:\n      - id: t\n        assets: [{host: \"vote-*\", tags: [election]}]\n",
		"version: 1\nmsps: &a [*a]\n",
		"msps: [{id: a, tenants: [{id: t, tz: Not/AZone}]}]\n",
		"",
		// Issue 10: aliases that expand past the limits must fail fast.
		registryBomb(1999, 2000),
		"msps:\n  - id: a\n    tz: UTC\n    tenants: [{id: t1, maintenance: &w [{days: [sat], from: \"01:00\", to: \"05:00\"}]}, {id: t2, maintenance: *w}]\n",
		"msps: [{id: a, tenants: [t]}]\n---\nmsps: [{id: b, tenants: [t]}]\n",
	} {
		f.Add([]byte(seed))
	}
	events := []contract.Event{
		{EventType: "session.start", MSP: "a", Tenant: "t", Tool: "ninjaone", Actor: contract.Actor{User: "u", Country: "US"}, Target: contract.Target{Host: "vote-01"}},
		{EventType: "auth.login", MSP: "a", Tool: "screenconnect", Actor: contract.Actor{User: "x"}},
		{EventType: "software.push", MSP: "northwind-msp", Tenant: "acme-corp", Tool: "anydesk"},
	}
	for i := range events {
		events[i].Time = time.Date(2026, 11, 20, 1, 30, 0, 0, time.UTC)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := Parse(data, "fuzz.yml")
		if err != nil {
			if strings.Contains(err.Error(), "runtime error") {
				t.Fatalf("Parse panicked: %v", err)
			}
			return
		}
		for i := range events {
			reg.Context(&events[i])
		}
	})
}
