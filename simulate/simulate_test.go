package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
)

// monday is a Monday morning; the second Tuesday of November 2026 is the 10th.
var monday = time.Date(2026, 11, 9, 6, 0, 0, 0, time.UTC)

type rec struct {
	msg Message
	ev  contract.Event
}

func allScenarios() []string {
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// generate runs cfg to the end and decodes every message through the
// contract; any rejection fails the test.
func generate(t *testing.T, cfg Config) ([]rec, *Generator) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := cfg.Start.Add(90 * 24 * time.Hour)
	dec := contract.Decoder{Now: func() time.Time { return now }}
	var out []rec
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatalf("message %d rejected: %v\n%s", len(out), err, m.Value)
		}
		out = append(out, rec{m, ev})
	}
	return out, g
}

func TestContract(t *testing.T) {
	const n = 50000
	recs, _ := generate(t, Config{Seed: 7, Start: monday, Events: n, Scenarios: allScenarios()})
	if len(recs) != n {
		t.Fatalf("got %d events, want %d", len(recs), n)
	}
	ids := make(map[string]bool, n)
	scenarios := map[string]int{}
	for i, r := range recs {
		if i > 0 && r.ev.Time.Before(recs[i-1].ev.Time) {
			t.Fatalf("event %d at %s is before event %d at %s", i, r.ev.Time, i-1, recs[i-1].ev.Time)
		}
		if ids[r.ev.EventID] {
			t.Fatalf("duplicate event ID %s: %s", r.ev.EventID, r.msg.Value)
		}
		ids[r.ev.EventID] = true
		wantTopic := TopicRemoteSessions
		if r.ev.Family() == contract.FamilySoftwareUpdate {
			wantTopic = TopicSoftwareUpdates
		}
		if r.msg.Topic != wantTopic {
			t.Fatalf("%s on topic %s", r.ev.EventType, r.msg.Topic)
		}
		if string(r.msg.Key) != r.ev.MSP {
			t.Fatalf("key %q for msp %q", r.msg.Key, r.ev.MSP)
		}
		if bytes.IndexByte(r.msg.Value, '\n') >= 0 {
			t.Fatal("newline inside a message")
		}
		scenarios[r.msg.Scenario]++
	}
	for _, name := range allScenarios() {
		if scenarios[name] == 0 {
			t.Errorf("scenario %s produced no messages", name)
		}
	}
	if scenarios[""] < n*9/10 {
		t.Errorf("only %d benign events", scenarios[""])
	}
	t.Logf("span %s, events by scenario %v", recs[n-1].ev.Time.Sub(recs[0].ev.Time), scenarios)
}

func digest(t *testing.T, cfg Config) [32]byte {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		h.Write([]byte(m.Topic + "|" + string(m.Key) + "|" + m.Scenario + "|"))
		h.Write(m.Value)
		h.Write([]byte{'\n'})
	}
	return [32]byte(h.Sum(nil))
}

func TestDeterminism(t *testing.T) {
	base := Config{Seed: 42, Start: monday, Events: 20000, Scenarios: []string{"kaseya-style", "stolen-credential", "brute-force"}}
	other := base
	other.Seed = 43
	noScen := base
	noScen.Scenarios = nil
	bigger := base
	bigger.MSPs, bigger.TenantsPerMSP = 5, 30
	tests := []struct {
		name string
		a, b Config
		same bool
	}{
		{"same seed", base, base, true},
		{"same seed, no scenarios", noScen, noScen, true},
		{"same seed, bigger world", bigger, bigger, true},
		{"different seed", base, other, false},
		{"scenarios change the stream", base, noScen, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := digest(t, tt.a) == digest(t, tt.b); got != tt.same {
				t.Fatalf("identical = %v, want %v", got, tt.same)
			}
		})
	}
}

// baseline is what benign traffic shows about users, tools and packages.
type baseline struct {
	countries map[string]map[string]bool // user -> countries
	asns      map[string]map[int64]bool
	users     map[string]bool
	tools     map[string]map[string]bool // tenant -> tools
	pkgSHA    map[string]map[string]bool // name|version -> sha256s
}

func benignBaseline(recs []rec) baseline {
	b := baseline{map[string]map[string]bool{}, map[string]map[int64]bool{}, map[string]bool{}, map[string]map[string]bool{}, map[string]map[string]bool{}}
	for _, r := range recs {
		if r.msg.Scenario != "" {
			continue
		}
		e := &r.ev
		if u := e.Actor.User; u != "" {
			b.users[u] = true
			if e.Actor.Country != "" {
				if b.countries[u] == nil {
					b.countries[u] = map[string]bool{}
				}
				b.countries[u][e.Actor.Country] = true
			}
			if e.Actor.ASN != nil {
				if b.asns[u] == nil {
					b.asns[u] = map[int64]bool{}
				}
				b.asns[u][*e.Actor.ASN] = true
			}
		}
		if e.Tenant != "" {
			if b.tools[e.Tenant] == nil {
				b.tools[e.Tenant] = map[string]bool{}
			}
			b.tools[e.Tenant][e.Tool] = true
		}
		if e.Package.Name != "" {
			k := e.Package.Name + "|" + e.Package.Version
			if b.pkgSHA[k] == nil {
				b.pkgSHA[k] = map[string]bool{}
			}
			b.pkgSHA[k][e.Package.SHA256] = true
		}
	}
	return b
}

func distinctTenants(evs []contract.Event, within time.Duration, keep func(*contract.Event) bool) int {
	if len(evs) == 0 {
		return 0
	}
	seen := map[string]bool{}
	start := evs[0].Time
	for i := range evs {
		e := &evs[i]
		if e.Time.Sub(start) <= within && keep(e) {
			seen[e.Tenant] = true
		}
	}
	return len(seen)
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

func TestScenarios(t *testing.T) {
	const at = 26 * time.Hour // Tuesday 08:00 UTC
	tests := []struct {
		name    string
		tenants int
		check   func(t *testing.T, evs []contract.Event, b baseline)
	}{
		{"kaseya-style", 25, func(t *testing.T, evs []contract.Event, b baseline) {
			defender := func(e *contract.Event) bool {
				return e.EventType == "script.run" && strings.Contains(e.Script.Command, "Set-MpPreference -DisableRealtimeMonitoring $true") && e.Change.Ticket == ""
			}
			if n := distinctTenants(evs, 10*time.Minute, defender); n < 20 {
				t.Errorf("Defender-disabling script reached %d tenants within 10 minutes, want >= 20", n)
			}
			unsigned := func(e *contract.Event) bool {
				return e.EventType == "software.push" && isFalse(e.Package.Signed) && e.Package.Signer == "" && e.Change.Ticket == "" &&
					e.Target.HostCount != nil && *e.Target.HostCount >= 5 && len(b.pkgSHA[e.Package.Name+"|"+e.Package.Version]) == 0
			}
			if n := distinctTenants(evs, 10*time.Minute, unsigned); n < 20 {
				t.Errorf("unsigned push reached %d tenants within 10 minutes, want >= 20", n)
			}
			for _, e := range evs {
				if e.Tool != "kaseya-vsa" || (e.Actor.User != "" && e.Actor.User != "vsa-admin") {
					t.Fatalf("kaseya-style event via %s by %q", e.Tool, e.Actor.User)
				}
			}
		}},
		{"stolen-credential", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			login := evs[0]
			if login.EventType != "auth.login" || !isFalse(login.Actor.MFA) || login.Outcome != "success" {
				t.Fatalf("first event is not a successful login without MFA: %+v", login)
			}
			if !b.users[login.Actor.User] {
				t.Errorf("user %s is not a real technician", login.Actor.User)
			}
			if b.countries[login.Actor.User][login.Actor.Country] {
				t.Errorf("country %s was used by %s in benign traffic", login.Actor.Country, login.Actor.User)
			}
			if login.Actor.ASN == nil || b.asns[login.Actor.User][*login.Actor.ASN] {
				t.Errorf("ASN %v is not unusual for %s", login.Actor.ASN, login.Actor.User)
			}
			n := distinctTenants(evs, 30*time.Minute, func(e *contract.Event) bool { return e.EventType == "session.start" })
			if n < 10 {
				t.Errorf("sessions into %d tenants within 30 minutes, want >= 10", n)
			}
			if !slices.ContainsFunc(evs, func(e contract.Event) bool { return e.EventType == "credential.use" && isTrue(e.Credential.Privileged) }) {
				t.Error("no privileged credential use")
			}
		}},
		{"screenconnect-takeover", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			created := evs[0]
			if created.EventType != "account.created" || b.users[created.Actor.User] || created.Tool != "screenconnect" {
				t.Fatalf("first event is not a new screenconnect account: %+v", created)
			}
			var addUser bool
			for _, e := range evs {
				if e.Actor.User != created.Actor.User {
					t.Fatalf("event by %s, want %s", e.Actor.User, created.Actor.User)
				}
				if e.EventType == "script.run" && strings.Contains(e.Script.Command, "net user") && strings.Contains(e.Script.Command, "/add") &&
					e.Time.Sub(created.Time) <= time.Hour {
					addUser = true
				}
			}
			if !addUser {
				t.Error("no 'net user /add' within the hour")
			}
			if n := distinctTenants(evs, time.Hour, func(e *contract.Event) bool { return e.EventType == "session.start" }); n < 3 {
				t.Errorf("sessions into %d tenants, want >= 3", n)
			}
		}},
		{"tampered-update", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			var pushes int
			for _, e := range evs {
				k := e.Package.Name + "|" + e.Package.Version
				if len(b.pkgSHA[k]) == 0 {
					t.Fatalf("package %s never seen in benign traffic", k)
				}
				if b.pkgSHA[k][e.Package.SHA256] {
					t.Fatalf("package %s has its benign sha256", k)
				}
				if !isTrue(e.Package.Signed) || e.Package.Signer == "" {
					t.Fatalf("tampered package should look signed: %+v", e.Package)
				}
				if e.EventType == "software.push" {
					pushes++
					if e.Change.Ticket == "" {
						t.Error("tampered push without a ticket: it should look routine")
					}
				}
			}
			if pushes < 3 {
				t.Errorf("%d pushes, want >= 3", pushes)
			}
		}},
		{"shadow-rmm", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			var sessions int
			for _, e := range evs {
				if e.EventType == "session.start" {
					sessions++
					if b.tools[e.Tenant][e.Tool] {
						t.Errorf("tool %s was already used at %s", e.Tool, e.Tenant)
					}
				}
			}
			if sessions == 0 {
				t.Error("no sessions through the shadow tool")
			}
		}},
		{"brute-force", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			var failures int
			ip := evs[0].Actor.IP
			for i, e := range evs {
				if e.Actor.IP != ip {
					t.Fatalf("event from %s, want %s", e.Actor.IP, ip)
				}
				switch e.EventType {
				case "auth.failure":
					failures++
				case "auth.login":
					if failures < 30 || e.Time.Sub(evs[0].Time) > 20*time.Minute || e.Outcome != "success" {
						t.Errorf("login after %d failures at +%s (event %d)", failures, e.Time.Sub(evs[0].Time), i)
					}
				}
			}
		}},
		{"dormant-account", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			if evs[0].EventType != "auth.login" || b.users[evs[0].Actor.User] {
				t.Fatalf("first event is not a login by an account unseen in benign traffic: %+v", evs[0])
			}
			if n := distinctTenants(evs, 2*time.Hour, func(e *contract.Event) bool { return e.EventType == "session.start" }); n < 4 {
				t.Errorf("sessions into %d tenants, want 4", n)
			}
		}},
		{"cloud-hopper", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			login := evs[0]
			if login.EventType != "auth.login" || !isTrue(login.Actor.MFA) || !b.countries[login.Actor.User][login.Actor.Country] {
				t.Fatalf("first event should be an MFA login from the usual country: %+v", login)
			}
			if b.asns[login.Actor.User][*login.Actor.ASN] {
				t.Errorf("ASN %d is usual for %s", *login.Actor.ASN, login.Actor.User)
			}
			n := distinctTenants(evs, 4*time.Hour, func(e *contract.Event) bool {
				return e.EventType == "credential.use" && isTrue(e.Credential.Privileged)
			})
			if n < 8 {
				t.Errorf("privileged credential use at %d tenants, want 8", n)
			}
			if span := evs[len(evs)-1].Time.Sub(login.Time); span < 2*time.Hour {
				t.Errorf("spans %s, want low and slow (>= 2h)", span)
			}
		}},
		{"rogue-technician", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			login, created := evs[0], evs[1]
			if login.EventType != "auth.login" || !isTrue(login.Actor.MFA) || !b.users[login.Actor.User] {
				t.Fatalf("first event should be a known admin's MFA login: %+v", login)
			}
			newUser := created.Attributes["account"]
			if created.EventType != "account.created" || created.Actor.User != login.Actor.User || b.users[newUser] {
				t.Fatalf("second event should be the admin creating an unseen account: %+v", created)
			}
			var firstUse time.Time
			for _, e := range evs {
				if e.EventType == "session.start" && e.Actor.User == newUser && firstUse.IsZero() {
					firstUse = e.Time
				}
			}
			if gap := firstUse.Sub(created.Time); gap < time.Hour || gap > 2*time.Hour {
				t.Errorf("the new account's first session %s after its creation, want 1-2h", gap)
			}
			if n := distinctTenants(evs, 3*time.Hour, func(e *contract.Event) bool { return e.EventType == "session.start" }); n != 5 {
				t.Errorf("sessions into %d tenants, want 5", n)
			}
		}},
		{"mfa-removed", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			reset, login := evs[0], evs[1]
			if reset.EventType != "account.changed" || reset.Attributes["change"] != "mfa_reset" || !b.users[reset.Actor.User] {
				t.Fatalf("first event should be a known admin's MFA reset: %+v", reset)
			}
			if login.EventType != "auth.login" || !isFalse(login.Actor.MFA) || login.Actor.User != reset.Attributes["account"] {
				t.Fatalf("second event should be the reset account's login without MFA: %+v", login)
			}
			// Within 20 minutes of the login, 40 to 60 after the reset.
			if n := distinctTenants(evs, time.Hour+5*time.Minute, func(e *contract.Event) bool { return e.EventType == "software.push" && e.Change.Ticket == "" }); n != 6 {
				t.Errorf("unticketed pushes to %d tenants within an hour of the reset, want 6", n)
			}
		}},
		{"api-key-abuse", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			login := evs[0]
			if login.EventType != "auth.login" || login.Session.AuthMethod != "api_key" || login.Actor.Role != "service" || b.countries[login.Actor.User][login.Actor.Country] {
				t.Fatalf("first event should be an API-key login from a new country: %+v", login)
			}
			run := func(e *contract.Event) bool {
				return e.EventType == "script.run" && strings.Contains(e.Script.Command, "Invoke-WebRequest") && e.Actor.User == login.Actor.User
			}
			if n := distinctTenants(evs, 10*time.Minute, run); n != 8 {
				t.Errorf("download-and-execute at %d tenants within 10 minutes, want 8", n)
			}
		}},
		{"election-off-hours", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			var run *contract.Event
			for i := range evs {
				if evs[i].EventType == "script.run" {
					run = &evs[i]
				}
			}
			if run == nil || !b.users[run.Actor.User] || !slices.Contains(run.Target.Tags, "election") {
				t.Fatalf("want a script.run by a known technician on an election host: %+v", run)
			}
			if h := run.Time.Hour(); h != 3 { // the event's own (MSP = tenant) zone
				t.Errorf("script at %s, want about 03:10 local", run.Time)
			}
			if !strings.Contains(run.Script.Command, "-OutFile") || !isTrue(evs[0].Actor.MFA) {
				t.Errorf("want an MFA login and a download-and-execute: %+v", run.Script)
			}
		}},
		{"impossible-travel", 10, func(t *testing.T, evs []contract.Event, b baseline) {
			login := evs[0]
			if login.EventType != "auth.login" || !isTrue(login.Actor.MFA) || b.countries[login.Actor.User][login.Actor.Country] {
				t.Fatalf("first event should be an MFA login from a country the technician never uses: %+v", login)
			}
			if n := distinctTenants(evs, time.Hour, func(e *contract.Event) bool { return e.EventType == "session.start" }); n != 3 {
				t.Errorf("sessions into %d tenants, want 3", n)
			}
		}},
	}
	if len(tests) != len(scenarioDefs) {
		t.Errorf("%d scenarios tested, %d defined", len(tests), len(scenarioDefs))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Seed: 3, Start: monday, Events: 50000 * tt.tenants / 10, TenantsPerMSP: tt.tenants, Scenarios: []string{tt.name}, ScenarioAt: at}
			if tt.name == "election-off-hours" {
				cfg.Events = 80000 // it waits for 03:10 on the tenant's clock
			}
			recs, _ := generate(t, cfg)
			var evs []contract.Event
			for _, r := range recs {
				if r.msg.Scenario == tt.name {
					evs = append(evs, r.ev)
				} else if r.msg.Scenario != "" {
					t.Fatalf("message marked %q", r.msg.Scenario)
				}
			}
			if len(evs) == 0 {
				t.Fatal("no scenario messages")
			}
			want := monday.Add(at)
			switch tt.name {
			case "election-off-hours", "impossible-travel":
				// The first starts at the next 03:10 tenant time; the
				// second with the technician's own (benign) login.
				if d := evs[0].Time.Sub(want); d < 0 || d > 25*time.Hour {
					t.Errorf("first scenario event at %s, want within a day of %s", evs[0].Time, want)
				}
			default:
				if d := evs[0].Time.Sub(want); d < 0 || d > time.Second {
					t.Errorf("first scenario event at %s, want %s", evs[0].Time, want)
				}
			}
			if last := recs[len(recs)-1].ev.Time; !last.After(evs[len(evs)-1].Time) {
				t.Errorf("scenario cut off by the end of the stream")
			}
			tt.check(t, evs, benignBaseline(recs))
		})
	}
}

// forbidden are command fragments no benign script may contain.
var forbidden = []string{
	"Set-MpPreference", "Add-MpPreference", "DisableAntiSpyware", "sc stop WinDefend", "sc config WinDefend",
	" -enc ", " -e ", "-EncodedCommand", "vssadmin delete", "vssadmin.exe delete", "shadowcopy delete",
	"wevtutil cl", "wevtutil.exe cl", "Clear-EventLog", "bcdedit", "certutil", "-decode", "/add", "ntdsutil", "rar.exe",
}

func TestBenignTraffic(t *testing.T) {
	// Monday to Thursday: working days, nights and a Patch-Tuesday wave.
	recs, g := generate(t, Config{Seed: 11, Start: monday, Events: 120000, Scenarios: allScenarios()})
	declared := map[string][]string{}
	for _, m := range g.w.msps {
		for i, tc := range m.techs {
			if int16(i) != m.dormant {
				// Home countries, and those of business trips.
				declared[tc.user] = append(append([]string(nil), tc.countries...), tc.trips...)
			}
		}
	}
	var logins, waves int
	for _, r := range recs {
		if r.msg.Scenario != "" {
			continue
		}
		e := &r.ev
		if isFalse(e.Actor.MFA) {
			t.Fatalf("benign event with mfa false: %s", r.msg.Value)
		}
		if e.EventType == "auth.login" {
			logins++
			if !isTrue(e.Actor.MFA) || e.Outcome != "success" {
				t.Fatalf("benign login without MFA or failed: %s", r.msg.Value)
			}
		}
		if e.Actor.User != "" {
			countries, ok := declared[e.Actor.User]
			if !ok {
				t.Fatalf("benign event by unknown or dormant account %s", e.Actor.User)
			}
			if e.Actor.Country != "" && !slices.Contains(countries, e.Actor.Country) {
				t.Fatalf("benign event from %s, which %s never uses: %s", e.Actor.Country, e.Actor.User, r.msg.Value)
			}
			if strings.HasPrefix(e.Actor.IP, "192.0.2.") {
				t.Fatalf("benign event from an attacker address: %s", r.msg.Value)
			}
		}
		if e.Package.Name != "" && (!isTrue(e.Package.Signed) || e.Package.Signer == "") {
			t.Fatalf("benign unsigned package: %s", r.msg.Value)
		}
		for _, f := range forbidden {
			if strings.Contains(strings.ToLower(e.Script.Command), strings.ToLower(f)) {
				t.Fatalf("benign script contains %q: %s", f, r.msg.Value)
			}
		}
		// Only the nightly maintenance policy (a standard change) runs wide
		// without a ticket.
		if (e.EventType == "software.push" || e.EventType == "script.run") && e.Target.HostCount != nil && *e.Target.HostCount >= 20 && e.Change.Ticket == "" &&
			(e.Attributes["policy"] == "" || e.Actor.Role != "automation") {
			t.Fatalf("benign wide push without a ticket: %s", r.msg.Value)
		}
		if e.EventType == "software.push" && strings.Contains(e.Package.Name, "Cumulative Update") {
			waves++
		}
		if e.EventType == "agent.update" && !strings.HasPrefix(e.Source.URL, "https://") {
			t.Fatalf("agent update from %q", e.Source.URL)
		}
	}
	if logins == 0 {
		t.Error("no benign logins")
	}
	if want := len(g.w.msps) * len(g.w.msps[0].tenants); waves != want {
		t.Errorf("Patch-Tuesday wave pushed to %d tenants, want %d", waves, want)
	}
}

func TestPatchTuesdayWave(t *testing.T) {
	recs, g := generate(t, Config{Seed: 5, Start: time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC), Events: 40000})
	byMSP := map[string][]contract.Event{}
	for _, r := range recs {
		if r.ev.EventType == "software.push" && strings.Contains(r.ev.Package.Name, "Cumulative Update") {
			byMSP[r.ev.MSP] = append(byMSP[r.ev.MSP], r.ev)
		}
	}
	for _, m := range g.w.msps {
		pushes := byMSP[m.id]
		if len(pushes) != len(m.tenants) {
			t.Fatalf("%s: wave reached %d tenants, want %d", m.id, len(pushes), len(m.tenants))
		}
		local := pushes[0].Time.Add(time.Duration(m.tz) * time.Second)
		if local.Weekday() != time.Tuesday || local.Day() < 8 || local.Day() > 14 || local.Hour() != 19 {
			t.Errorf("%s: wave at local %s, want the second Tuesday at 19:00", m.id, local)
		}
		if span := pushes[len(pushes)-1].Time.Sub(pushes[0].Time); span > 10*time.Minute {
			t.Errorf("%s: wave took %s", m.id, span)
		}
		big := 0
		for _, p := range pushes {
			if p.Change.Ticket != pushes[0].Change.Ticket || p.Change.Ticket == "" || !isTrue(p.Package.Signed) || p.Package.Signer != "Microsoft Corporation" {
				t.Fatalf("%s: wave push not signed or not under one ticket: %+v", m.id, p)
			}
			if *p.Target.HostCount >= 25 {
				big++
			}
		}
		if big == 0 {
			t.Errorf("%s: no push reached 25 hosts", m.id)
		}
	}
}

func TestRhythm(t *testing.T) {
	// Saturday 00:00 UTC to well into the week: compare technician sessions
	// in northwind's (UTC-6) weekday working hours with its nights and weekend.
	recs, _ := generate(t, Config{Seed: 9, Start: time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC), Events: 150000, MSPs: 1})
	var work, off int
	var workH, offH = map[int64]bool{}, map[int64]bool{}
	for _, r := range recs {
		local := r.ev.Time.Add(-6 * time.Hour)
		h := local.Unix() / 3600
		wd, hr := local.Weekday(), local.Hour()
		isWork := wd >= time.Monday && wd <= time.Friday && hr >= 9 && hr < 17
		isOff := wd == time.Saturday || wd == time.Sunday || hr < 6 || hr >= 20
		if isWork {
			workH[h] = true
		} else if isOff {
			offH[h] = true
		}
		if r.ev.EventType != "session.start" {
			continue
		}
		if isWork {
			work++
		} else if isOff {
			off++
		}
	}
	if len(workH) < 8 || len(offH) < 8 {
		t.Fatalf("span too short: %d working hours, %d off hours", len(workH), len(offH))
	}
	perWork, perOff := float64(work)/float64(len(workH)), float64(off)/float64(len(offH))
	t.Logf("sessions per hour: working %.1f, off %.1f", perWork, perOff)
	if perWork < 5*perOff || perOff == 0 {
		t.Errorf("working hours %.1f sessions/h vs off hours %.1f: want a strong daily rhythm with a small night shift", perWork, perOff)
	}
}

func TestWorldSizes(t *testing.T) {
	tests := []struct {
		name          string
		msps, tenants int
	}{
		{"one tiny MSP", 1, 1},
		{"two MSPs, three tenants", 2, 3},
		{"more MSPs than profiles", 11, 4},
		{"big MSPs", 2, 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, g := generate(t, Config{Seed: 4, Start: monday, Events: 8000, MSPs: tt.msps, TenantsPerMSP: tt.tenants,
				Scenarios: allScenarios(), ScenarioAt: 2 * time.Hour})
			if len(g.w.msps) != tt.msps || len(g.w.msps[0].tenants) != tt.tenants {
				t.Fatalf("world has %d MSPs, %d tenants", len(g.w.msps), len(g.w.msps[0].tenants))
			}
			msps, tenants := map[string]bool{}, map[string]bool{}
			for _, r := range recs {
				msps[r.ev.MSP] = true
				if r.ev.Tenant != "" {
					tenants[r.ev.MSP+"/"+r.ev.Tenant] = true
				}
			}
			if len(msps) != tt.msps {
				t.Errorf("%d MSPs in the traffic, want %d", len(msps), tt.msps)
			}
			names := map[string]bool{}
			for k := range tenants {
				names[k[strings.IndexByte(k, '/')+1:]] = true
			}
			if len(names) != len(tenants) {
				t.Errorf("tenant names shared between MSPs")
			}
		})
	}
}

func TestDefaultScenarioAt(t *testing.T) {
	recs, _ := generate(t, Config{Seed: 1, Start: monday, Events: 30000, Scenarios: []string{"stolen-credential"}})
	first, last := recs[0].ev.Time, recs[len(recs)-1].ev.Time
	for _, r := range recs {
		if r.msg.Scenario != "" {
			frac := float64(r.ev.Time.Sub(first)) / float64(last.Sub(first))
			if frac < 0.4 || frac > 0.6 {
				t.Errorf("attack starts at %.2f of the span, want about the middle", frac)
			}
			return
		}
	}
	t.Fatal("no scenario messages")
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown scenario", Config{Start: monday, Scenarios: []string{"kaseya-style", "nope"}}, "kaseya-style, stolen-credential"},
		{"no start", Config{}, "Start is required"},
		{"negative", Config{Start: monday, Events: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestScenariosDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Scenarios() {
		if s.Description == "" || s.Mimics == "" {
			t.Errorf("%s: no description", s.Name)
		}
		if !bytes.Contains(doc, []byte(s.Name)) {
			t.Errorf("%s is not documented in doc.go", s.Name)
		}
	}
}

func TestWriteJSONL(t *testing.T) {
	g, err := New(Config{Seed: 2, Start: monday, Events: 1000, Scenarios: []string{"brute-force"}, ScenarioAt: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := WriteJSONL(context.Background(), &buf, g.Next, false)
	if err != nil || n != 1000 {
		t.Fatalf("wrote %d, %v", n, err)
	}
	if lines := bytes.Count(buf.Bytes(), []byte{'\n'}); lines != 1000 {
		t.Fatalf("%d lines", lines)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g, _ = New(Config{Seed: 2, Start: monday})
	if n, err := WriteJSONL(ctx, &buf, g.Next, false); !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("cancelled: wrote %d, %v", n, err)
	}
}

func TestPace(t *testing.T) {
	g, err := New(Config{Seed: 2, Start: monday})
	if err != nil {
		t.Fatal(err)
	}
	next := Pace(context.Background(), 500, g.Next)
	begin := time.Now()
	for range 50 {
		if _, ok := next(); !ok {
			t.Fatal("paced generator stopped")
		}
	}
	if el := time.Since(begin); el < 80*time.Millisecond {
		t.Errorf("50 events at 500/s took %s", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	next = Pace(ctx, 0.1, g.Next)
	next()
	cancel()
	if _, ok := next(); ok {
		t.Error("paced generator kept going after cancel")
	}
}

func BenchmarkGenerate(b *testing.B) {
	g, err := New(Config{Seed: 1, Start: monday, Scenarios: allScenarios()})
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		m, ok := g.Next()
		if !ok {
			b.Fatal("generator stopped")
		}
		bytes += int64(len(m.Value))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/event")
}

// TestScheduledBenignOperations checks the benign traffic that trips naive
// rules: emergency patches, agent rollouts, the nightly policy, business
// trips, onboarding a tenant and the night NOC, over a long span.
func TestScheduledBenignOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 18 days of traffic")
	}
	cfg := Config{Seed: 21, Start: monday, Duration: 18 * 24 * time.Hour, TenantsPerMSP: 8, OnboardAt: 4 * 24 * time.Hour}
	recs, g := generate(t, cfg)
	if last := recs[len(recs)-1].ev.Time; !last.Before(monday.Add(cfg.Duration)) || last.Before(monday.Add(cfg.Duration-time.Hour)) {
		t.Errorf("last event at %s, want just before Start+Duration", last)
	}
	catalogued := map[string]bool{}
	for _, c := range catalog {
		for _, v := range c.versions {
			catalogued[c.name+"|"+v] = true
		}
	}
	type key struct{ msp, what string }
	emergency := map[key]map[string]bool{} // msp, package|version -> tenants
	emergencyAt := map[key][]time.Time{}
	agentNew := map[key]int{}
	agentSpan := map[key][2]time.Time{}
	nightly := map[key]map[string]bool{}
	nightlySHA := map[string]bool{}
	firstAt := map[string]contract.Event{} // msp/tenant -> first event
	var tripLogins, nocNight int
	loginCountries := map[string][]contract.Event{}
	for _, r := range recs {
		e := r.ev
		if e.Tenant != "" {
			if _, ok := firstAt[e.MSP+"/"+e.Tenant]; !ok {
				firstAt[e.MSP+"/"+e.Tenant] = e
			}
		}
		switch e.EventType {
		case "software.push":
			k := e.Package.Name + "|" + e.Package.Version
			if !catalogued[k] && !strings.Contains(e.Package.Name, "Cumulative Update") && e.Tenant != "" {
				kk := key{e.MSP, k}
				if emergency[kk] == nil {
					emergency[kk] = map[string]bool{}
				}
				emergency[kk][e.Tenant] = true
				emergencyAt[kk] = append(emergencyAt[kk], e.Time)
				if !isTrue(e.Package.Signed) || e.Change.Ticket == "" {
					t.Fatalf("emergency patch not signed or not ticketed: %s", r.msg.Value)
				}
			}
		case "agent.update":
			if e.Actor.User != "" || !strings.HasPrefix(e.Source.URL, "https://") {
				t.Fatalf("agent update with an actor or not from the vendor: %s", r.msg.Value)
			}
			if !slices.ContainsFunc(tools[:], func(ti toolInfo) bool { return ti.agent == e.Package.Name && ti.version == e.Package.Version }) {
				kk := key{e.MSP, e.Package.Name + "|" + e.Package.Version}
				agentNew[kk]++
				sp := agentSpan[kk]
				if sp[0].IsZero() {
					sp[0] = e.Time
				}
				sp[1] = e.Time
				agentSpan[kk] = sp
				// The vendor's own download host (scheme, host and slash).
				vendor := tools[slices.Index(toolSlugs[:], e.Tool)].url
				vendor = vendor[:strings.IndexByte(vendor[len("https://"):], '/')+len("https://")+1]
				if !strings.HasPrefix(e.Source.URL, vendor) {
					t.Fatalf("agent %s %s from %s, not %s", e.Package.Name, e.Package.Version, e.Source.URL, vendor)
				}
			}
		case "script.run":
			if e.Attributes["policy"] == "Nightly Maintenance" && e.Target.HostCount != nil {
				day := e.Time.Format("2006-01-02")
				kk := key{e.MSP, day}
				if nightly[kk] == nil {
					nightly[kk] = map[string]bool{}
				}
				nightly[kk][e.Tenant] = true
				nightlySHA[e.Script.SHA256] = true
				if e.Actor.Role != "automation" || e.Change.Ticket != "" {
					t.Fatalf("nightly policy run: %s", r.msg.Value)
				}
			}
		case "auth.login":
			loginCountries[e.Actor.User] = append(loginCountries[e.Actor.User], e)
		case "session.start":
			if e.Actor.Role == "noc" {
				for _, m := range g.w.msps {
					if m.id == e.MSP {
						if _, h := localClock(e.Time.Unix() + m.tz); h < 6 || h >= 20 {
							nocNight++
						}
					}
				}
			}
		}
	}
	for _, m := range g.w.msps {
		var n int
		for k, tenants := range emergency {
			if k.msp != m.id {
				continue
			}
			n++
			if len(tenants) < len(m.tenants)-1 {
				t.Errorf("%s: emergency patch %s reached %d tenants", m.id, k.what, len(tenants))
			}
			at := emergencyAt[k]
			local := at[0].Add(time.Duration(m.tz) * time.Second)
			if h := local.Hour(); h < 20 || at[len(at)-1].Sub(at[0]) > 10*time.Minute {
				t.Errorf("%s: emergency patch at local %s over %s, want after hours within minutes", m.id, local, at[len(at)-1].Sub(at[0]))
			}
		}
		if n == 0 {
			t.Errorf("%s: no emergency patch in 18 days", m.id)
		}
		var rolled int
		for k, c := range agentNew {
			if k.msp == m.id {
				rolled++
				if sp := agentSpan[k]; c < 20 || sp[1].Sub(sp[0]) < 2*time.Hour {
					t.Errorf("%s: agent release %s reached %d hosts over %s, want a rollout over hours", m.id, k.what, c, sp[1].Sub(sp[0]))
				}
			}
		}
		if rolled == 0 {
			t.Errorf("%s: no agent rollout", m.id)
		}
		nights := 0
		for k, tenants := range nightly {
			if k.msp == m.id && len(tenants) >= len(m.tenants)-1 {
				nights++
			}
		}
		if nights < 16 {
			t.Errorf("%s: nightly policy on every tenant on %d nights, want about 18", m.id, nights)
		}
		// Onboarding: the last tenant appears after OnboardAt, by a known
		// technician.
		last := m.tenants[len(m.tenants)-1].name
		first, ok := firstAt[m.id+"/"+last]
		if !ok {
			t.Errorf("%s: tenant %s never onboarded", m.id, last)
		} else if first.Time.Before(monday.Add(cfg.OnboardAt)) {
			t.Errorf("%s: new tenant %s active at %s, before onboarding", m.id, last, first.Time)
		}
		for _, ti := range m.day {
			if len(m.techs[ti].trips) > 0 {
				tripLogins++
			}
		}
	}
	if len(nightlySHA) != 2 {
		t.Errorf("nightly policy ran %d different scripts, want the same two every night", len(nightlySHA))
	}
	if tripLogins == 0 {
		t.Error("no technician travelled")
	}
	if nocNight == 0 {
		t.Error("no NOC sessions at night")
	}
	// Travel with MFA, and never two countries within an hour.
	travelled := 0
	for user, logins := range loginCountries {
		for i, e := range logins {
			if !isTrue(e.Actor.MFA) {
				t.Fatalf("login without MFA: %+v", e)
			}
			for j := i - 1; j >= 0 && e.Time.Sub(logins[j].Time) < time.Hour; j-- {
				if logins[j].Actor.Country != e.Actor.Country {
					t.Fatalf("%s logged in from %s and %s within an hour", user, logins[j].Actor.Country, e.Actor.Country)
				}
			}
			if i > 0 && logins[i-1].Actor.Country != e.Actor.Country {
				travelled++
			}
		}
	}
	if travelled == 0 {
		t.Error("no technician changed country")
	}
}

func TestDurationAndSpacing(t *testing.T) {
	recs, _ := generate(t, Config{Seed: 8, Start: monday, Duration: 30 * time.Hour, Scenarios: []string{"brute-force", "dormant-account"},
		ScenarioAt: 2 * time.Hour, ScenarioSpacing: 10 * time.Hour})
	first := map[string]time.Time{}
	for _, r := range recs {
		if r.msg.Scenario != "" {
			if _, ok := first[r.msg.Scenario]; !ok {
				first[r.msg.Scenario] = r.ev.Time
			}
		}
	}
	if d := first["brute-force"].Sub(monday); d < 2*time.Hour || d > 2*time.Hour+time.Second {
		t.Errorf("brute-force at +%s, want +2h", d)
	}
	if d := first["dormant-account"].Sub(monday); d < 12*time.Hour || d > 12*time.Hour+time.Second {
		t.Errorf("dormant-account at +%s, want +12h", d)
	}
	if last := recs[len(recs)-1].ev.Time; !last.Before(monday.Add(30*time.Hour)) || last.Before(monday.Add(29*time.Hour)) {
		t.Errorf("last event at %s", last)
	}
}
