package alert

import (
	"slices"
	"time"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
)

// An incident is a connected component of alerts: two alerts of an msp
// are in one incident when their detections share an entity (a value of
// one of EntityFields, or one tool on one tenant) inside one
// IncidentWindow, directly or through other alerts. A technician's login and the pushes that follow, a package
// one actor pushes and hosts then install by hash, one hash pushed by two
// technicians: each is one incident, across rules and tenants.
//
// Components only ever merge, and an incident's ID is that of its
// smallest entity (earliest window, then EntityFields order, then value),
// so the final incidents do not depend on the order detections arrive in.
// When a merge changes an alert's incident, the alert's row is written
// again with the new ID, and the incident that merged away is written
// once more with no alerts (readers skip those).

// entityKey is one entity in one incident window.
type entityKey struct {
	start int64 // incident window start, Unix seconds
	rank  int   // index in EntityFields
	value string
}

func (k entityKey) less(o entityKey) bool {
	if k.start != o.start {
		return k.start < o.start
	}
	if k.rank != o.rank {
		return k.rank < o.rank
	}
	return k.value < o.value
}

// entityNode is a union-find node; a root carries its incident.
type entityNode struct {
	parent *entityNode
	inc    *incidentState
}

func find(n *entityNode) *entityNode {
	for n.parent != nil {
		if n.parent.parent != nil {
			n.parent = n.parent.parent // path halving
		}
		n = n.parent
	}
	return n
}

// EntityToolOnTenant is the entity kind of one remote-management tool's
// activity on one tenant (value "tenant/tool"). It joins what a push sets
// off: a procedure that runs a script and pushes a package to a tenant,
// then installs of whatever it dropped on the tenant's hosts, carry
// neither the same actor nor the same hash, but the same tool on the same
// tenant within the window. Measured: without it the simulated Kaseya-style
// push was two incidents per msp (the push, and the installs of the
// decoded payload).
const EntityToolOnTenant = "tenant+tool"

// entityKind is the kind of an entity rank.
func entityKind(rank int) string {
	if rank < len(EntityFields) {
		return EntityFields[rank]
	}
	return EntityToolOnTenant
}

// entityKeys lists the entities of a detection: every one of EntityFields
// its event carries and its tool on its tenant, or without an event its
// actor.
func entityKeys(det *record.Detection, src fields.Source) []entityKey {
	start := WindowStart(det.FirstTime, IncidentWindow).Unix()
	var out []entityKey
	if src == nil {
		if det.ActorUser != "" {
			out = append(out, entityKey{start: start, rank: slices.Index(EntityFields, "actor.user"), value: det.ActorUser})
		}
		return out
	}
	for rank, f := range EntityFields {
		if v := text(src.Lookup(f)); v != "" {
			out = append(out, entityKey{start: start, rank: rank, value: v})
		}
	}
	if tenant, tool := text(src.Lookup("tenant")), text(src.Lookup("tool")); tenant != "" && tool != "" {
		out = append(out, entityKey{start: start, rank: len(EntityFields), value: tenant + "/" + tool})
	}
	return out
}

// node returns k's node: a new one is an incident of its own, with no
// alerts yet.
func (p *partition) node(msp string, k entityKey) *entityNode {
	if n := p.nodes[k]; n != nil {
		return n
	}
	start := time.Unix(k.start, 0).UTC()
	inc := &incidentState{
		rec: record.Incident{
			IncidentID: IncidentID(msp, entityKind(k.rank), k.value, start), MSP: msp,
			EntityKind: entityKind(k.rank), EntityValue: k.value, WindowStart: start,
		},
		end: start.Add(IncidentWindow), members: map[string]*member{},
		tenantRefs: map[string]int{}, ruleRefs: map[string]int{},
		min: k, keys: []entityKey{k},
	}
	n := &entityNode{inc: inc}
	p.nodes[k] = n
	p.incidents[inc.rec.IncidentID] = inc
	return n
}

// link puts alert a, whose row has just changed, in the incident of its
// entities (adding keys to them, merging incidents they join) and returns
// the incident rows to write and the rows of other alerts a merge moved.
func (g *Grouper) link(part *partition, a *alertState, keys []entityKey, newTenant string, now time.Time) Changes {
	r := &a.rec
	for _, k := range keys {
		if !slices.Contains(a.entities, k) {
			a.entities = append(a.entities, k)
		}
	}
	if len(a.entities) == 0 {
		return Changes{}
	}
	var out Changes
	root := find(part.node(r.MSP, a.entities[0]))
	for _, k := range a.entities[1:] {
		other := find(part.node(r.MSP, k))
		if other != root {
			root = g.merge(part, root, other, now, &out)
		}
	}
	inc := root.inc
	r.IncidentID = inc.rec.IncidentID
	if m := inc.members[r.AlertID]; m == nil {
		inc.add(r.AlertID, &member{level: r.Level, ruleID: r.RuleID, first: r.FirstTime, last: r.LastTime, live: true,
			tenants: slices.Clone(a.tenants)}, a.tenants)
	} else {
		inc.update(m, r.Level, r.FirstTime, r.LastTime, newTenant)
	}
	inc.rec.UpdatedNs = now.UnixNano()
	inc.written = true
	out.Incidents = append(out.Incidents, inc.snapshot())
	return out
}

// merge joins the incidents of roots x and y: the one with more entities
// takes the other's, the smaller ID-giving entity names the result. The
// incident whose ID disappears is written empty once (if it was ever
// written), and alerts whose incident changed are written again.
func (g *Grouper) merge(part *partition, x, y *entityNode, now time.Time, out *Changes) *entityNode {
	if len(x.inc.keys) < len(y.inc.keys) {
		x, y = y, x
	}
	big, small := x.inc, y.inc
	oldBig, oldSmall := big.rec.IncidentID, small.rec.IncidentID
	bigWritten, smallWritten := big.written, small.written
	y.parent, y.inc = x, nil
	delete(part.incidents, oldSmall)
	delete(part.incidents, oldBig)
	big.keys = append(big.keys, small.keys...)
	if small.end.After(big.end) {
		big.end = small.end
	}
	for _, id := range sortedKeys(small.members) {
		m := small.members[id]
		big.add(id, m, m.tenants)
	}
	if small.min.less(big.min) {
		big.min = small.min
		big.rec.IncidentID, big.rec.EntityKind, big.rec.EntityValue, big.rec.WindowStart =
			small.rec.IncidentID, small.rec.EntityKind, small.rec.EntityValue, small.rec.WindowStart
	}
	part.incidents[big.rec.IncidentID] = big
	for _, gone := range []struct {
		id      string
		written bool
	}{{oldBig, bigWritten}, {oldSmall, smallWritten}} {
		if gone.written && gone.id != big.rec.IncidentID {
			out.Incidents = append(out.Incidents, record.Incident{IncidentID: gone.id, MSP: big.rec.MSP, UpdatedNs: now.UnixNano()})
		}
	}
	big.written = bigWritten || smallWritten
	// Members that now belong to another incident are written again.
	for _, id := range sortedKeys(big.members) {
		m := big.members[id]
		if a := part.alerts[id]; a != nil {
			if a.rec.IncidentID != big.rec.IncidentID && a.rec.IncidentID != "" {
				a.rec.IncidentID = big.rec.IncidentID
				a.rec.UpdatedNs = now.UnixNano()
				out.Alerts = append(out.Alerts, a.snapshot())
			}
		} else if m.final != nil && m.final.IncidentID != big.rec.IncidentID {
			f := *m.final
			f.IncidentID, f.UpdatedNs = big.rec.IncidentID, now.UnixNano()
			m.final = &f
			out.Alerts = append(out.Alerts, f)
		}
	}
	return x
}
