package detection

import (
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
)

// Snapshot is everything that decides detections: the compiled rules and
// the correlations over them. It is immutable once built; a reload builds
// a new one and swaps it in as one value, so an event never sees the rules
// of one version with the correlations of another.
type Snapshot struct {
	Rules        *engine.RuleSet
	Correlations *correlate.Set
}
