package correlate

import "time"

// Set is an immutable set of compiled correlations over one rule set.
type Set struct {
	rules []*Rule
	// byRef maps a rule or correlation identity to the correlations that
	// consume its matches.
	byRef map[string][]consumer
	// silent holds identities whose own detections are not emitted
	// (referenced only by correlations with generate: false).
	silent  map[string]bool
	horizon time.Duration
}

// Rules returns the correlations, children before the correlations that
// reference them.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return s.rules
}

// Len is the number of correlations.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Horizon is the longest timespan or history of any correlation: how much
// event history rebuilds the state.
func (s *Set) Horizon() time.Duration {
	if s == nil {
		return 0
	}
	return s.horizon
}

// Generates reports whether a rule or correlation with this identity emits
// detections of its own. Following the Sigma specification, rules that
// correlations reference are silent unless one referencing correlation sets
// `generate: true`.
func (s *Set) Generates(identity string) bool {
	return s == nil || !s.silent[identity]
}

// Consumes reports whether any correlation reads matches of the rule with
// this identity.
func (s *Set) Consumes(identity string) bool {
	return s != nil && len(s.byRef[identity]) > 0
}
