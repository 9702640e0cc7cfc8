package adapt

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/contract"
)

// pathMapping reads what vendors nest: Entra's authenticationDetails array
// by position, an N-central/Kaseya-style details blob (JSON in a string),
// and an array inside such a blob, in paths, conditions and templates.
const pathMapping = `
format: nested-rmm
records: items
id: id
time: {path: at}
fields:
  tenant: {template: "nested:client:{details@json.client.ids[0]}"}
  actor.user: {path: userPrincipalName}
rules:
  - when: {path: "details@json.kind", equals: script}
    type: script.run
    fields:
      script.name: {path: "details@json.script.name", required: true}
      script.command: {path: "details@json.script.lines[1]"}
      target.host: {path: "details@json.targets[0].name"}
  - when: {path: "authenticationDetails[0].succeeded", equals: "true"}
    type: auth.login
    fields:
      session.auth_method: {path: "authenticationDetails[1].authenticationMethod"}
      actor.mfa: {path: "authenticationDetails[1].succeeded"}
  - when: {path: "authenticationDetails[0].succeeded", equals: "false"}
    type: auth.failure
    fields:
      reason: {path: "authenticationDetails[0].authenticationStepResultDetail", required: true}
      actor.ip: {path: "matrix[1][0]"}
  # Conditions that cannot read their path do not hold; fields say why.
  - when: {path: mode, equals: probe}
    type: script.run
    fields:
      script.name: {path: "details@json.name"}
      script.command: {path: "authenticationDetails[0].x"}
`

func TestMappingPaths(t *testing.T) {
	m, err := ParseMapping([]byte(pathMapping), "nested.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const at = `"at":"2026-11-20T10:00:00Z","userPrincipalName":"jdoe@northwind-msp.com"`
	details := `{\"kind\":\"script\",\"client\":{\"ids\":[\"c-17\",\"c-18\"]},\"script\":{\"name\":\"Cleanup\",\"lines\":[\"@echo off\",\"del /q C:\\\\tmp\\\\*\"]},\"targets\":[{\"name\":\"ws-001\"}]}`
	for _, c := range []struct {
		name, record string
		check        func(t *testing.T, ev *contract.Event)
		wantErr      string
	}{
		{"JSON in a string, arrays inside it", `{"id":"1",` + at + `,"details":"` + details + `"}`, func(t *testing.T, ev *contract.Event) {
			if ev.EventType != contract.TypeScriptRun || ev.Script.Name != "Cleanup" || ev.Script.Command != `del /q C:\tmp\*` ||
				ev.Target.Host != "ws-001" || ev.Tenant != "nested:client:c-17" {
				t.Errorf("event %+v", ev)
			}
			// What a path read through a JSON string stays in attributes.
			if !strings.Contains(ev.Attributes["details"], `"kind":"script"`) {
				t.Errorf("details not kept: %v", ev.Attributes)
			}
		}, ""},
		{"array by position", `{"id":"2",` + at + `,"authenticationDetails":[{"succeeded":true,"authenticationMethod":"Password"},{"succeeded":true,"authenticationMethod":"Mobile app notification"}]}`, func(t *testing.T, ev *contract.Event) {
			if ev.EventType != contract.TypeAuthLogin || ev.Session.AuthMethod != "Mobile app notification" || ev.Actor.MFA == nil || !*ev.Actor.MFA {
				t.Errorf("event %+v", ev)
			}
		}, ""},
		{"array of arrays", `{"id":"3",` + at + `,"authenticationDetails":[{"succeeded":false,"authenticationStepResultDetail":"Invalid password"}],"matrix":[[1],["203.0.113.7"]]}`, func(t *testing.T, ev *contract.Event) {
			if ev.EventType != contract.TypeAuthFailure || ev.Reason != "Invalid password" || ev.Actor.IP != "203.0.113.7" {
				t.Errorf("event %+v", ev)
			}
		}, ""},
		{"position past the end is absent", `{"id":"4",` + at + `,"authenticationDetails":[{"succeeded":false}]}`, nil, "reason: required"},
		{"JSON string that is not JSON", `{"id":"5","mode":"probe",` + at + `,"details":"kind=script"}`, nil, "details does not hold JSON"},
		{"JSON path through a non-string", `{"id":"6","mode":"probe",` + at + `,"details":{"kind":"script"}}`, nil, "not a string holding JSON"},
		{"index into a non-array", `{"id":"7","mode":"probe",` + at + `,"authenticationDetails":{"succeeded":false}}`, nil, "not an array"},
		{"embedded document too big", `{"id":"8","mode":"probe",` + at + `,"details":"{\"kind\":\"` + strings.Repeat("x", MaxEmbeddedJSONBytes) + `\"}"}`, nil, "at most 65536"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var evs []*contract.Event
			var errs []error
			if err := m.Convert([]byte(c.record), testMSP, func(o Out) error {
				if o.Err != nil {
					errs = append(errs, o.Err)
				}
				if o.Event != nil {
					evs = append(evs, Keep(o.Event))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if c.wantErr != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.wantErr) {
					t.Fatalf("errors %v, want one containing %q (events %d)", errs, c.wantErr, len(evs))
				}
				return
			}
			if len(errs) != 0 || len(evs) != 1 {
				t.Fatalf("errors %v, %d events", errs, len(evs))
			}
			c.check(t, evs[0])
		})
	}
}

// TestMappingPathErrors: a malformed or unbounded path is an error at its
// file:line:col when the file is loaded.
func TestMappingPathErrors(t *testing.T) {
	base := "format: acme\ntime: {path: ts}\nrules:\n  - type: script.run\n    fields:\n      script.name: {path: %s}\n"
	for _, c := range []struct{ path, want string }{
		{`"a..b"`, "empty field name"},
		{`"a[1"`, "unclosed ["},
		{`"a[-1]"`, "not an array position"},
		{`"a[10000]"`, "not an array position"},
		{`"a[x]"`, "not an array position"},
		{`"a@jsn.b"`, "want @json or [N]"},
		{`"a@json.b@json.c@json.d"`, "3 @json segments, at most 2"},
		{`"` + strings.Repeat("a.", 16) + `a"`, "17 segments, at most 16"},
	} {
		t.Run(c.path, func(t *testing.T) {
			_, err := ParseMapping([]byte(strings.Replace(base, "%s", c.path, 1)), "m.yaml")
			if err == nil || !strings.Contains(err.Error(), "m.yaml:6:") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want m.yaml:6: ... %q", err, c.want)
			}
		})
	}
	// In a template too.
	_, err := ParseMapping([]byte("format: acme\ntime: {path: ts}\nrules:\n  - type: script.run\n    fields:\n      tenant: {template: \"x:{a[}\"}\n"), "m.yaml")
	if err == nil || !strings.Contains(err.Error(), "m.yaml:6:") {
		t.Fatalf("template error %v", err)
	}
}

// FuzzMappingPaths fuzzes records read by a mapping whose paths go through
// arrays and JSON strings: no panic, one result per record, every event
// decodes.
func FuzzMappingPaths(f *testing.F) {
	m, err := ParseMapping([]byte(pathMapping), "nested.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"id":"1","at":"2026-11-20T10:00:00Z","details":"{\"kind\":\"script\",\"script\":{\"name\":\"n\",\"lines\":[\"a\",\"b\"]},\"client\":{\"ids\":[\"c\"]}}"}`,
		`{"id":"2","at":"2026-11-20T10:00:00Z","authenticationDetails":[{"succeeded":true},{"succeeded":"true","authenticationMethod":"FIDO2"}]}`,
		`{"id":"3","at":"2026-11-20T10:00:00Z","authenticationDetails":[{"succeeded":false,"authenticationStepResultDetail":"x"}],"matrix":[[],["::1"]]}`,
		`{"items":[{"id":"4","at":"2026-11-20T10:00:00Z","details":"\"[[[[\""}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var dec contract.Decoder
		_ = m.Convert(raw, testMSP, func(o Out) error {
			n := 0
			for _, set := range []bool{o.Event != nil, o.Skip != "", o.Err != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("result %+v has %d of Event, Skip, Err", o, n)
			}
			checkEvent(t, &dec, m.Name(), o)
			return nil
		})
	})
}
