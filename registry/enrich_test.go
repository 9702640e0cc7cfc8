package registry

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/fields"
)

var decodeNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func event(t testing.TB, doc string) *contract.Event {
	t.Helper()
	ev, err := (&contract.Decoder{Now: func() time.Time { return decodeNow }}).Decode([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return &ev
}

func exampleRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := Load("../deployments/registry.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ctx is a compact expectation: the context as JSON.
func contextJSON(c *contract.Context) string {
	if c == nil {
		return "null"
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// Enrichment of contract events against the example registry: every
// context field, and when each one is absent.
func TestContext(t *testing.T) {
	r := exampleRegistry(t)
	cases := []struct {
		name, event, want string
	}{
		{"approved tool, known technician, usual country, inside the Saturday window",
			// 2026-11-21 08:30Z is Saturday 02:30 in Chicago (CST).
			`{"event_type":"software.push","time":"2026-11-21T08:30:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"ninjaone","actor":{"user":"jdoe@northwind-msp.example","country":"US"},"target":{"host":"ACME-DC01"}}`,
			`{"msp_known":true,"tenant_contracted":true,"tool_approved":true,"actor_known":true,"actor_usual_country":true,"in_maintenance_window":true,"in_working_hours":false,"local_hour":2,"weekday":"sat","asset_tags":["critical"]}`},
		{"tenant-specific tool, technician abroad, weekday working hours",
			// Tuesday 15:00Z = 09:00 CST.
			`{"event_type":"session.start","time":"2026-11-24T15:00:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"screenconnect","actor":{"user":"JDoe@Northwind-MSP.example","country":"RO"},"target":{"host":"acme-sql-07","tags":["sql","critical"]}}`,
			`{"msp_known":true,"tenant_contracted":true,"tool_approved":true,"actor_known":true,"actor_usual_country":false,"in_maintenance_window":false,"in_working_hours":true,"local_hour":9,"weekday":"tue","asset_tags":["critical","sql"]}`},
		{"shadow tool, unknown actor, election asset in the tenant's own zone",
			// Tuesday 06:00Z = Monday 23:00 MST in Denver.
			`{"event_type":"session.start","time":"2026-11-24T06:00:00Z","msp":"northwind-msp","tenant":"hill-county-elections","tool":"anydesk","actor":{"user":"helpdesk7"},"target":{"host":"vote-tab-12"}}`,
			`{"msp_known":true,"tenant_contracted":true,"tool_approved":false,"actor_known":false,"in_maintenance_window":false,"in_working_hours":false,"local_hour":23,"weekday":"mon","asset_tags":["critical","election"]}`},
		{"tenant the MSP has no contract with: no zone, no windows",
			`{"event_type":"session.start","time":"2026-11-24T15:00:00Z","msp":"northwind-msp","tenant":"initech","tool":"ninjaone","actor":{"user":"jdoe@northwind-msp.example"}}`,
			`{"msp_known":true,"tenant_contracted":false,"actor_known":true}`},
		{"console login without tenant: the MSP's tools and zone",
			`{"event_type":"auth.login","time":"2026-11-24T15:00:00Z","msp":"northwind-msp","tool":"NinjaOne","actor":{"user":"noc-night@northwind-msp.example","country":"US"}}`,
			`{"msp_known":true,"tool_approved":true,"actor_known":true,"actor_on_shift":false,"in_working_hours":true,"local_hour":9,"weekday":"tue"}`},
		{"night NOC on its shift",
			// 2026-11-25 04:00Z = 22:00 CST.
			`{"event_type":"auth.login","time":"2026-11-25T04:00:00Z","msp":"northwind-msp","tool":"ninjaone","actor":{"user":"noc-night@northwind-msp.example"}}`,
			`{"msp_known":true,"tool_approved":true,"actor_known":true,"actor_on_shift":true,"in_working_hours":false,"local_hour":22,"weekday":"tue"}`},
		{"MSP not in the registry: only msp_known and the event's own tags",
			`{"event_type":"session.start","time":"2026-11-24T15:00:00Z","msp":"other-msp","tenant":"acme-corp","tool":"ninjaone","actor":{"user":"x"},"target":{"host":"h","tags":["critical"]}}`,
			`{"msp_known":false,"asset_tags":["critical"]}`},
		{"agent update without user: no actor fields; daily overnight window in Berlin",
			// 2026-11-24 22:30Z = 23:30 CET.
			`{"event_type":"agent.update","time":"2026-11-24T22:30:00Z","msp":"contoso-it","tenant":"fabrikam-gmbh","tool":"kaseya-vsa"}`,
			`{"msp_known":true,"tenant_contracted":true,"tool_approved":true,"in_maintenance_window":true,"local_hour":23,"weekday":"tue"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := event(t, c.event)
			got := r.Context(ev)
			if s := contextJSON(got); s != c.want {
				t.Errorf("context\n got  %s\n want %s", s, c.want)
			}
			// AppendJSON is what ingest writes: the same bytes as encoding/json.
			if got != nil {
				if b := string(got.AppendJSON(nil)); b != contextJSON(got) {
					t.Errorf("AppendJSON %s, encoding/json %s", b, contextJSON(got))
				}
			}
		})
	}
	if (*Registry)(nil).Context(event(t, cases[0].event)) != nil {
		t.Error("a nil registry must give no context")
	}
}

// A technician's documented hours are on the MSP's clock, whatever the
// tenant's zone: the night NOC at 03:00 is on shift, the day admin is not,
// and a technician without hours gets no answer.
func TestContextActorOnShift(t *testing.T) {
	r, err := Parse([]byte(`
msps:
  - id: m
    tz: America/Chicago
    technicians:
      - {user: noc, hours: [{days: [daily], from: "19:00", to: "07:00"}, {days: [weekend], from: "00:00", to: "24:00"}]}
      - {user: admin, hours: [{days: [weekdays], from: "07:00", to: "19:00"}]}
      - svc
    tenants:
      - {id: t, tz: Europe/Berlin}
`), "shift.yml")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-11-24 09:00Z is Tuesday 03:00 in Chicago (10:00 in Berlin).
	for user, want := range map[string]string{"noc": "true", "admin": "false", "svc": "absent", "stranger": "absent"} {
		ev := event(t, `{"event_type":"session.start","time":"2026-11-24T09:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"`+user+`"}}`)
		got := "absent"
		if c := r.Context(ev); c.ActorOnShift != nil {
			got = map[bool]string{true: "true", false: "false"}[*c.ActorOnShift]
		}
		if got != want {
			t.Errorf("%s: actor_on_shift %s, want %s", user, got, want)
		}
	}
}

// Rules read the enriched fields through Lookup, from the struct and after
// the round trip through the normalised JSON the detector decodes.
func TestContextLookupRoundTrip(t *testing.T) {
	r := exampleRegistry(t)
	ev := event(t, `{"event_id":"e1","event_type":"script.run","time":"2026-11-24T15:00:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"atera","actor":{"user":"jdoe@northwind-msp.example"},"target":{"host":"acme-dc01"}}`)
	doc, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	ev.Context = r.Context(ev)
	spliced := contract.WithContext(doc, ev.Context)
	full, _ := ev.MarshalJSON()
	if string(spliced) != string(full) {
		t.Fatalf("WithContext\n %s\nMarshalJSON\n %s", spliced, full)
	}
	back := event(t, string(spliced))
	for _, e := range []*contract.Event{ev, back} {
		if v := e.Lookup("context.tool_approved"); v.Kind != fields.Bool || v.Bool {
			t.Errorf("context.tool_approved = %+v, want false", v)
		}
		if v := e.Lookup("context.local_hour"); v.Kind != fields.Number || v.Num != 9 {
			t.Errorf("context.local_hour = %+v, want 9", v)
		}
		if v := e.Lookup("context.asset_tags"); v.Kind != fields.Strings || !reflect.DeepEqual(v.Strs, []string{"critical"}) {
			t.Errorf("context.asset_tags = %+v", v)
		}
		if v := e.Lookup("context.in_maintenance_window"); v.Kind != fields.Bool || v.Bool {
			t.Errorf("context.in_maintenance_window = %+v, want false", v)
		}
		if v := e.Lookup("context.actor_usual_country"); v.Kind != fields.Absent {
			t.Errorf("context.actor_usual_country = %+v, want absent (no actor.country)", v)
		}
	}
	bare := event(t, `{"event_type":"script.run","time":"2026-11-24T15:00:00Z","msp":"m","tenant":"t","tool":"atera","actor":{"user":"u"}}`)
	for _, p := range contract.ContextPaths {
		if v := bare.Lookup(p); v.Kind != fields.Absent {
			t.Errorf("%s on an event without context = %+v, want absent", p, v)
		}
	}
}

// The hot path allocates the Context only (and a merged tag list when both
// the registry and the event tag the target).
func TestContextAllocations(t *testing.T) {
	r := exampleRegistry(t)
	ev := event(t, `{"event_type":"software.push","time":"2026-11-21T08:30:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"ninjaone","actor":{"user":"JDoe@northwind-msp.example","country":"US"},"target":{"host":"acme-dc01"}}`)
	if n := testing.AllocsPerRun(200, func() { r.Context(ev) }); n != 1 {
		t.Errorf("%v allocations per event, want 1 (the context)", n)
	}
}

func BenchmarkContext(b *testing.B) {
	r := exampleRegistry(b)
	ev := event(b, `{"event_type":"software.push","time":"2026-11-21T08:30:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"ninjaone","actor":{"user":"jdoe@northwind-msp.example","country":"US"},"target":{"host":"acme-dc01"}}`)
	b.ReportAllocs()
	for b.Loop() {
		r.Context(ev)
	}
}

// BenchmarkContextAndSplice is what ingest adds per event: enrichment and
// writing the context into the normalised document.
func BenchmarkContextAndSplice(b *testing.B) {
	r := exampleRegistry(b)
	ev := event(b, `{"event_id":"e1","event_type":"software.push","time":"2026-11-21T08:30:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"ninjaone","actor":{"user":"jdoe@northwind-msp.example","country":"US"},"target":{"host":"acme-dc01"}}`)
	doc, _ := ev.MarshalJSON()
	b.ReportAllocs()
	for b.Loop() {
		contract.WithContext(doc, r.Context(ev))
	}
}

// A broken edit is rejected with its file:line and the previous registry
// stays in use; a fixed edit is picked up by polling, and SIGHUP reloads.
func TestWatcherKeepsPreviousOnBrokenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "registry.yml")
	write := func(s string) {
		t.Helper()
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	var logs strings.Builder
	reg := prometheus.NewRegistry()
	w, err := NewWatcher(WatchConfig{File: file, PollInterval: 10 * time.Millisecond, Log: zerolog.New(&logs), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	first := w.Registry()
	ev := event(t, `{"event_type":"session.start","time":"2026-11-24T15:00:00Z","msp":"msp-a","tenant":"initech","tool":"ninjaone","actor":{"user":"jdoe"}}`)
	if c := w.Context(ev); c.TenantContracted == nil || *c.TenantContracted {
		t.Fatalf("initech is not contracted yet: %s", contextJSON(c))
	}

	w.hup = make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	errorsTotal := func() float64 { return metricValue(w.reloads.WithLabelValues("error")) }
	successTotal := func() float64 { return metricValue(w.reloads.WithLabelValues("success")) }

	// Broken: a bad zone on line 5. The previous registry keeps serving.
	write(strings.Replace(good, "tz: America/Chicago\n    tools", "tz: America/Chikago\n    tools", 1))
	waitFor("the broken edit to be rejected", func() bool { return errorsTotal() == 1 })
	if w.Registry() != first {
		t.Fatal("a broken file replaced the registry")
	}
	if metricValue(w.lastReloadOK) != 0 {
		t.Error("tripline_registry_last_reload_success should be 0 after a rejected reload")
	}
	if !strings.Contains(logs.String(), "registry.yml:5:9: tz") {
		t.Errorf("the rejection log does not name file:line:col:\n%s", logs.String())
	}
	if c := w.Context(ev); c.TenantContracted == nil || *c.TenantContracted {
		t.Fatal("enrichment changed after a rejected reload")
	}
	time.Sleep(50 * time.Millisecond)
	if errorsTotal() != 1 {
		t.Errorf("the same broken file was retried %v times; want once until it changes", errorsTotal())
	}

	// Fixed, with a new tenant: picked up by polling.
	write(strings.Replace(good, "      - globex\n", "      - globex\n      - initech\n", 1))
	waitFor("the fixed edit to load", func() bool { return successTotal() == 1 })
	if c := w.Context(ev); c.TenantContracted == nil || !*c.TenantContracted {
		t.Fatalf("initech should be contracted now: %s", contextJSON(c))
	}
	if metricValue(w.lastReloadOK) != 1 || metricValue(w.tenants) != 3 {
		t.Error("metrics not updated after a good reload")
	}

	// SIGHUP reloads even when the file looks unchanged.
	w.hup <- syscall.SIGHUP
	waitFor("SIGHUP to reload", func() bool { return successTotal() == 2 })
}

// At start-up a broken registry is an error, not a silently empty policy.
func TestNewWatcherRejectsBrokenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.yml")
	if err := os.WriteFile(file, []byte("msps:\n  - id: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWatcher(WatchConfig{File: file, Log: zerolog.Nop()}); err == nil || !strings.Contains(err.Error(), "r.yml:2:5:") {
		t.Fatalf("err = %v, want a file:line:col error", err)
	}
	if _, err := NewWatcher(WatchConfig{File: filepath.Join(t.TempDir(), "missing.yml"), Log: zerolog.Nop()}); err == nil {
		t.Fatal("a missing registry file loaded")
	}
}

func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}
