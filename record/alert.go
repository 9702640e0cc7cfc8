package record

import "time"

// Alert is detections of one rule with one fingerprint inside one window
// (docs/alerts.md). The detector computes it; triage state (status,
// assignee) lives in the alert_actions log, not here, so that a detector
// update never overwrites an analyst's change.
type Alert struct {
	AlertID     string
	Fingerprint string
	RuleID      string
	RuleTitle   string
	Level       string
	Tags        []string
	MSP         string
	Tenant      string
	ActorUser   string
	// GroupKeys and GroupValues are the fingerprint's fields and their
	// values, in the rule's group-by order.
	GroupKeys   []string
	GroupValues []string
	// WindowStart is the start of the alert's window (event time).
	WindowStart time.Time
	FirstTime   time.Time
	LastTime    time.Time
	// Count is the number of distinct detections the alert holds.
	Count uint64
	// EventIDs are sample event IDs, capped (alert.MaxSamples).
	EventIDs   []string
	IncidentID string
	// SuppressedBy is the ID of the silence that held the alert back from
	// delivery, empty when none did.
	SuppressedBy string
	Summary      string
	// UpdatedNs versions the row (ReplacingMergeTree): Unix nanoseconds.
	UpdatedNs int64
}

// Incident is alerts of one msp that share an entity (a package or script
// hash, an actor, a source address) inside one window, across rules and
// tenants.
type Incident struct {
	IncidentID  string
	MSP         string
	EntityKind  string
	EntityValue string
	// Level is the highest level of its alerts.
	Level       string
	WindowStart time.Time
	FirstTime   time.Time
	LastTime    time.Time
	AlertIDs    []string
	Tenants     []string
	RuleIDs     []string
	UpdatedNs   int64
}

// AlertAction is one row of the append-only triage log.
type AlertAction struct {
	ActionID   string
	AlertID    string
	MSP        string
	At         time.Time
	Actor      string
	Action     string
	StatusFrom string
	StatusTo   string
	Assignee   string
	Reason     string
	Note       string
}

// Silence holds matching alerts back from delivery between Starts and Ends.
type Silence struct {
	SilenceID string
	// Matchers are "key=value", "key!=value", "key=~regex" or "key!~regex"
	// on alert fields (docs/alerts.md).
	Matchers []string
	Starts   time.Time
	Ends     time.Time
	Author   string
	Reason   string
	// MSP scopes the silence to one msp (empty: the author may silence
	// every msp).
	MSP       string
	CreatedAt time.Time
	UpdatedNs int64
}

// AlertDelivery is one delivery attempt of tripline notify.
type AlertDelivery struct {
	At           time.Time
	MessageID    string
	AlertID      string
	Kind         string
	Route        string
	Receiver     string
	ReceiverType string
	Attempt      uint32
	Result       string
	StatusCode   int32
	Error        string
	DelayMs      int64
}
