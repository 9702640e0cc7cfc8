package alert

import (
	"slices"
	"sort"
	"time"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
)

// Config tunes a Grouper.
type Config struct {
	// Now stamps rows (UpdatedNs) and messages (At). Default time.Now.
	Now func() time.Time
	// Hold is the longest window plus lag of the policies in use
	// (default DefaultWindow; it grows with each policy seen): how long
	// an incident is kept after its window ends, so that an alert that
	// starts inside the incident window but is added later still joins
	// it. The detector passes its snapshot's (detection.Snapshot).
	Hold time.Duration
}

// Changes is what one call changed: the new state of every alert and
// incident it touched (rows to store, newest wins) and the messages for
// tripline.alerts. Slices in it are never modified by the Grouper later.
type Changes struct {
	Alerts    []record.Alert
	Incidents []record.Incident
	Messages  []Message
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Alerts) == 0 && len(c.Incidents) == 0 && len(c.Messages) == 0
}

// Stats describe a Grouper's state.
type Stats struct {
	// Alerts and Incidents are held in memory.
	Alerts, Incidents int
	// Late counts detections whose alert had already been resolved
	// (their window plus the policy's lag ended before the msp's
	// watermark): they got their IDs but changed no alert.
	Late int64
}

// Grouper turns detections into alerts and incidents, in memory. Feed it
// every detection (Add) and, when streaming, each msp's watermark
// (Advance): an alert is resolved, and forgotten, once the watermark
// passes its window, which bounds memory. The final alerts and incidents
// do not depend on the order of the detections: the streaming detector and
// `rules eval --alerts` use the same Grouper and agree.
//
// It is not safe for concurrent use: the detector's batch handler, or an
// offline loop, owns it.
type Grouper struct {
	now   func() time.Time
	parts map[string]*partition
	// hold is the longest window plus lag of any policy seen: how long an
	// incident must outlive its own window for a late-starting alert to
	// find it.
	hold time.Duration
	late int64
}

// partition is one msp's state.
type partition struct {
	watermark time.Time
	alerts    map[string]*alertState
	incidents map[string]*incidentState
	// nodes are the entities incidents are joined on (incidents.go).
	nodes map[entityKey]*entityNode
}

// order is (event time, ID): "earliest" everywhere in this package.
type order struct {
	t  time.Time
	id string
}

func (o order) before(p order) bool {
	if !o.t.Equal(p.t) {
		return o.t.Before(p.t)
	}
	return o.id < p.id
}

type alertState struct {
	rec       record.Alert
	resolveAt time.Time
	dets      map[string]struct{}
	earliest  order
	// entities are those of all its detections (incidents.go).
	entities []entityKey
	// samples are the earliest event IDs, sorted, at most MaxSamples.
	samples []order
	// tenants are those of its detections: an alert grouped by package
	// spans tenants, and its incident lists them all.
	tenants []string
	// outsideMaintenance: a detection outside the tenant's maintenance
	// windows (see MaintenanceSilence).
	outsideMaintenance bool
}

// member is what an incident keeps of one of its alerts, so that it can
// be recomputed after the alert is forgotten or leaves.
type member struct {
	level, ruleID string
	first, last   time.Time
	live          bool
	// tenants are the alert's (a merge adds them to another incident).
	tenants []string
	// final is the alert's last row once it resolved: a merge that moves
	// it to another incident writes it again.
	final *record.Alert
}

// incidentState is maintained incrementally: a mass push adds thousands
// of detections to an incident of hundreds of alerts, and rebuilding the
// row (sorting its alert IDs and tenants) on each was 400 µs a detection.
// Its slices are copied on write, so rows handed out never change.
type incidentState struct {
	rec     record.Incident
	end     time.Time
	members map[string]*member
	live    int
	// tenantRefs and ruleRefs count the members with each tenant and
	// rule, so that a leaving alert takes out only what no other holds.
	tenantRefs map[string]int
	ruleRefs   map[string]int

	// The component of entities the incident is (incidents.go): its
	// smallest entity names it, keys lists them all to forget them.
	min     entityKey
	keys    []entityKey
	written bool // its row was handed out
}

// NewGrouper returns an empty Grouper.
func NewGrouper(cfg Config) *Grouper {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultWindow
	}
	return &Grouper{now: cfg.Now, hold: cfg.Hold, parts: map[string]*partition{}}
}

func (g *Grouper) part(msp string) *partition {
	p := g.parts[msp]
	if p == nil {
		p = &partition{alerts: map[string]*alertState{}, incidents: map[string]*incidentState{}, nodes: map[entityKey]*entityNode{}}
		g.parts[msp] = p
	}
	return p
}

// Add groups one detection under policy p (the zero Policy is the
// default). src is the event that caused it: detection.Event.Source for a
// plain rule, correlate.Detection.Source for a correlation; nil falls back
// to the detection's msp, tenant and actor. Add sets det.AlertID and
// det.IncidentID, which are pure functions of the detection, and returns
// what changed: nothing for a detection it already holds (a replay) or a
// late one (see Stats.Late).
func (g *Grouper) Add(det *record.Detection, src fields.Source, p Policy) Changes {
	p = p.normalized()
	if h := p.Window + p.Lag; h > g.hold {
		g.hold = h
	}
	values := make([]string, len(p.GroupBy))
	for i, k := range p.GroupBy {
		values[i] = groupValue(det, src, k)
	}
	fp := Fingerprint(det.RuleID, p.GroupBy, values)
	ws := WindowStart(det.FirstTime, p.Window)
	det.AlertID = AlertID(fp, ws)
	keys := entityKeys(det, src)

	part := g.part(det.MSP)
	a := part.alerts[det.AlertID]
	msg := KindUpdated
	if a == nil {
		resolveAt := ws.Add(p.Window + p.Lag)
		if !part.watermark.IsZero() && !resolveAt.After(part.watermark) {
			g.late++
			return Changes{}
		}
		a = &alertState{resolveAt: resolveAt, dets: map[string]struct{}{}}
		a.rec = record.Alert{
			AlertID: det.AlertID, Fingerprint: fp, RuleID: det.RuleID, MSP: det.MSP,
			GroupKeys: slices.Clone(p.GroupBy), GroupValues: values, WindowStart: ws,
		}
		part.alerts[det.AlertID] = a
		msg = KindOpened
	} else if _, dup := a.dets[det.DetectionID]; dup {
		return Changes{}
	}
	now := g.now()
	first := len(a.dets) == 0
	a.dets[det.DetectionID] = struct{}{}
	r := &a.rec
	r.Count = uint64(len(a.dets))
	last := det.LastTime
	if last.Before(det.FirstTime) {
		last = det.FirstTime
	}
	if first || det.FirstTime.Before(r.FirstTime) {
		r.FirstTime = det.FirstTime
	}
	if first || last.After(r.LastTime) {
		r.LastTime = last
	}
	if k := (order{det.FirstTime, det.DetectionID}); first || k.before(a.earliest) {
		// What describes the alert comes from its earliest detection, so
		// the arrival order does not change it.
		a.earliest = k
		r.RuleTitle, r.Level, r.Tags, r.Summary = det.RuleTitle, det.Level, det.Tags, det.Summary
		r.Tenant, r.ActorUser = det.Tenant, det.ActorUser
	}
	for _, id := range det.EventIDs {
		a.sample(order{det.FirstTime, id})
	}
	newTenant := ""
	if _, found := slices.BinarySearch(a.tenants, det.Tenant); !found && det.Tenant != "" {
		newTenant = det.Tenant
	}
	r.EventIDs = make([]string, len(a.samples))
	for i, s := range a.samples {
		r.EventIDs[i] = s.id
	}
	r.UpdatedNs = now.UnixNano()
	if !inMaintenance(src) {
		a.outsideMaintenance = true
	}
	r.SuppressedBy = ""
	if p.MuteInMaintenance && !a.outsideMaintenance {
		r.SuppressedBy = MaintenanceSilence
	}

	if newTenant != "" {
		a.tenants = slices.Insert(a.tenants, sortedIndex(a.tenants, newTenant), newTenant)
	}
	out := g.link(part, a, keys, newTenant, now)
	det.IncidentID = r.IncidentID
	snap := a.snapshot()
	out.Alerts = append(out.Alerts, snap)
	out.Messages = append(out.Messages, NewMessage(msg, &snap, now))
	return out
}

// MaintenanceSilence marks (suppressed_by) an alert of a rule that mutes
// itself in maintenance windows (Policy.MuteInMaintenance) while every
// detection of it came from inside the tenant's registry maintenance
// windows: stored, not delivered. A detection outside them lifts it, so
// the result does not depend on the order.
const MaintenanceSilence = "maintenance-window"

// inMaintenance reports whether the registry placed src inside its
// tenant's maintenance window (context.in_maintenance_window, set by
// ingest from the registry).
func inMaintenance(src fields.Source) bool {
	if src == nil {
		return false
	}
	v := src.Lookup("context.in_maintenance_window")
	return v.Kind == fields.Bool && v.Bool
}

// groupValue is the value of group-by field key for det. msp is always
// the detection's (its state partition); tenant and actor fall back to
// the detection's when there is no event to read.
func groupValue(det *record.Detection, src fields.Source, key string) string {
	if key == "msp" {
		return det.MSP
	}
	if src != nil {
		return text(src.Lookup(key))
	}
	switch key {
	case "tenant":
		return det.Tenant
	case "actor.user":
		return det.ActorUser
	}
	return ""
}

// sample keeps s if it is among the MaxSamples earliest event IDs. An ID
// seen again with an earlier time moves; the kept set is the earliest
// MaxSamples IDs by their earliest time, whatever the arrival order.
func (a *alertState) sample(s order) {
	if i := slices.IndexFunc(a.samples, func(o order) bool { return o.id == s.id }); i >= 0 {
		if !s.before(a.samples[i]) {
			return
		}
		a.samples = slices.Delete(a.samples, i, i+1)
	}
	i := sort.Search(len(a.samples), func(i int) bool { return s.before(a.samples[i]) })
	if i >= MaxSamples {
		return
	}
	a.samples = slices.Insert(a.samples, i, s)
	if len(a.samples) > MaxSamples {
		a.samples = a.samples[:MaxSamples]
	}
}

// snapshot is a copy of the alert's row that later changes do not touch.
func (a *alertState) snapshot() record.Alert {
	r := a.rec
	r.GroupKeys = slices.Clone(r.GroupKeys)
	r.GroupValues = slices.Clone(r.GroupValues)
	r.EventIDs = slices.Clone(r.EventIDs)
	return r
}

// add makes the alert id, with the tenants of its detections, a member.
func (inc *incidentState) add(id string, m *member, tenants []string) {
	r := &inc.rec
	if len(inc.members) == 0 {
		r.Level, r.FirstTime, r.LastTime = m.level, m.first, m.last
	}
	inc.members[id] = m
	if m.live {
		inc.live++
	}
	r.AlertIDs = insertSorted(r.AlertIDs, id)
	for _, t := range tenants {
		inc.addTenant(t)
	}
	if inc.ruleRefs[m.ruleID]++; inc.ruleRefs[m.ruleID] == 1 {
		r.RuleIDs = insertSorted(r.RuleIDs, m.ruleID)
	}
	inc.raise(m.level, m.first, m.last)
}

// update records a member's new state. An alert's first time only goes
// back and its last only forward, so the row's span follows by min and
// max; its level may change (its earliest detection did), and when it
// was the highest the row's level is found again.
func (inc *incidentState) update(m *member, level string, first, last time.Time, newTenant string) {
	old := m.level
	m.level, m.first, m.last = level, first, last
	if newTenant != "" {
		inc.addTenant(newTenant)
		m.tenants = insertSorted(m.tenants, newTenant)
	}
	if level != old && old == inc.rec.Level {
		inc.rescan()
		return
	}
	inc.raise(level, first, last)
}

// remove takes the alert id, with the tenants of its detections, out.
func (inc *incidentState) remove(id string, tenants []string) {
	m := inc.members[id]
	if m == nil {
		return
	}
	delete(inc.members, id)
	if m.live {
		inc.live--
	}
	r := &inc.rec
	r.AlertIDs = removeSorted(r.AlertIDs, id)
	for _, t := range tenants {
		if t == "" {
			continue
		}
		if inc.tenantRefs[t]--; inc.tenantRefs[t] <= 0 {
			delete(inc.tenantRefs, t)
			r.Tenants = removeSorted(r.Tenants, t)
		}
	}
	if inc.ruleRefs[m.ruleID]--; inc.ruleRefs[m.ruleID] <= 0 {
		delete(inc.ruleRefs, m.ruleID)
		r.RuleIDs = removeSorted(r.RuleIDs, m.ruleID)
	}
	inc.rescan()
}

func (inc *incidentState) addTenant(t string) {
	if t == "" {
		return
	}
	if inc.tenantRefs[t]++; inc.tenantRefs[t] == 1 {
		inc.rec.Tenants = insertSorted(inc.rec.Tenants, t)
	}
}

// raise widens the row by one member's level and span. Among levels of
// one rank (unknown ones) the smallest name wins, whatever the order.
func (inc *incidentState) raise(level string, first, last time.Time) {
	r := &inc.rec
	if lr, rr := levelRank(level), levelRank(r.Level); lr > rr || (lr == rr && level < r.Level) {
		r.Level = level
	}
	if first.Before(r.FirstTime) {
		r.FirstTime = first
	}
	if last.After(r.LastTime) {
		r.LastTime = last
	}
}

// rescan finds the row's level and span again from its members.
func (inc *incidentState) rescan() {
	r := &inc.rec
	firstMember := true
	for _, m := range inc.members {
		if firstMember {
			r.Level, r.FirstTime, r.LastTime = m.level, m.first, m.last
			firstMember = false
			continue
		}
		inc.raise(m.level, m.first, m.last)
	}
	if firstMember {
		r.Level, r.FirstTime, r.LastTime = "", time.Time{}, time.Time{}
	}
}

// sortedIndex is where v goes in the sorted s.
func sortedIndex(s []string, v string) int {
	i, _ := slices.BinarySearch(s, v)
	return i
}

// insertSorted returns sorted s with v, in a new array (s may have been
// handed out).
func insertSorted(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	out := make([]string, len(s)+1)
	copy(out, s[:i])
	out[i] = v
	copy(out[i+1:], s[i:])
	return out
}

// removeSorted returns sorted s without v, in a new array.
func removeSorted(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if !found {
		return s
	}
	out := make([]string, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

// snapshot is a copy of the incident's row that later changes do not
// touch (its slices are copied on write).
func (inc *incidentState) snapshot() record.Incident { return inc.rec }

// Advance tells the Grouper that msp's detections older than watermark
// have all been added (the detector's watermark, after the detection core
// advanced to it). It resolves the alerts whose window plus lag ended by
// then, in alert ID order, forgets them, and forgets incidents that no
// alert can join any more. A watermark that goes back is ignored.
func (g *Grouper) Advance(msp string, watermark time.Time) Changes {
	part := g.part(msp)
	if !watermark.After(part.watermark) {
		return Changes{}
	}
	part.watermark = watermark
	var ids []string
	for id, a := range part.alerts {
		if !a.resolveAt.After(watermark) {
			ids = append(ids, id)
		}
	}
	out := g.resolve(part, ids)
	for id, inc := range part.incidents {
		// An alert whose window is still open can start inside an
		// incident window up to hold before it (see Grouper.hold).
		if inc.live == 0 && !inc.end.Add(g.hold).After(watermark) {
			for _, k := range inc.keys {
				delete(part.nodes, k)
			}
			delete(part.incidents, id)
		}
	}
	return out
}

// Flush resolves every alert and forgets all state: the end of an offline
// input.
func (g *Grouper) Flush() Changes {
	var out Changes
	for _, msp := range sortedKeys(g.parts) {
		part := g.parts[msp]
		ch := g.resolve(part, sortedKeys(part.alerts))
		out.Messages = append(out.Messages, ch.Messages...)
	}
	clear(g.parts)
	return out
}

// resolve emits a resolved message for each alert of ids, in order, and
// forgets it.
func (g *Grouper) resolve(part *partition, ids []string) Changes {
	var out Changes
	if len(ids) == 0 {
		return out
	}
	slices.Sort(ids)
	now := g.now()
	for _, id := range ids {
		a := part.alerts[id]
		out.Messages = append(out.Messages, NewMessage(KindResolved, &a.rec, now))
		if inc := part.incidents[a.rec.IncidentID]; inc != nil {
			if m := inc.members[id]; m != nil && m.live {
				m.live = false
				inc.live--
				// Kept for a merge that would move it to another incident.
				final := a.snapshot()
				m.final = &final
			}
		}
		delete(part.alerts, id)
	}
	return out
}

// Alerts returns the alerts held, ordered by first time, then alert ID.
func (g *Grouper) Alerts() []record.Alert {
	var out []record.Alert
	for _, part := range g.parts {
		for _, a := range part.alerts {
			out = append(out, a.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return order{out[i].FirstTime, out[i].AlertID}.before(order{out[j].FirstTime, out[j].AlertID})
	})
	return out
}

// Incidents returns the incidents held that have alerts, ordered by first
// time, then incident ID.
func (g *Grouper) Incidents() []record.Incident {
	var out []record.Incident
	for _, part := range g.parts {
		for _, inc := range part.incidents {
			if len(inc.members) > 0 {
				out = append(out, inc.snapshot())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return order{out[i].FirstTime, out[i].IncidentID}.before(order{out[j].FirstTime, out[j].IncidentID})
	})
	return out
}

// Stats measures the state.
func (g *Grouper) Stats() Stats {
	s := Stats{Late: g.late}
	for _, part := range g.parts {
		s.Alerts += len(part.alerts)
		s.Incidents += len(part.incidents)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Forget drops msp's state: the detector lost or is rebuilding the msp
// (a rebalance), and will add its detections again.
func (g *Grouper) Forget(msp string) { delete(g.parts, msp) }
