package store

import (
	"context"
	"fmt"
	"time"
)

// Queries of the analyst console (package console) that triage does not
// need: the events behind an alert and per-rule detection activity.

// EventRow is the part of a stored event the console shows in an alert's
// timeline.
type EventRow struct {
	EventID      string
	EventType    string
	Time         time.Time
	Tenant       string
	Tool         string
	ActorUser    string
	ActorIP      string
	ActorCountry string
	TargetHost   string
	PackageName  string
	ScriptName   string
	Outcome      string
	Reason       string
	ChangeTicket string
	// Attributes are the event's free-form attributes, registry context
	// (context.*) among them when the pipeline stored it.
	AttrKeys   []string
	AttrValues []string
	// Doc is the normalised event document, rebuilt from the stored
	// columns (see storedEvent); its "context" object is the registry
	// context ingest attached (contract, approved tool, windows, the
	// technician's shift).
	Doc string
}

// MaxEvents caps Events: a timeline, not an export.
const MaxEvents = 500

// Events returns the events of msp with the given IDs that the scope may
// see, oldest first, at most MaxEvents. A replayed event may be stored
// twice until ClickHouse merges; FINAL keeps one.
func (s *Store) Events(ctx context.Context, scope Scope, msp string, ids []string) ([]EventRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxEvents {
		ids = ids[:MaxEvents]
	}
	cond, args, err := scope.where("tenant = ?")
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	args = append(args, msp, ids)
	rows, err := s.conn.Query(ctx, "SELECT "+eventReadColumns+" FROM "+s.table("events")+
		" FINAL WHERE "+cond+" AND msp = ? AND has(?, event_id)"+fmt.Sprintf(" ORDER BY time, event_id LIMIT %d", MaxEvents), args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", s.redact(err))
	}
	defer rows.Close()
	var (
		out []EventRow
		r   storedEvent
	)
	dest := r.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("events: %w", s.redact(err))
		}
		ev, err := r.event()
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		doc, err := ev.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("events: event %s: encode: %w", ev.EventID, err)
		}
		keys := ev.AttributeKeys()
		vals := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = ev.Attributes[k]
		}
		out = append(out, EventRow{EventID: ev.EventID, EventType: ev.EventType, Time: ev.Time, Tenant: ev.Tenant, Tool: ev.Tool,
			ActorUser: ev.Actor.User, ActorIP: ev.Actor.IP, ActorCountry: ev.Actor.Country, TargetHost: ev.Target.Host,
			PackageName: ev.Package.Name, ScriptName: ev.Script.Name, Outcome: ev.Outcome, Reason: ev.Reason,
			ChangeTicket: ev.Change.Ticket, AttrKeys: keys, AttrValues: vals, Doc: string(doc)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", s.redact(err))
	}
	return out, nil
}

// RuleDay is one rule's detections on one UTC day.
type RuleDay struct {
	RuleID string
	Day    time.Time
	Count  uint64
}

// RuleTotal is one rule's detections ever stored (within retention).
type RuleTotal struct {
	RuleID string
	Count  uint64
	Last   time.Time
}

// RuleActivity returns the scope's detections per rule per day since
// since, and per rule over everything stored. A replayed detection is
// stored again under the same detection_id until the ReplacingMergeTree
// merges, so the counts are of distinct IDs (uniqExact) rather than of
// rows: exact on 18.16, and cheaper than FINAL, which would merge every
// part of a million-detection scan before counting.
func (s *Store) RuleActivity(ctx context.Context, scope Scope, since time.Time) ([]RuleDay, []RuleTotal, error) {
	cond, args, err := scope.where("tenant = ?")
	if err != nil {
		return nil, nil, fmt.Errorf("rule activity: %w", err)
	}
	rows, err := s.conn.Query(ctx, "SELECT rule_id, toDate(first_time) AS d, uniqExact(detection_id) FROM "+s.table("detections")+
		" WHERE "+cond+" AND first_time >= ? GROUP BY rule_id, d ORDER BY rule_id, d", append(args, since.UTC().Truncate(time.Second))...)
	if err != nil {
		return nil, nil, fmt.Errorf("rule activity: %w", s.redact(err))
	}
	var days []RuleDay
	for rows.Next() {
		var d RuleDay
		if err := rows.Scan(&d.RuleID, &d.Day, &d.Count); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("rule activity: %w", s.redact(err))
		}
		days = append(days, d)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("rule activity: %w", s.redact(err))
	}
	rows, err = s.conn.Query(ctx, "SELECT rule_id, uniqExact(detection_id), max(first_time) FROM "+s.table("detections")+
		" WHERE "+cond+" GROUP BY rule_id ORDER BY rule_id", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("rule totals: %w", s.redact(err))
	}
	defer rows.Close()
	var totals []RuleTotal
	for rows.Next() {
		var t RuleTotal
		if err := rows.Scan(&t.RuleID, &t.Count, &t.Last); err != nil {
			return nil, nil, fmt.Errorf("rule totals: %w", s.redact(err))
		}
		totals = append(totals, t)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("rule totals: %w", s.redact(err))
	}
	return days, totals, nil
}
