package rules

import (
	"time"

	"github.com/tripline/tripline/detection"
)

// EventTime is the event's time: the contract time, or the RFC 3339 text
// of a time-like field of arbitrary JSON.
func (e OfflineEvent) EventTime() (time.Time, bool) {
	if e.Contract != nil {
		return e.Contract.Time, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, e.Time); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Partition is the state partition of the event: its msp, as the detector
// partitions by the topic key.
func (e OfflineEvent) Partition() string {
	if e.Contract != nil {
		return e.Contract.MSP
	}
	return e.Source.Lookup("msp").Str
}

// Input is the detection core's input for the event; id identifies it in
// detections (its event_id, or a substitute such as its input line).
func (e OfflineEvent) Input(id string) detection.Event {
	t, _ := e.EventTime()
	return detection.Event{Source: e.Source, Contract: e.Contract, ID: id, Time: t, Partition: e.Partition()}
}
