package adapt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tripline/tripline/contract"
)

// exampleMapping is the mapping docs/sources.md documents.
const exampleMapping = "../docs/mappings/kaseya-vsa.yaml"

func loadExample(t testing.TB) *Mapping {
	t.Helper()
	m, err := LoadMapping(exampleMapping)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMappingGolden converts Kaseya VSA agent procedure records (the Data
// Warehouse API's documented AgentProcedureStatuses shape, a REST
// envelope, and error cases) with the documented example mapping.
func TestMappingGolden(t *testing.T) {
	golden(t, loadExample(t), "kaseya-vsa")
}

// TestMappingEvent checks the example's first record field by field (the
// golden file could be regenerated wrong; this cannot).
func TestMappingEvent(t *testing.T) {
	m := loadExample(t)
	rec := `{"AgentId":"118551706373495","PartitionId":"1","ProcedureName":"Baseline Application Audit","ProcedureId":2007,` +
		`"LastExecutionDateTime":"2026-11-08T00:30:53.087-08:00","LastExecutionStatus":"Script Summary: Success THEN","ActionUser":"tech.jane"}`
	var evs []*contract.Event
	if err := m.Convert([]byte(rec), testMSP, func(o Out) error {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		evs = append(evs, Keep(o.Event))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	for _, c := range []struct{ field, got, want string }{
		{"event_id", ev.EventID, vendorEventID("kaseya-vsa", testMSP, "kaseya-vsa:118551706373495/2007/2026-11-08T00:30:53.087-08:00")},
		{"attributes.kaseya-vsa.record_id", ev.Attributes["kaseya-vsa.record_id"], "118551706373495/2007/2026-11-08T00:30:53.087-08:00"},
		{"event_type", ev.EventType, contract.TypeScriptRun},
		{"time", ev.Time.UTC().Format("2006-01-02T15:04:05.000Z"), "2026-11-08T08:30:53.087Z"},
		{"msp", ev.MSP, testMSP},
		{"tenant", ev.Tenant, "kaseya-vsa:agent:118551706373495"},
		{"tool", ev.Tool, "kaseya-vsa"},
		{"actor.user", ev.Actor.User, "tech.jane"},
		{"script.name", ev.Script.Name, "Baseline Application Audit"},
		{"script.interpreter", ev.Script.Interpreter, "kaseya-agent-procedure"},
		{"outcome", ev.Outcome, "success"},
		{"attributes.procedure_id", ev.Attributes["procedure_id"], "2007"},
		// Unread vendor fields are kept; read ones are not.
		{"attributes.PartitionId", ev.Attributes["PartitionId"], "1"},
		{"attributes.ActionUser", ev.Attributes["ActionUser"], ""},
		{"attributes.AgentId", ev.Attributes["AgentId"], ""},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if ev.Target.HostCount == nil || *ev.Target.HostCount != 1 {
		t.Errorf("target.host_count = %v, want 1", ev.Target.HostCount)
	}
}

// TestMappingFileErrors: every mistake in a mapping file is reported at
// its file:line, all of them at once.
func TestMappingFileErrors(t *testing.T) {
	base := "format: acme\ntime: {path: ts}\nrules:\n  - type: script.run\n"
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top key", base + "colour: red\n", []string{"m.yaml:5:1: mapping: unknown key \"colour\""}},
		{"unknown rule key", "format: acme\ntime: {path: ts}\nrules:\n  - type: script.run\n    wehn: {path: a, equals: b}\n", []string{"m.yaml:5:5: rule: unknown key \"wehn\""}},
		{"bad event type", "format: acme\ntime: {path: ts}\nrules:\n  - type: script.runn\n", []string{"m.yaml:4:11: event_type: \"script.runn\" is not a contract v1 event type"}},
		{"bad table value", "format: acme\ntime: {path: ts}\nrules:\n  - type: {path: t, values: {Login: auth.logn}}\n", []string{"m.yaml:4:37: event_type: \"auth.logn\""}},
		{"bad outcome", base + "    fields:\n      outcome: ok\n", []string{"m.yaml:6:16: outcome: \"ok\" is neither success nor failure"}},
		{"unknown field", base + "    fields:\n      actor.name: {path: u}\n", []string{"m.yaml:6:7: fields: \"actor.name\" is not a contract field"}},
		{"builtin name", "format: ninjaone\ntime: {path: ts}\nrules:\n  - type: script.run\n", []string{"m.yaml:1:9: format: \"ninjaone\" is a built-in format"}},
		{"no format no rules", "time: {path: ts}\n", []string{"m.yaml:1:1: format: required", "m.yaml:1:1: rules: required"}},
		{"zone needed", "format: acme\ntime: {path: ts, layouts: [\"2006-01-02 15:04:05\"]}\nrules:\n  - type: script.run\n", []string{"m.yaml:2:27: time.zone: required"}},
		{"bad zone", "format: acme\ntime: {path: ts, zone: Mars/Olympus}\nrules:\n  - type: script.run\n", []string{"m.yaml:2:24: time.zone: \"Mars/Olympus\""}},
		{"two ops", base + "  - when: {path: a, equals: x, prefix: y}\n    skip: s\n", []string{"m.yaml:5:11: when: exactly one of"}},
		{"skip with type", base + "  - skip: s\n    type: auth.login\n", []string{"m.yaml:5:5: rule: skip excludes type"}},
		{"template without path", base + "    fields:\n      tenant: {template: acme}\n", []string{"m.yaml:6:26: tenant.template: no {path}"}},
		{"bad unmatched", base + "unmatched: drop\n", []string{"m.yaml:5:12: unmatched: \"drop\""}},
		{"yaml syntax", "format: [acme\n", []string{"m.yaml:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseMapping([]byte(c.yaml), "m.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// TestMappingRecords: how a mapping reads records, table-driven over a
// small file exercising every kind of source.
func TestMappingRecords(t *testing.T) {
	const file = `
format: acme-rmm
records: items
id: evt.id
time: {path: evt.at, layouts: [epoch_millis, "2006-01-02 15:04:05"], zone: Europe/Berlin}
fields:
  tenant: {template: "acme:client:{client.id}"}
  actor.user: {path: who.login}
rules:
  - when: {path: kind, equals: heartbeat}
    skip: agent heartbeat
  - when: [{path: kind, prefix: "login"}, {path: who.login, present: true}]
    type: {path: result, values: {ok: auth.login, denied: auth.failure}}
    fields:
      actor.ip: {path: who.ip}
      actor.mfa: {path: who.mfa}
  - when: {path: kind, equals: [session, remote]}
    type: session.start
    fields:
      session.id: {path: sid, required: true}
unmatched: skip
`
	m, err := ParseMapping([]byte(file), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, rec string
		// want is the event's JSON fields that must appear, or the skip or
		// error text.
		want []string
		skip string
		err  string
	}{
		{"login ok, epoch ms", `{"evt":{"id":"e1","at":1763600000123},"kind":"Login.Web","result":"OK","who":{"login":"jane","ip":"203.0.113.9","mfa":true,"dept":"ops"},"client":{"id":"42"}}`,
			[]string{`"event_id":"` + vendorEventID("acme-rmm", "msp-northwind", "e1") + `"`, `"acme-rmm.record_id":"e1"`, `"event_type":"auth.login"`, `"time":"2025-11-20T00:53:20.123Z"`, `"tenant":"acme:client:42"`, `"user":"jane"`, `"ip":"203.0.113.9"`, `"mfa":true`, `"who.dept":"ops"`, `"tool":"acme-rmm"`}, "", ""},
		{"login denied, local layout", `{"evt":{"id":"e2","at":"2026-07-01 12:00:00"},"kind":"login","result":"denied","who":{"login":"jane"}}`,
			[]string{`"event_type":"auth.failure"`, `"time":"2026-07-01T12:00:00+02:00"`}, "", ""},
		{"value not in table", `{"evt":{"id":"e3","at":1763600000000},"kind":"login","result":"maybe","who":{"login":"jane"}}`,
			nil, "", `event_type: unmapped vendor type: "maybe" is not in the value table of result`},
		{"heartbeat skipped", `{"evt":{"id":"e4","at":1763600000000},"kind":"HEARTBEAT"}`, nil, "agent heartbeat", ""},
		{"unmatched skipped", `{"evt":{"id":"e5","at":1763600000000},"kind":"patch"}`, nil, "no rule of the mapping matches", ""},
		{"session", `{"evt":{"id":"e6","at":1763600000000},"kind":"remote","sid":"s-9","who":{"login":"bob"},"client":{"id":"7"}}`,
			[]string{`"event_type":"session.start"`, `"session":{"id":"s-9"}`, `"tenant":"acme:client:7"`}, "", ""},
		{"required missing", `{"evt":{"id":"e7","at":1763600000000},"kind":"session","who":{"login":"bob"},"client":{"id":"7"}}`,
			nil, "", "session.id: required, sid is absent or empty"},
		{"no id", `{"evt":{"at":1763600000000},"kind":"session","sid":"s","who":{"login":"bob"},"client":{"id":"7"}}`,
			nil, "", "no id (evt.id)"},
		{"bad time", `{"evt":{"id":"e8","at":"yesterday"},"kind":"session","sid":"s","who":{"login":"bob"},"client":{"id":"7"}}`,
			nil, "", `evt.at: time "yesterday" matches none of the mapping's layouts`},
		{"path through a string", `{"evt":{"id":"e9","at":1763600000000},"kind":"session","sid":"s","who":"bob","client":{"id":"7"}}`,
			nil, "", "who.login: who is a string, not an object"},
		{"no tenant for a session", `{"evt":{"id":"e10","at":1763600000000},"kind":"session","sid":"s","who":{"login":"bob"}}`,
			nil, "", "no tenant (client) for session.start"},
		{"bad mfa", `{"evt":{"id":"e11","at":1763600000000},"kind":"login","result":"ok","who":{"login":"jane","mfa":"perhaps"}}`,
			nil, "", `actor.mfa: "perhaps" is not a boolean`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var outs []Out
			if err := m.Convert([]byte(c.rec), testMSP, func(o Out) error {
				if o.Event != nil {
					o.Event = Keep(o.Event) // the arena's until emit returns
				}
				outs = append(outs, o)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 {
				t.Fatalf("%d results", len(outs))
			}
			o := outs[0]
			switch {
			case c.err != "":
				if o.Err == nil || !strings.Contains(o.Err.Error(), c.err) {
					t.Fatalf("got %+v, want error %q", o, c.err)
				}
			case c.skip != "":
				if o.Skip != c.skip {
					t.Fatalf("got %+v, want skip %q", o, c.skip)
				}
			default:
				if o.Event == nil {
					t.Fatalf("got %+v, want an event", o)
				}
				doc, err := Encode(o.Event)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := (&contract.Decoder{}).Decode(doc); err != nil {
					t.Fatalf("event does not decode: %v\n%s", err, doc)
				}
				for _, w := range c.want {
					if !bytes.Contains(doc, []byte(w)) {
						t.Errorf("event %s lacks %s", doc, w)
					}
				}
			}
		})
	}
}

// TestFormats: mapping files join the built-in formats; a name cannot be
// taken twice.
func TestFormats(t *testing.T) {
	f, err := LoadFormats(exampleMapping)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := f.Get("kaseya-vsa"); !ok || a.Name() != "kaseya-vsa" {
		t.Fatal("kaseya-vsa not found")
	}
	if _, ok := f.Get("ninjaone"); !ok {
		t.Fatal("built-in ninjaone not found")
	}
	if got := f.String(); !strings.Contains(got, "kaseya-vsa") || !strings.Contains(got, "datto-rmm") {
		t.Fatalf("names %q", got)
	}
	var none *Formats
	if _, ok := none.Get("kaseya-vsa"); ok {
		t.Fatal("nil Formats has a mapping")
	}
	if _, err := LoadFormats(exampleMapping, exampleMapping); err == nil || !strings.Contains(err.Error(), `format "kaseya-vsa" is already defined by ../docs/mappings/kaseya-vsa.yaml`) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := LoadFormats("testdata/none.yaml"); err == nil {
		t.Fatal("missing file loaded")
	}
}
