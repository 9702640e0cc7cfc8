package adapt

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/simulate"
)

// recordLoss is what each format may lose or change of an event: the
// fields the vendor does not log (docs/sources.md), as flattened contract
// paths. A path ending in "." covers everything under it.
var recordLoss = map[string][]string{
	"ninjaone": {"actor.country", "actor.asn", "actor.role", "actor.mfa", "session.auth_method",
		"session.duration_s", "session.id", "target.os", "target.tags", "target.host_count",
		"credential.privileged", "package.sha256", "package.signer", "package.signed",
		"script.sha256", "script.command", "source.url", "change.ticket", "reason", "outcome",
		"attributes."},
	"ocsf": {"actor.role", "script.interpreter", "package.sha256", "package.signer", "package.signed",
		"source.url", "change.ticket", "session.duration_s", "attributes."},
	"screenconnect": {"actor.country", "actor.asn", "actor.role", "session.auth_method", "target.tags",
		"target.host_count", "script.name", "script.sha256", "package.version", "package.sha256",
		"package.signer", "package.signed", "change.ticket", "reason", "outcome", "tenant", "attributes."},
	"teamviewer": {"actor.country", "actor.asn", "actor.role", "actor.mfa", "session.auth_method",
		"target.os", "target.tags", "outcome", "attributes."},
	"entra-signin": {"tool", "actor.role", "actor.mfa", "session.auth_method", "outcome", "attributes."},
	"m365-audit": {"tool", "actor.country", "actor.asn", "actor.role", "actor.mfa", "session.auth_method",
		"outcome", "attributes."},
	"datto-rmm": {"actor.country", "actor.asn", "actor.role", "actor.mfa", "session.auth_method",
		"session.duration_s", "session.id", "target.os", "target.tags", "target.host_count",
		"credential.privileged", "package.sha256", "package.signer", "package.signed",
		"script.sha256", "script.command", "source.url", "change.ticket", "reason", "outcome",
		"attributes."},
}

// recordAdds is what an adapter may add that the event did not have.
var recordAdds = map[string][]string{
	"ninjaone": {"attributes.remote_tool", "attributes.change", "target.host_count", "reason", "outcome"},
	"ocsf": {"attributes.change", "attributes.category_uid", "attributes.type_uid", "attributes.severity_id",
		"attributes.process.file.name", "target.host_count", "outcome"},
	"screenconnect": {"target.host_count", "reason", "outcome"},
	"teamviewer":    {"attributes.detail.", "outcome"},
	"entra-signin":  {"attributes.app", "attributes.msp_technician", "actor.role", "session.auth_method", "outcome"},
	"m365-audit":    {"attributes.change", "outcome"},
	"datto-rmm":     {"attributes.change", "target.host_count", "outcome"},
}

// recordClient is the vendor client id the tests give every tenant, and
// the tenant the adapter names for it.
var recordClient = map[string][2]string{
	"ninjaone":      {"4711", "ninjaone:org:4711"},
	"ocsf":          {"a1b2c3d4-0c5f-4e5f-9a6b-7c8d9e0f1a2b", "ocsf:tenant:a1b2c3d4-0c5f-4e5f-9a6b-7c8d9e0f1a2b"},
	"screenconnect": {"Acme Dental", "screenconnect:company:Acme Dental"},
	"teamviewer":    {"g98765432", "teamviewer:group:g98765432"},
	"entra-signin":  {"0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f", "entra:tenant:0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"},
	"m365-audit":    {"0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f", "entra:tenant:0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"},
	"datto-rmm":     {"6e0f8b2c-3d4a-4e5f-9a6b-7c8d9e0f1a2b", "datto-rmm:site:6e0f8b2c-3d4a-4e5f-9a6b-7c8d9e0f1a2b"},
}

// recordNamespace is the prefix of the attributes an adapter names after
// its vendor, where it is not the format's name.
var recordNamespace = map[string]string{"entra-signin": "entra.", "m365-audit": "m365.", "datto-rmm": "datto."}

// handEvents cover the event types and values the simulator's traffic for
// a tool does not (NinjaOne account changes, failed installs, a
// ScreenConnect login without MFA).
func handEvents() []contract.Event {
	t := time.Date(2026, 11, 20, 14, 2, 11, 123e6, time.FixedZone("", 3600))
	base := func(typ, tool string) contract.Event {
		return contract.Event{EventType: typ, Time: t, MSP: "msp-northwind", Tenant: "acme-dental", Tool: tool,
			Actor: contract.Actor{User: "jdoe@northwind-msp.com", IP: "203.0.113.7", Country: "US", ASN: ptr(int64(64500)), Role: "technician"}}
	}
	var out []contract.Event
	for _, change := range []string{"mfa_reset", "mfa_device_added", "role_changed", "group_membership"} {
		e := base(contract.TypeAccountChanged, "ninjaone")
		e.Tenant = ""
		e.Attributes = map[string]string{"account": "pchen@northwind-msp.com", "change": change}
		out = append(out, e)
	}
	e := base(contract.TypeAccountCreated, "ninjaone")
	e.Attributes = map[string]string{"account": "new.tech@northwind-msp.com"}
	out = append(out, e)
	e = base(contract.TypeAuthFailure, "ninjaone")
	e.Tenant, e.Outcome, e.Reason = "", "failure", "invalid password"
	out = append(out, e)
	e = base(contract.TypeSoftwareInstall, "ninjaone")
	e.Actor, e.Outcome, e.Reason = contract.Actor{}, "failure", "installer exit code 1603"
	e.Target.Host, e.Package = "ws-001", contract.Package{Name: "7-Zip", Version: "24.08"}
	out = append(out, e)
	e = base(contract.TypeSoftwarePush, "ninjaone")
	e.Target.Host, e.Target.HostCount, e.Package = "ws-001", ptr(int64(1)), contract.Package{Name: "7-Zip", Version: "24.08"}
	out = append(out, e)
	for _, typ := range []string{contract.TypeAuthLogin, contract.TypeAuthFailure} {
		e = base(typ, "screenconnect")
		e.Tenant = ""
		out = append(out, e)
	}
	e = base(contract.TypeSoftwarePush, "screenconnect")
	e.Target.Host, e.Session.ID, e.Package = "ws-001", "e92d601d-ef67-4585-8d60-ebdebc971fe9", contract.Package{Name: "tool.zip", Version: "1"}
	out = append(out, e)
	// A technician's GDAP sign-in into a client's tenant, and a failed one.
	e = base(contract.TypeAuthLogin, "ninjaone")
	e.Actor.MFA, e.Outcome = ptr(true), "success"
	out = append(out, e)
	e = base(contract.TypeAuthFailure, "kaseya-vsa")
	e.Tenant, e.Outcome, e.Reason = "", "failure", "invalid password"
	out = append(out, e)
	// Datto RMM's user activity.
	for _, change := range []string{"mfa_reset", "role_changed", "deleted"} {
		e = base(contract.TypeAccountChanged, "datto-rmm")
		e.Tenant, e.Attributes = "", map[string]string{"account": "pchen@edelweiss-it.de", "change": change}
		out = append(out, e)
	}
	e = base(contract.TypeAccountCreated, "datto-rmm")
	e.Tenant, e.Attributes = "", map[string]string{"account": "new.tech@edelweiss-it.de"}
	out = append(out, e)
	e = base(contract.TypeAuthFailure, "datto-rmm")
	e.Tenant, e.Outcome, e.Reason = "", "failure", "invalid password"
	out = append(out, e)
	e = base(contract.TypeScriptRun, "datto-rmm")
	e.Target.Host, e.Script, e.Outcome = "ws-001", contract.Script{Name: "Restart print spooler", Interpreter: "powershell"}, "success"
	out = append(out, e)
	e = base(contract.TypeScriptRun, "datto-rmm")
	e.Target.HostCount, e.Script = ptr(int64(40)), contract.Script{Name: "Windows Update Scan", Interpreter: "powershell"}
	out = append(out, e)
	// A Datto software deployment job, and an unsigned one (stays contract v1).
	e = base(contract.TypeSoftwarePush, "datto-rmm")
	e.Target.HostCount, e.Package, e.Change.Ticket = ptr(int64(38)), contract.Package{Name: "Google Chrome", Version: "131.0.6778.86", Signer: "Google LLC", Signed: ptr(true)}, "CHG-2291"
	out = append(out, e)
	e = base(contract.TypeSoftwarePush, "datto-rmm")
	e.Target.HostCount, e.Package = ptr(int64(12)), contract.Package{Name: "agent.crt", Signed: ptr(false)}
	out = append(out, e)
	// A Kaseya VSA job on one tagged host, as an OCSF process launch.
	e = base(contract.TypeScriptRun, "kaseya-vsa")
	e.Target = contract.Target{Host: "epb-001", HostCount: ptr(int64(1)), OS: "Windows 11 Pro 24H2", Tags: []string{"election", "critical"}}
	e.Script = contract.Script{Name: "Collect logs", Interpreter: "powershell", Command: "Get-WinEvent -LogName System -MaxEvents 50",
		SHA256: "3b7e1f0a9c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f"}
	out = append(out, e)
	// Microsoft 365 account changes by the MSP's admin.
	for _, change := range []string{"role_changed", "password_reset", "deleted", "group_membership", "mfa_reset"} {
		e = base(contract.TypeAccountChanged, "kaseya-vsa")
		e.Tenant, e.Actor.Role = "", "admin"
		e.Attributes = map[string]string{"account": "pchen@northwind-msp.com", "change": change}
		out = append(out, e)
	}
	return out
}

// simulatedEvents is simulator traffic with every attack, in tool mixes
// that include NinjaOne and ScreenConnect as RMM and as remote tool.
func simulatedEvents(t *testing.T) []contract.Event {
	t.Helper()
	var scen []string
	for _, s := range simulate.Scenarios() {
		scen = append(scen, s.Name)
	}
	d := contract.Decoder{Now: func() time.Time { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }}
	var out []contract.Event
	// small-and-large runs ScreenConnect, NinjaOne and TeamViewer; the
	// default world Kaseya VSA, Datto RMM and AnyDesk besides.
	for _, cfg := range []simulate.Config{
		{Seed: 3, Events: 40000, MSPs: 3, TenantsPerMSP: 6, Conventions: simulate.Profiles()["small-and-large"]},
		{Seed: 5, Events: 20000, MSPs: 3, TenantsPerMSP: 6},
	} {
		cfg.Start, cfg.Scenarios = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), scen
		g, err := simulate.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for {
			m, ok := g.Next()
			if !ok {
				break
			}
			ev, err := d.Decode(m.Value)
			if err != nil {
				t.Fatalf("simulated event does not decode: %v\n%s", err, m.Value)
			}
			out = append(out, ev)
		}
	}
	return out
}

// TestRecordRoundTrip: simulated event -> vendor record -> adapter gives
// the record's contract form (Record.Event), with the vendor's id as
// event_id and the vendor's client id as tenant; what the record dropped
// or changed of the event is only what the format is documented to lose;
// every event type the encoder claims is expressed at least once.
func TestRecordRoundTrip(t *testing.T) {
	events := append(simulatedEvents(t), handEvents()...)
	for _, format := range RecordFormats() {
		t.Run(format, func(t *testing.T) {
			a, _ := Get(format)
			client := recordClient[format]
			expressed := map[string]int{}
			inexpr := 0
			ids := map[string]bool{}
			for i := range events {
				ev := &events[i]
				rec, err := EncodeRecord(format, ev, client[0], uint64(i+1))
				if errors.Is(err, ErrInexpressible) {
					inexpr++
					continue
				}
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				var got []*contract.Event
				if err := a.Convert(rec.Value, ev.MSP, func(o Out) error {
					if o.Err != nil || o.Skip != "" {
						return fmt.Errorf("record %s: err %v skip %q", rec.Value, o.Err, o.Skip)
					}
					got = append(got, Keep(o.Event)) // o.Event is reused after emit returns
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 {
					t.Fatalf("record %s gave %d events", rec.Value, len(got))
				}
				g := got[0]
				if !strings.HasPrefix(g.EventID, format+":") || ids[g.EventID] {
					t.Fatalf("event_id %q: want a unique %s: id", g.EventID, format)
				}
				ids[g.EventID] = true
				if rec.Event.Tenant != "" && g.Tenant != client[1] {
					t.Fatalf("tenant %q, want %q (record %s)", g.Tenant, client[1], rec.Value)
				}
				g.EventID, g.Tenant = "", rec.Event.Tenant
				maps.DeleteFunc(g.Attributes, func(k, _ string) bool {
					return strings.HasPrefix(k, format+".") || recordNamespace[format] != "" && strings.HasPrefix(k, recordNamespace[format])
				})
				want, _ := Encode(rec.Event)
				have, _ := Encode(g)
				if string(want) != string(have) {
					t.Fatalf("round trip of %s differs:\nrecord %s\nwant %s\nhave %s", ev.EventType, rec.Value, want, have)
				}
				checkLoss(t, format, ev, rec.Event)
				expressed[ev.EventType]++
			}
			t.Logf("%s: expressed %v, %d not expressible", format, expressed, inexpr)
			var claimed []string
			switch format {
			case "ninjaone":
				claimed = slices.Collect(maps.Keys(ninjaRecordStatus))
			case "screenconnect":
				claimed = []string{contract.TypeAuthLogin, contract.TypeAuthFailure, contract.TypeSessionStart,
					contract.TypeSessionEnd, contract.TypeScriptRun, contract.TypeSoftwarePush}
			case "teamviewer":
				claimed = []string{contract.TypeAuthLogin, contract.TypeAuthFailure, contract.TypeSessionStart, contract.TypeSessionEnd}
			case "entra-signin":
				claimed = []string{contract.TypeAuthLogin, contract.TypeAuthFailure}
			case "m365-audit":
				claimed = []string{contract.TypeAccountCreated, contract.TypeAccountChanged}
			case "datto-rmm":
				claimed = slices.Collect(maps.Keys(dattoRecordAction))
			case "ocsf":
				claimed = []string{contract.TypeAuthLogin, contract.TypeAuthFailure, contract.TypeAccountCreated,
					contract.TypeAccountChanged, contract.TypeScriptRun, contract.TypeSoftwareInstall}
			}
			for _, typ := range claimed {
				if expressed[typ] == 0 {
					t.Errorf("%s: no %s expressed", format, typ)
				}
			}
		})
	}
}

// checkLoss asserts that what rec lost or changed of ev is documented.
func checkLoss(t *testing.T, format string, ev, rec *contract.Event) {
	t.Helper()
	before, after := flatten(t, ev), flatten(t, rec)
	allowed := func(list []string, k string) bool {
		for _, p := range list {
			if k == p || strings.HasSuffix(p, ".") && strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
	for k, v := range before {
		if k == "event_id" || k == "time" {
			continue
		}
		if after[k] != v && !allowed(recordLoss[format], k) {
			t.Fatalf("%s: %s %s lost %s=%s (now %q)", format, ev.EventType, ev.Tool, k, v, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && !allowed(recordAdds[format], k) {
			t.Fatalf("%s: %s added %s=%s", format, ev.EventType, k, after[k])
		}
	}
	if !ev.Time.Equal(rec.Time) {
		t.Fatalf("time %v became %v", ev.Time, rec.Time)
	}
}

func flatten(t *testing.T, ev *contract.Event) map[string]string {
	t.Helper()
	b, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if o, ok := v.(map[string]any); ok {
			for k, x := range o {
				walk(prefix+k+".", x)
			}
			return
		}
		b, _ := json.Marshal(v)
		out[strings.TrimSuffix(prefix, ".")] = string(b)
	}
	walk("", m)
	return out
}
