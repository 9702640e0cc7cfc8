package alert

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
)

// toolEvent is ev with a tool (the tenant+tool entity needs one).
func toolEvent(e ev, tool string) fields.Source {
	c := e.source()
	c.Tool = tool
	return c
}

// TestIncidentsJoinThroughSharedEntities: a push by one actor, installs of
// another hash with no actor on the same tenants through the same tool, a
// login of the actor, and an unrelated alert elsewhere. Whatever the
// order, the first three are one incident and the last its own; the
// alerts that moved were written again and the incidents that merged away
// once more, empty.
func TestIncidentsJoinThroughSharedEntities(t *testing.T) {
	type input struct {
		rule string
		e    ev
		tool string
	}
	inputs := []input{
		{"push", ev{id: "p1", msp: "m", tenant: "t1", user: "vsa-admin", pkg: "CRT", at: time.Hour}, "kaseya-vsa"},
		{"push", ev{id: "p2", msp: "m", tenant: "t2", user: "vsa-admin", pkg: "CRT", at: time.Hour + time.Minute}, "kaseya-vsa"},
		{"install", ev{id: "i1", msp: "m", tenant: "t1", pkg: "EXE", at: time.Hour + 3*time.Minute}, "kaseya-vsa"},
		{"install", ev{id: "i2", msp: "m", tenant: "t2", pkg: "EXE", at: time.Hour + 4*time.Minute}, "kaseya-vsa"},
		{"login", ev{id: "l1", msp: "m", user: "vsa-admin", ip: "203.0.113.9", at: 50 * time.Minute}, ""},
		{"other", ev{id: "o1", msp: "m", tenant: "t3", user: "tech2", pkg: "ZZZ", at: 5 * time.Hour}, "ninjaone"},
	}
	policy := Policy{GroupBy: []string{"msp", "package.sha256"}, Window: 24 * time.Hour}
	pushIncident := ""
	for seed := range uint64(8) {
		order := rand.New(rand.NewPCG(seed, 3)).Perm(len(inputs))
		g := NewGrouper(Config{Now: fixedClock()})
		rows := map[string]record.Alert{}
		incidents := map[string]record.Incident{}
		for _, i := range order {
			in := inputs[i]
			d, _ := det(in.rule, "high", in.e)
			src := toolEvent(in.e, in.tool)
			ch := g.Add(&d, src, policy)
			for _, a := range ch.Alerts {
				rows[a.AlertID] = a
			}
			for _, inc := range ch.Incidents {
				incidents[inc.IncidentID] = inc
			}
		}
		byRule := map[string]string{}
		for _, a := range rows {
			byRule[a.RuleID] = a.IncidentID
		}
		if byRule["push"] == "" || byRule["push"] != byRule["install"] || byRule["push"] != byRule["login"] {
			t.Errorf("seed %d: push, install and login in incidents %v, want one", seed, byRule)
		}
		if pushIncident == "" {
			pushIncident = byRule["push"]
		} else if byRule["push"] != pushIncident {
			t.Errorf("seed %d: the push's incident is %s, another order made it %s", seed, byRule["push"], pushIncident)
		}
		if byRule["other"] == byRule["push"] {
			t.Errorf("seed %d: an unrelated alert joined the push's incident", seed)
		}
		live := 0
		for id, inc := range incidents {
			if len(inc.AlertIDs) == 0 {
				continue // merged away
			}
			live++
			for _, aid := range inc.AlertIDs {
				if rows[aid].IncidentID != id {
					t.Errorf("seed %d: incident %s lists alert %s, whose row names %s", seed, id, aid, rows[aid].IncidentID)
				}
			}
		}
		if live != 2 {
			t.Errorf("seed %d: %d incidents with alerts, want 2", seed, live)
		}
		if got := g.Incidents(); len(got) != 2 {
			t.Errorf("seed %d: Grouper.Incidents() = %d, want 2", seed, len(got))
		}
	}
}
