package detection

import (
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/record"
)

// Snapshot is everything that decides detections: the compiled rules and
// the correlations over them. It is immutable once built; a reload builds
// a new one and swaps it in as one value, so an event never sees the rules
// of one version with the correlations of another.
type Snapshot struct {
	Rules        *engine.RuleSet
	Correlations *correlate.Set
	// Alerts are the alert policies of the rules and correlations that
	// set one (their tripline.alert block) and of every correlation, by
	// rule identity. They change with the rules, so they live here.
	Alerts map[string]alert.Policy
}

// AlertPolicy is the alert policy of the rule or correlation ruleID
// (Result.RuleID): its own, else the default.
func (s *Snapshot) AlertPolicy(ruleID string) alert.Policy {
	if p, ok := s.Alerts[ruleID]; ok {
		return p
	}
	return alert.DefaultPolicy()
}

// AlertHold is the longest window plus lag of the snapshot's alert
// policies: alert.Config.Hold.
func (s *Snapshot) AlertHold() time.Duration {
	hold := alert.DefaultWindow
	for _, p := range s.Alerts {
		if h := p.Window + p.Lag; h > hold {
			hold = h
		}
	}
	return hold
}

// Group adds the detection rec of r (built by r.Record) to g under the
// policy of r's rule in this snapshot, setting rec's AlertID and
// IncidentID. The detector and offline evaluation both group through it.
func (s *Snapshot) Group(g *alert.Grouper, r Result, rec *record.Detection) alert.Changes {
	return g.Add(rec, r.Source(), s.AlertPolicy(r.RuleID()))
}
