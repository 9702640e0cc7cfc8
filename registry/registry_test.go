package registry

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
)

const good = `
version: 1
msps:
  - id: msp-a
    tz: America/Chicago
    tools: [ninjaone]
    technicians:
      - {user: jdoe, countries: [US]}
      - bob
    tenants:
      - id: acme
        tools: [screenconnect]
        maintenance: {tz: America/Chicago, windows: [{days: [sat, sun], from: "01:00", to: "05:00"}]}
      - globex
`

func TestParseValid(t *testing.T) {
	r, err := Parse([]byte(good), "reg.yml")
	if err != nil {
		t.Fatal(err)
	}
	if r.MSPs() != 1 || r.Tenants() != 2 {
		t.Fatalf("msps %d tenants %d, want 1 and 2", r.MSPs(), r.Tenants())
	}
	acme := r.msps["msp-a"].tenants["acme"]
	if !acme.tools["ninjaone"] || !acme.tools["screenconnect"] || acme.loc.String() != "America/Chicago" || acme.maintenance == nil {
		t.Fatalf("acme compiled wrong: %+v", acme)
	}
	if g := r.msps["msp-a"].tenants["globex"]; g.loc.String() != "America/Chicago" || g.maintenance != nil {
		t.Fatalf("globex should inherit the msp zone and have no window: %+v", g)
	}
}

// Every problem is reported at its file:line:col, all of them at once.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string // "line:col: message fragment"
	}{
		{"yaml syntax", "msps:\n  - id: a\n    tenants: [x\n", []string{"2:1: invalid YAML: did not find expected ',' or ']'"}},
		{"empty", "", []string{"empty registry"}},
		{"not a mapping", "- a\n", []string{"1:1: the registry must be a mapping"}},
		{"no msps", "version: 1\n", []string{"1:1: the registry has no msps"}},
		{"bad version", "version: 2\nmsps: [{id: a, tenants: [t]}]\n", []string{"1:10: version \"2\""}},
		{"unknown top key", "msp: []\nmsps: [{id: a, tenants: [t]}]\n", []string{"1:1: unknown key \"msp\""}},
		{"msp without id", "msps:\n  - tenants: [t]\n", []string{"2:5: msp has no id"}},
		{"msp without tenants", "msps:\n  - id: a\n", []string{"2:5: msp \"a\" has no tenants"}},
		{"duplicate msp", "msps:\n  - {id: a, tenants: [t]}\n  - {id: A, tenants: [t]}\n", []string{"3:5: msp \"A\" is listed twice (first at line 2)"}},
		{"duplicate tenant", "msps:\n  - id: a\n    tenants:\n      - t1\n      - {id: T1}\n", []string{"5:9: tenant \"T1\" is listed twice"}},
		{"bad tz", "msps:\n  - id: a\n    tz: America/Chikago\n    tenants: [t]\n", []string{"3:9: tz \"America/Chikago\" is not an IANA time zone"}},
		{"bad day", "msps:\n  - id: a\n    tz: UTC\n    tenants:\n      - id: t\n        maintenance: [{days: [sat, sunday, funday], from: \"01:00\", to: \"02:00\"}]\n", []string{"6:44: day \"funday\""}},
		{"bad clock", "msps:\n  - id: a\n    tz: UTC\n    tenants:\n      - id: t\n        maintenance: [{days: [sat], from: \"25:00\", to: \"02:00\"}]\n", []string{"6:43: from: \"25:00\""}},
		{"empty window", "msps:\n  - id: a\n    tz: UTC\n    tenants:\n      - id: t\n        maintenance: [{days: [sat], from: \"02:00\", to: \"02:00\"}]\n", []string{"6:23: window from 02:00 to 02:00 is empty"}},
		{"window without to", "msps:\n  - id: a\n    tz: UTC\n    tenants:\n      - id: t\n        maintenance: [{days: [sat], from: \"02:00\"}]\n", []string{"6:23: maintenance window has no to"}},
		{"maintenance without zone", "msps:\n  - id: a\n    tenants:\n      - id: t\n        maintenance: [{days: [sat], from: \"01:00\", to: \"02:00\"}]\n", []string{"5:22: tenant \"t\" has maintenance windows but no time zone"}},
		{"conflicting zones", "msps:\n  - id: a\n    tenants:\n      - id: t\n        tz: Europe/Berlin\n        maintenance: {tz: UTC, windows: [{days: [sat], from: \"01:00\", to: \"02:00\"}]}\n", []string{"6:22: maintenance tz UTC differs"}},
		{"bad tool", "msps:\n  - id: a\n    tools: [\"Ninja One\"]\n    tenants: [t]\n", []string{"3:13: tool \"ninja one\" is not a slug"}},
		{"bad country", "msps:\n  - id: a\n    technicians: [{user: j, countries: [USA]}]\n    tenants: [t]\n", []string{"3:41: country \"USA\""}},
		{"duplicate technician", "msps:\n  - id: a\n    technicians: [j, {user: J}]\n    tenants: [t]\n", []string{"3:22: technician \"J\" is listed twice"}},
		{"asset without tags", "msps:\n  - id: a\n    tenants:\n      - id: t\n        assets: [{host: vote-01}]\n", []string{"5:18: asset \"vote-01\" has no tags"}},
		{"bad host pattern", "msps:\n  - id: a\n    tenants:\n      - id: t\n        assets: [{host: \"vote-[\", tags: [election]}]\n", []string{"5:25: host pattern \"vote-[\""}},
		{"unknown tenant key", "msps:\n  - id: a\n    tenants:\n      - id: t\n        tool: [x]\n", []string{"5:9: unknown key \"tool\" in a tenant"}},
		{"technician hours without msp zone", "msps:\n  - id: a\n    technicians: [{user: j, hours: [{days: [daily], from: \"19:00\", to: \"07:00\"}]}]\n    tenants: [t]\n", []string{"3:36: technician \"j\" has hours but msp \"a\" has no tz"}},
		{"technician hours with their own zone", "msps:\n  - id: a\n    tz: UTC\n    technicians: [{user: j, hours: {tz: UTC, windows: [{days: [sat], from: \"01:00\", to: \"02:00\"}]}}]\n    tenants: [t]\n", []string{"4:36: a technician's hours are on the msp's clock"}},
		{"bad vendor id", "msps:\n  - id: a\n    tenants:\n      - id: t\n        vendor_ids: [\"12\"]\n", []string{"5:22: vendor id \"12\": want NAMESPACE:KIND:ID"}},
		{"vendor id of two tenants", "msps:\n  - id: a\n    tenants:\n      - {id: t1, vendor_ids: [\"ninjaone:org:12\"]}\n      - {id: t2, vendor_ids: [\"ninjaone:org:12\"]}\n", []string{"5:31: vendor id \"ninjaone:org:12\" names tenants \"t1\" and \"t2\""}},
		{"bad msp vendor id", "msps:\n  - id: a\n    vendor_ids: [\"entra-tenant\"]\n    tenants: [t]\n", []string{"3:18: vendor id \"entra-tenant\": want NAMESPACE:KIND:ID"}},
		{"msp vendor id listed twice", "msps:\n  - id: a\n    vendor_ids: [\"entra:tenant:1\", \"entra:tenant:1\"]\n    tenants: [t]\n", []string{"3:36: vendor id \"entra:tenant:1\" is listed twice in msp \"a\""}},
		{"msp vendor id is a tenant's too", "msps:\n  - id: a\n    vendor_ids: [\"ninjaone:org:1\"]\n    tenants:\n      - {id: office, vendor_ids: [\"ninjaone:org:1\"]}\n", []string{"5:35: vendor id \"ninjaone:org:1\" of tenant \"office\" is one of msp \"a\"'s own vendor_ids"}},
		{"msp vendor id is a tenant's id", "msps:\n  - id: a\n    vendor_ids: [\"x:y:z\"]\n    tenants: [\"x:y:z\"]\n", []string{"3:18: vendor id \"x:y:z\" of msp \"a\" is the id of tenant \"x:y:z\""}},
		{"entra apps not a mapping", "msps:\n  - id: a\n    entra_apps: [x]\n    tenants: [t]\n", []string{"3:17: entra_apps must be a mapping"}},
		{"entra app with a bad tool", "msps:\n  - id: a\n    entra_apps: {\"Ninja Prod\": \"Ninja One\"}\n    tenants: [t]\n", []string{"3:32: tool \"ninja one\" is not a slug"}},
		{"entra app twice", "msps:\n  - id: a\n    entra_apps: {\"Ninja Prod\": ninjaone, \"ninja prod\": ninjaone}\n    tenants: [t]\n", []string{"3:42: entra app \"ninja prod\" is listed twice"}},
		{"several at once", "msps:\n  - id: a\n    tz: Mars/Olympus\n    technicians: [{user: j, countries: [xx1]}]\n    tenants: [t]\n", []string{"3:9: tz", "4:41: country"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse([]byte(c.doc), "bad.yml")
			if err == nil {
				t.Fatalf("parsed: %+v", r)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			if len(es) != len(c.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(es), len(c.want), err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), "bad.yml:"+w) && !strings.Contains(err.Error(), "bad.yml: "+w) {
					t.Errorf("want %q in:\n%v", "bad.yml:"+w, err)
				}
			}
		})
	}
}

func TestParseClock(t *testing.T) {
	for s, want := range map[string]int{"00:00": 0, "7:05": 425, "23:59": 1439, "24:00": 1440} {
		if got, err := parseClock(s); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"24:01", "1200", "12:5", "-1:00", "12:60", "", "ab:cd"} {
		if _, err := parseClock(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

// Maintenance windows are local wall-clock time in the tenant's zone, on
// both sides of a DST change, past midnight and past the end of the week.
func TestWindowsAcrossZonesAndDST(t *testing.T) {
	type check struct {
		utc  string
		want bool
	}
	cases := []struct {
		name, tz string
		windows  []window
		checks   []check
	}{
		{"chicago weekend nights, CST", "America/Chicago",
			[]window{{days: []time.Weekday{time.Saturday, time.Sunday}, from: 60, to: 300}},
			[]check{
				{"2026-11-21T06:59:00Z", false}, // Sat 00:59 CST
				{"2026-11-21T07:00:00Z", true},  // Sat 01:00 CST
				{"2026-11-21T10:59:00Z", true},  // Sat 04:59 CST
				{"2026-11-21T11:00:00Z", false}, // Sat 05:00 CST: to is exclusive
				{"2026-11-20T08:00:00Z", false}, // Fri 02:00 CST
				{"2026-11-22T08:00:00Z", true},  // Sun 02:00 CST
				{"2026-11-21T01:30:00Z", false}, // Fri 19:30 CST (Sat in UTC)
			}},
		{"chicago spring forward (2026-03-08)", "America/Chicago",
			[]window{{days: []time.Weekday{time.Sunday}, from: 60, to: 300}},
			[]check{
				{"2026-03-08T07:30:00Z", true},  // 01:30 CST
				{"2026-03-08T08:30:00Z", true},  // 03:30 CDT (02:xx does not exist)
				{"2026-03-08T09:59:00Z", true},  // 04:59 CDT
				{"2026-03-08T10:30:00Z", false}, // 05:30 CDT: a fixed -6h offset would say 04:30, inside
			}},
		{"chicago fall back (2026-11-01): 01:00-02:00 happens twice", "America/Chicago",
			[]window{{days: []time.Weekday{time.Sunday}, from: 60, to: 120}},
			[]check{
				{"2026-11-01T05:59:00Z", false}, // 00:59 CDT
				{"2026-11-01T06:30:00Z", true},  // 01:30 CDT
				{"2026-11-01T07:30:00Z", true},  // 01:30 CST, the second time
				{"2026-11-01T08:30:00Z", false}, // 02:30 CST
			}},
		{"overnight wed 22:00-02:00", "America/Chicago",
			[]window{{days: []time.Weekday{time.Wednesday}, from: 1320, to: 120}},
			[]check{
				{"2026-11-19T04:00:00Z", true},  // Wed 22:00 CST
				{"2026-11-19T07:30:00Z", true},  // Thu 01:30 CST
				{"2026-11-19T08:00:00Z", false}, // Thu 02:00 CST
				{"2026-11-18T07:30:00Z", false}, // Wed 01:30 CST: Tuesday is not listed
			}},
		{"saturday night into sunday wraps the week", "UTC",
			[]window{{days: []time.Weekday{time.Saturday}, from: 1380, to: 60}},
			[]check{
				{"2026-11-21T23:30:00Z", true},  // Sat 23:30
				{"2026-11-22T00:30:00Z", true},  // Sun 00:30
				{"2026-11-22T01:00:00Z", false}, // Sun 01:00
				{"2026-11-15T00:30:00Z", true},  // the Sunday before, from the Saturday before
			}},
		{"whole day 00:00-24:00", "UTC",
			[]window{{days: []time.Weekday{time.Monday}, from: 0, to: 1440}},
			[]check{{"2026-11-23T00:00:00Z", true}, {"2026-11-23T23:59:59Z", true}, {"2026-11-24T00:00:00Z", false}, {"2026-11-22T23:59:00Z", false}},
		},
		{"berlin, CET vs CEST", "Europe/Berlin",
			[]window{{days: []time.Weekday{time.Sunday}, from: 120, to: 240}},
			[]check{
				{"2026-03-29T00:30:00Z", false}, // 01:30 CET
				{"2026-03-29T01:00:00Z", true},  // 03:00 CEST (02:00 CET became 03:00 CEST)
				{"2026-03-29T02:00:00Z", false}, // 04:00 CEST
				{"2026-10-25T00:30:00Z", true},  // 02:30 CEST
				{"2026-10-25T01:30:00Z", true},  // 02:30 CET, the second time
				{"2026-10-25T02:00:00Z", true},  // 03:00 CET
				{"2026-10-25T03:00:00Z", false}, // 04:00 CET
			}},
		{"sydney, southern-hemisphere DST ends 2026-04-05", "Australia/Sydney",
			[]window{{days: []time.Weekday{time.Sunday}, from: 0, to: 180}},
			[]check{
				{"2026-04-04T13:30:00Z", true},  // Sun 00:30 AEDT (+11)
				{"2026-04-04T16:30:00Z", true},  // Sun 02:30 AEST (+10), after the change
				{"2026-04-04T17:30:00Z", false}, // Sun 03:30 AEST
			}},
		{"kolkata half-hour offset", "Asia/Kolkata",
			[]window{{days: []time.Weekday{time.Friday}, from: 0, to: 30}},
			[]check{
				{"2026-11-19T18:29:00Z", false}, // Thu 23:59 IST
				{"2026-11-19T18:30:00Z", true},  // Fri 00:00 IST
				{"2026-11-19T18:59:00Z", true},  // Fri 00:29 IST
				{"2026-11-19T19:00:00Z", false}, // Fri 00:30 IST
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc, err := time.LoadLocation(c.tz)
			if err != nil {
				t.Fatal(err)
			}
			var m weekMask
			for _, w := range c.windows {
				w.addTo(&m)
			}
			for _, ch := range c.checks {
				at, err := time.Parse(time.RFC3339, ch.utc)
				if err != nil {
					t.Fatal(err)
				}
				if got := inWindow(&m, loc, at); got != ch.want {
					t.Errorf("%s (%s local): in window = %v, want %v", ch.utc, at.In(loc).Format("Mon 15:04 MST"), got, ch.want)
				}
			}
		})
	}
}

// The shipped example parses and is the one docs/registry.md shows.
func TestExampleRegistry(t *testing.T) {
	const example = "../deployments/registry.example.yml"
	r, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if r.MSPs() != 2 || r.Tenants() != 5 {
		t.Errorf("example: %d msps, %d tenants; want 2 and 4", r.MSPs(), r.Tenants())
	}
	data, _ := os.ReadFile(example)
	doc, err := os.ReadFile("../docs/registry.md")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(data), "\nversion: 1\n")
	if !strings.Contains(string(doc), "version: 1\n"+body) {
		t.Error("docs/registry.md does not show deployments/registry.example.yml (from version: 1 on) verbatim")
	}
}

func TestResolve(t *testing.T) {
	// msp-a's own Entra tenant is entra:tenant:own; its office, whose
	// machines it manages as it does a client's, is a tenant of its own.
	r, err := Parse([]byte("msps:\n  - id: msp-a\n    vendor_ids: [\"entra:tenant:own\"]\n    tenants:\n      - {id: clinic, vendor_ids: [\"ninjaone:org:12\", \"entra:tenant:0f9e\"]}\n      - other\n      - {id: msp-a-office, vendor_ids: [\"ninjaone:org:1\"]}\n  - {id: msp-b, tenants: [x]}\n"), "reg.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msp, typ, tenant, want string
		resolved, own          bool
	}{
		{"msp-a", "session.start", "ninjaone:org:12", "clinic", true, false},
		{"MSP-A", "auth.login", "entra:tenant:0f9e", "clinic", true, false},
		{"msp-a", "session.start", "ninjaone:org:13", "ninjaone:org:13", false, false},
		{"msp-a", "session.start", "NINJAONE:ORG:12", "NINJAONE:ORG:12", false, false}, // vendor IDs match exactly
		{"msp-b", "session.start", "ninjaone:org:12", "ninjaone:org:12", false, false},
		{"msp-a", "session.start", "other", "other", false, false},
		// The MSP's own tenant: console-level events lose it...
		{"msp-a", "auth.login", "entra:tenant:own", "", true, true},
		{"msp-a", "auth.failure", "entra:tenant:own", "", true, true},
		{"msp-a", "account.changed", "entra:tenant:own", "", true, true},
		// ...events that need a tenant keep it (the MSP lists its own
		// org as a tenant for them, as msp-a-office)...
		{"msp-a", "session.start", "entra:tenant:own", "entra:tenant:own", false, false},
		{"msp-a", "session.start", "ninjaone:org:1", "msp-a-office", true, false},
		// ...and it is msp-a's own only.
		{"msp-b", "auth.login", "entra:tenant:own", "entra:tenant:own", false, false},
		{"msp-a", "auth.login", "ENTRA:TENANT:OWN", "ENTRA:TENANT:OWN", false, false},
	} {
		ev := &contract.Event{MSP: tc.msp, EventType: tc.typ, Tenant: tc.tenant}
		got := r.Resolve(ev)
		if got != tc.resolved || ev.Tenant != tc.want {
			t.Errorf("Resolve(%s, %s, %s) = %v, tenant %q; want %v, %q", tc.msp, tc.typ, tc.tenant, got, ev.Tenant, tc.resolved, tc.want)
		}
		if got && ev.Attributes[VendorTenantAttribute] != tc.tenant {
			t.Errorf("the raw vendor id is not kept: %v", ev.Attributes)
		}
		if own := ev.Attributes[MSPOwnAttribute] == "true"; own != tc.own {
			t.Errorf("Resolve(%s, %s, %s): %s is %v, want %v", tc.msp, tc.typ, tc.tenant, MSPOwnAttribute, own, tc.own)
		}
		c := r.Context(ev)
		switch {
		case tc.own && c.TenantContracted != nil:
			t.Errorf("the msp's own tenant was cleared but the context says tenant_contracted %v", *c.TenantContracted)
		case got && !tc.own && (c.TenantContracted == nil || !*c.TenantContracted):
			t.Errorf("a resolved tenant is not contracted: %+v", c)
		}
	}
}

func TestResolveEntraApps(t *testing.T) {
	r, err := Parse([]byte("msps:\n  - id: msp-a\n    entra_apps: {\"5E1D2C3B-4a59-4687-9a8b-7c6d5e4f3a2b\": ninjaone, \"Ninja Prod\": NinjaOne, \"Remote\": anydesk}\n    tenants: [t]\n  - {id: msp-b, tenants: [t]}\n"), "reg.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msp, tool, appID, app, want string
	}{
		{"msp-a", EntraIDTool, "5e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a2b", "Whatever", "ninjaone"}, // by appId, any case
		{"msp-a", EntraIDTool, "", "ninja prod", "ninjaone"},                                   // by name, any case
		{"msp-a", EntraIDTool, "0000", "Remote", "anydesk"},                                    // an unknown appId, a known name
		{"msp-a", EntraIDTool, "", "Ninja Prod 2", EntraIDTool},                                // whole names only
		{"msp-a", "datto-rmm", "", "Ninja Prod", "datto-rmm"},                                  // the adapter placed it: kept
		{"msp-b", EntraIDTool, "", "Ninja Prod", EntraIDTool},                                  // msp-a's apps only
	} {
		ev := &contract.Event{MSP: tc.msp, EventType: "auth.login", Tool: tc.tool, Attributes: map[string]string{"app": tc.app}}
		if tc.appID != "" {
			ev.Attributes["appId"] = tc.appID
		}
		changed := r.Resolve(ev)
		if ev.Tool != tc.want || changed != (tc.want != tc.tool) {
			t.Errorf("Resolve(%s, %s, appId %q, app %q): tool %q, changed %v; want %q", tc.msp, tc.tool, tc.appID, tc.app, ev.Tool, changed, tc.want)
		}
	}
}
