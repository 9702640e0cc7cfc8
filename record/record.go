package record

import (
	"time"

	"github.com/tripline/tripline/contract"
)

// Event is one normalised event with the Kafka coordinates it came from.
type Event struct {
	Event *contract.Event
	// Doc is the event's normalised JSON as ingest forwards it (nil when
	// the caller has none). The store does not write it: it stores the
	// event's fields once, in columns (docs/storage.md).
	Doc       []byte
	Topic     string
	Partition int
	Offset    int64
}

// Detection is one rule or correlation match, ready to store.
type Detection struct {
	DetectionID string
	RuleID      string
	RuleTitle   string
	Level       string
	Tags        []string
	MSP         string
	Tenant      string
	ActorUser   string
	FirstTime   time.Time
	LastTime    time.Time
	EventIDs    []string
	Summary     string
	DetectedAt  time.Time
	// Topic, Partition and Offset locate the normalised event that
	// triggered the detection.
	Topic     string
	Partition int
	Offset    int64
	// AlertID and IncidentID are the alert and incident the detection
	// belongs to (alert.Grouper); both are pure functions of the
	// detection, so a replay writes the same. IncidentID is empty when
	// the event names no entity.
	AlertID    string
	IncidentID string
	// SuppressedBy is the ID of the silence that held the detection's
	// alert back from delivery, empty when none did.
	SuppressedBy string
}

// Frontier is how far, in (event time, event ID) order, the detector has
// handed one msp's events to the correlations.
type Frontier struct {
	MSP     string
	Time    time.Time
	EventID string
}
