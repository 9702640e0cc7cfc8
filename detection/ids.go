package detection

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
)

// Namespace is the UUIDv5 namespace of detection IDs. Changing it changes
// every ID and breaks replay deduplication: never do.
var Namespace = uuid.MustParse("0d3e5b7c-8f21-5a9e-b4c6-747269706c64")

// ID is deterministic in the rule and the events that formed the detection
// (order-independent for multi-event detections).
func ID(ruleID string, eventIDs ...string) string {
	var b strings.Builder
	b.WriteString(ruleID)
	for _, id := range sortedCopy(eventIDs) {
		b.WriteByte(0)
		b.WriteString(id)
	}
	return uuid.NewSHA1(Namespace, []byte(b.String())).String()
}

// ID returns the result's detection ID.
func (r Result) ID() string {
	if r.Correlation != nil {
		return ID(r.Correlation.Rule.ID, r.Correlation.Key...)
	}
	return ID(r.Rule.Identity(), r.Event.ID)
}

// RuleID is the identity of the rule or correlation.
func (r Result) RuleID() string {
	if r.Correlation != nil {
		return r.Correlation.Rule.ID
	}
	return r.Rule.Identity()
}

func sortedCopy(ids []string) []string {
	if len(ids) < 2 {
		return ids
	}
	out := append([]string(nil), ids...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Coordinates locate the message that caused a detection.
type Coordinates struct {
	Topic     string
	Partition int
	Offset    int64
}

// Record builds the stored detection of a result.
func (r Result) Record(at time.Time, c Coordinates) record.Detection {
	if d := r.Correlation; d != nil {
		out := record.Detection{
			DetectionID: r.ID(),
			RuleID:      d.Rule.ID,
			RuleTitle:   d.Rule.Title,
			Level:       d.Rule.Level,
			Tags:        d.Rule.Tags,
			MSP:         d.Partition,
			FirstTime:   d.First,
			LastTime:    d.Last,
			EventIDs:    d.EventIDs,
			Summary:     d.Summary,
			DetectedAt:  at,
			Topic:       c.Topic,
			Partition:   c.Partition,
			Offset:      c.Offset,
		}
		if out.EventIDs == nil {
			out.EventIDs = []string{}
		}
		if d.Source != nil {
			out.Tenant = d.Source.Lookup("tenant").Str
			out.ActorUser = d.Source.Lookup("actor.user").Str
		}
		return out
	}
	ev, rule := r.Event, r.Rule
	out := record.Detection{
		DetectionID: r.ID(),
		RuleID:      rule.Identity(),
		RuleTitle:   rule.Title,
		Level:       rule.Level,
		Tags:        rule.Tags,
		MSP:         ev.Partition,
		FirstTime:   ev.Time,
		LastTime:    ev.Time,
		EventIDs:    []string{ev.ID},
		DetectedAt:  at,
		Topic:       c.Topic,
		Partition:   c.Partition,
		Offset:      c.Offset,
	}
	if ce := ev.Contract; ce != nil {
		out.MSP, out.Tenant, out.ActorUser = ce.MSP, ce.Tenant, ce.Actor.User
		out.Summary = Summary(rule, ce)
	}
	return out
}

// Summary is the one line an analyst reads first.
func Summary(r *engine.Rule, ev *contract.Event) string {
	var b strings.Builder
	b.WriteString(r.Title)
	b.WriteString(": ")
	b.WriteString(ev.EventType)
	if ev.Actor.User != "" {
		b.WriteString(" by ")
		b.WriteString(ev.Actor.User)
	}
	if ev.Tenant != "" {
		b.WriteString(" at ")
		b.WriteString(ev.Tenant)
	}
	b.WriteString(" via ")
	b.WriteString(ev.Tool)
	if ev.Actor.Country != "" || ev.Actor.IP != "" {
		b.WriteString(" from ")
		b.WriteString(strings.TrimSpace(ev.Actor.IP + " " + ev.Actor.Country))
	}
	switch {
	case ev.Package.Name != "":
		b.WriteString("; package ")
		b.WriteString(ev.Package.Name)
		if ev.Package.Version != "" {
			b.WriteString(" " + ev.Package.Version)
		}
	case ev.Script.Name != "":
		b.WriteString("; script ")
		b.WriteString(ev.Script.Name)
	}
	if ev.Target.HostCount != nil {
		b.WriteString("; ")
		b.WriteString(strconv.FormatInt(*ev.Target.HostCount, 10))
		b.WriteString(" hosts")
	}
	return b.String()
}

// ContractEvent returns the core's input for a decoded contract event.
func ContractEvent(ev *contract.Event) Event {
	return Event{Source: ev, Contract: ev, ID: ev.EventID, Time: ev.Time, Partition: ev.MSP}
}

// Source is the event a result's fields come from: the matched event, or
// the event that completed the correlation. Nil when there is none.
func (r Result) Source() fields.Source {
	if r.Correlation != nil {
		return r.Correlation.Source
	}
	if r.Event != nil {
		return r.Event.Source
	}
	return nil
}
