package alert

import (
	"slices"
	"time"
)

// Defaults of a rule without a tripline alert block.
const (
	DefaultWindow = 24 * time.Hour
	// MaxWindow is the longest window a rule may set: an alert window
	// holds state in the detector for that long.
	MaxWindow = 30 * 24 * time.Hour
	// MaxSamples caps the event IDs an alert keeps.
	MaxSamples = 20
)

// DefaultGroupBy is the group-by of a rule that sets none: one alert per
// technician per tenant.
var DefaultGroupBy = []string{"msp", "tenant", "actor.user"}

// Policy is how one rule's detections become alerts: the rule file's
// `tripline: alert:` block (docs/alerts.md), with defaults filled in.
type Policy struct {
	// GroupBy are the contract fields whose values, with the rule ID, form
	// the fingerprint. They always include msp: an alert never spans MSPs.
	GroupBy []string
	// Window is the tumbling window's length.
	Window time.Duration
	// MuteInMaintenance silences the rule's alerts inside the tenant's
	// registry maintenance windows.
	MuteInMaintenance bool
	// Lag is how long after a window's end a detection of it can still
	// be emitted: a correlation's timespan (its detection comes when the
	// watermark passes its last event, up to a timespan after its first).
	// An alert is resolved once the watermark passes its window's end
	// plus Lag.
	Lag time.Duration
}

// DefaultPolicy is the policy of a rule without an alert block.
func DefaultPolicy() Policy {
	return Policy{GroupBy: DefaultGroupBy, Window: DefaultWindow}
}

// normalized fills in defaults and puts msp first when the group-by lacks
// it, so that a policy that slipped past validation still cannot group
// across MSPs.
func (p Policy) normalized() Policy {
	if len(p.GroupBy) == 0 {
		p.GroupBy = DefaultGroupBy
	}
	if !slices.Contains(p.GroupBy, "msp") {
		p.GroupBy = append([]string{"msp"}, p.GroupBy...)
	}
	if p.Window <= 0 {
		p.Window = DefaultWindow
	}
	if p.Window > MaxWindow {
		p.Window = MaxWindow
	}
	if p.Lag < 0 {
		p.Lag = 0
	}
	return p
}
