package simulate

import (
	"bytes"
	"testing"
	"time"

	"github.com/tripline/tripline/registry"
)

// The exported registry is valid, the same for the same world, and
// documents what the benign traffic does: every benign event is for a
// contracted tenant, through an approved tool, by a known technician; no
// session reaches a critical or election host off hours unless its actor
// is on shift; no unticketed wide script or push falls outside a
// maintenance window unless a standing policy ran it. Attacks still stand
// out where that is their point.
func TestRegistryDocumentsBenignPractice(t *testing.T) {
	cfg := Config{Seed: 3, Start: monday, Duration: 4 * 24 * time.Hour, MSPs: 3, TenantsPerMSP: 12,
		OnboardAt: 24 * time.Hour, Scenarios: []string{"shadow-rmm", "dormant-account", "screenconnect-takeover"},
		ScenarioAt: 50 * time.Hour, ScenarioSpacing: 6 * time.Hour}
	if testing.Short() {
		cfg.Duration, cfg.ScenarioAt, cfg.ScenarioSpacing = 36*time.Hour, 26*time.Hour, 2*time.Hour
	}
	recs, g := generate(t, cfg)
	doc := g.Registry()
	reg, err := registry.Parse(doc, "simulated.yml")
	if err != nil {
		t.Fatalf("the exported registry does not parse:\n%v\n%s", err, doc)
	}
	if reg.MSPs() != cfg.MSPs || reg.Tenants() != cfg.MSPs*cfg.TenantsPerMSP {
		t.Errorf("registry has %d MSPs and %d tenants, want %d and %d", reg.MSPs(), reg.Tenants(), cfg.MSPs, cfg.MSPs*cfg.TenantsPerMSP)
	}
	// Deterministic, and a property of the world, not of the run.
	g2, _ := New(Config{Seed: cfg.Seed, Start: monday.Add(1000 * time.Hour), MSPs: cfg.MSPs, TenantsPerMSP: cfg.TenantsPerMSP})
	if !bytes.Equal(doc, g2.Registry()) {
		t.Error("the registry differs for the same seed and world")
	}
	g3, _ := New(Config{Seed: cfg.Seed + 1, Start: monday, MSPs: cfg.MSPs, TenantsPerMSP: cfg.TenantsPerMSP})
	if bytes.Equal(doc, g3.Registry()) {
		t.Error("another seed gives the same registry")
	}

	flagged := map[string]map[string]int{} // scenario ("" benign) -> finding -> events
	note := func(sc, what string) {
		if flagged[sc] == nil {
			flagged[sc] = map[string]int{}
		}
		flagged[sc][what]++
	}
	for _, r := range recs {
		ev := r.ev
		c := reg.Context(&ev)
		sc := r.msg.Scenario
		if c.MSPKnown == nil || !*c.MSPKnown {
			note(sc, "unknown msp")
		}
		if c.TenantContracted != nil && !*c.TenantContracted {
			note(sc, "uncontracted tenant")
		}
		if c.ToolApproved != nil && !*c.ToolApproved && ev.Tenant != "" {
			note(sc, "unapproved tool")
		}
		if c.ActorKnown != nil && !*c.ActorKnown {
			note(sc, "unknown actor")
		}
		offHours := c.InWorkingHours != nil && !*c.InWorkingHours && (c.ActorOnShift == nil || !*c.ActorOnShift)
		critical := false
		for _, tag := range c.AssetTags {
			critical = critical || tag == "critical" || tag == "election"
		}
		if ev.EventType == "session.start" && critical && offHours && ev.Change.Ticket == "" && !*c.InMaintenanceWindow {
			note(sc, "critical session off shift")
		}
		wide := ev.EventType == "software.push" || ev.EventType == "script.run" && ev.Target.HostCount != nil && *ev.Target.HostCount > 5
		if wide && !*c.InMaintenanceWindow && ev.Change.Ticket == "" && ev.Attributes["policy"] == "" {
			note(sc, "unticketed push outside the window")
		}
	}
	if len(flagged[""]) > 0 {
		t.Errorf("benign traffic contradicts the registry: %v", flagged[""])
	}
	for sc, want := range map[string]string{"shadow-rmm": "unapproved tool", "dormant-account": "unknown actor", "screenconnect-takeover": "unknown actor"} {
		if flagged[sc][want] == 0 {
			t.Errorf("%s: no %s against the registry (%v)", sc, want, flagged[sc])
		}
	}
	t.Logf("attack events standing out against the registry: %v", flagged)
}
