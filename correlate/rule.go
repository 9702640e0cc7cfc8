package correlate

import (
	"time"

	"github.com/tripline/tripline/sigma"
)

// Kind is a correlation type.
type Kind uint8

const (
	EventCount Kind = iota
	ValueCount
	Temporal
	TemporalOrdered
	ValueSum
	ValueAvg
	ValuePercentile
	// FirstSeen, Baseline and Dormant are tripline's anomaly extensions.
	FirstSeen
	Baseline
	Dormant
)

var kindNames = map[string]Kind{
	"event_count": EventCount, "value_count": ValueCount, "temporal": Temporal,
	"temporal_ordered": TemporalOrdered, "value_sum": ValueSum, "value_avg": ValueAvg,
	"value_percentile": ValuePercentile, "value_median": ValuePercentile,
	"first_seen": FirstSeen, "baseline": Baseline, "dormant": Dormant,
}

func (k Kind) String() string {
	for n, v := range kindNames {
		if v == k && n != "value_median" {
			return n
		}
	}
	return "unknown"
}

// Rule is one compiled correlation.
type Rule struct {
	// Sigma is the parsed correlation.
	Sigma *sigma.Correlation
	Kind  Kind
	// ID is the correlation's identity (Sigma id, else name, else file).
	ID    string
	Title string
	Level string
	Tags  []string
	// Refs are the identities of the referenced rules and correlations,
	// in the order written (the order temporal_ordered requires).
	Refs    []string
	GroupBy []string
	// Fields is the condition `field` (value types, first_seen, baseline).
	Fields   []string
	Timespan time.Duration
	Cond     Condition

	// Extension parameters.
	History    time.Duration // first_seen, baseline, dormant
	Learning   time.Duration // first_seen, baseline, dormant
	Multiple   float64       // baseline
	Percentile float64       // value_percentile (default 50), baseline

	// aliases[groupByIndex][refIndex] is the field to read for that group-by
	// entry on events of that ref; empty means the group-by name itself.
	aliases [][]string
	// fieldAliases[fieldIndex][refIndex], likewise for Fields.
	fieldAliases [][]string
	// consumers are the correlations that reference this one.
	consumers []consumer
	// fingerprint identifies the definition; state survives a reload only
	// when it is unchanged.
	fingerprint string
	// need is the occurrence count a lower-bound-only condition needs
	// (event_count); 0 when unbounded.
	need int
	// closing is true when the condition is evaluated when a window
	// closes rather than as soon as it holds.
	closing bool
	idx     int
}

// Horizon is how far back in event time the rule needs history.
func (r *Rule) Horizon() time.Duration { return max(r.Timespan, r.History) }

type consumer struct {
	rule *Rule
	ref  int // index into rule.Refs
}
