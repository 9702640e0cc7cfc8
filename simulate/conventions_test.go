package simulate

import (
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// goldenDefault is the digest of goldenConfig's stream as the simulator
// wrote it before convention profiles existed (commit 601ee40): the zero
// Conventions must keep it byte for byte.
const goldenDefault = "83cf807618255138107b09a360e7d828c19207d7e792f93f7da49a9ddf55c216"

var goldenConfig = Config{Seed: 42, Start: monday, Events: 20000, Scenarios: []string{"kaseya-style", "stolen-credential", "brute-force"}}

func TestZeroConventionsByteIdentical(t *testing.T) {
	d := digest(t, goldenConfig)
	if got := hex.EncodeToString(d[:]); got != goldenDefault {
		t.Errorf("default stream digest %s, want %s: the zero Conventions changed the output", got, goldenDefault)
	}
}

func TestProfiles(t *testing.T) {
	ticketRE := map[string]*regexp.Regexp{
		"":           regexp.MustCompile(`^[A-Z]+-?[0-9]+$`),
		"servicenow": regexp.MustCompile(`^CHG[0-9]{7}$`),
		"jira":       regexp.MustCompile(`^ITOPS-[0-9]+$`),
	}
	profiles := Profiles()
	if len(profiles) < 5 || !slices.Equal(ProfileNames(), func() []string {
		var n []string
		for k := range profiles {
			n = append(n, k)
		}
		slices.Sort(n)
		return n
	}()) {
		t.Fatalf("profiles %v", ProfileNames())
	}
	if _, ok := profiles["default"]; !ok {
		t.Fatal("no default profile")
	}
	for _, name := range ProfileNames() {
		conv := profiles[name]
		t.Run(name, func(t *testing.T) {
			cfg := Config{Seed: 5, Start: monday, Duration: 40 * time.Hour, Scenarios: allScenarios(), ScenarioAt: 10 * time.Hour,
				ScenarioSpacing: 30 * time.Minute, Conventions: conv}
			recs, g := generate(t, cfg) // every event passes the contract
			if digest(t, cfg) != digest(t, cfg) {
				t.Fatal("not deterministic")
			}
			if name != "default" && digest(t, cfg) == digest(t, Config{Seed: 5, Start: monday, Duration: 40 * time.Hour, Scenarios: allScenarios(),
				ScenarioAt: 10 * time.Hour, ScenarioSpacing: 30 * time.Minute}) {
				t.Fatal("same stream as the default")
			}
			scen := map[string]bool{}
			var tickets, policies, nocLogins int
			for _, r := range recs {
				v := string(r.msg.Value)
				scen[r.msg.Scenario] = true
				for _, f := range conv.Omit {
					if strings.Contains(v, `"`+omittable[f]+`":`) {
						t.Fatalf("%s present: %s", f, v)
					}
				}
				if tk := r.ev.Change.Ticket; tk != "" {
					tickets++
					if re := ticketRE[conv.Tickets]; re == nil || !re.MatchString(tk) {
						t.Fatalf("ticket %q under Tickets %q", tk, conv.Tickets)
					}
				}
				if _, ok := r.ev.Attributes["policy"]; ok {
					policies++
				}
				if conv.UTCTimestamps && !strings.Contains(v, `Z","msp"`) {
					t.Fatalf("time not in UTC: %s", v)
				}
				if r.ev.Actor.Role == "noc" && r.ev.EventType == "auth.login" {
					nocLogins++
					if conv.FollowTheSun && r.ev.Actor.Country != "PH" && r.ev.Actor.Country != "IN" && r.ev.Actor.Country != "GB" {
						t.Fatalf("follow-the-sun NOC login from %s", r.ev.Actor.Country)
					}
				}
				if conv.ScheduledByAdmin && r.ev.EventType == "script.run" && r.ev.Actor.Role == "automation" {
					t.Fatalf("automation account under ScheduledByAdmin: %s", v)
				}
			}
			if (conv.Tickets == "none") != (tickets == 0) {
				t.Errorf("%d tickets under Tickets %q", tickets, conv.Tickets)
			}
			if conv.NoPolicyAttribute != (policies == 0) {
				t.Errorf("%d policy attributes, NoPolicyAttribute %v", policies, conv.NoPolicyAttribute)
			}
			for _, s := range allScenarios() {
				if !scen[s] {
					t.Errorf("%s not injected", s)
				}
			}
			reg := string(g.Registry())
			if conv.TenantZones && strings.Count(reg, "        tz: ") == 0 {
				t.Error("TenantZones: no tenant tz in the registry")
			}
			for i, m := range g.w.msps {
				if n := conv.tenants(i, 10); len(m.tenants) != n {
					t.Errorf("%s: %d tenants, want %d", m.id, len(m.tenants), n)
				}
				if len(conv.Tools) > 0 && toolSlugs[m.spec.rmm] != conv.Tools[i%len(conv.Tools)].RMM {
					t.Errorf("%s: rmm %s", m.id, toolSlugs[m.spec.rmm])
				}
				if conv.dayStaff(i) == 1 && (len(m.day) != 1 || len(m.noc) != 0) {
					t.Errorf("%s: %d day technicians, %d NOC, want a two-person shop", m.id, len(m.day), len(m.noc))
				}
			}
		})
	}
}

func TestConventionErrors(t *testing.T) {
	tests := []struct {
		name string
		conv Conventions
		want string
	}{
		{"tickets", Conventions{Tickets: "remedy"}, `Tickets "remedy"`},
		{"tool", Conventions{Tools: []ToolMix{{"kaseya-vsa", "logmein"}}}, "unknown tool"},
		{"tenants", Conventions{TenantCounts: []int{0}}, "TenantCounts"},
		{"staff", Conventions{DayStaff: []int{-1}}, "DayStaff"},
		{"omit", Conventions{Omit: []string{"actor.user"}}, `Omit "actor.user"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Start: monday, Conventions: tt.conv})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStripKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"actor":{"user":"a","country":"US","asn":7018}}`, `{"actor":{"user":"a"}}`},
		{`{"actor":{"country":"US","user":"a"}}`, `{"actor":{"user":"a"}}`},
		{`{"target":{"host_count":5},"outcome":"success"}`, `{"outcome":"success"}`},
		{`{"x":1,"target":{"host_count":5}}`, `{"x":1}`},
		{`{"package":{"name":"p","signer":"A \"B\" C","signed":true}}`, `{"package":{"name":"p","signed":true}}`},
		{`{"script":{"command":"echo {\"asn\":1}"}}`, `{"script":{"command":"echo {\"asn\":1}"}}`},
	}
	for _, tt := range tests {
		if got := string(stripKeys([]byte(tt.in), []string{"country", "asn", "signer", "host_count"})); got != tt.want {
			t.Errorf("stripKeys(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
