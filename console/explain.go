package console

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/sigma"
	"github.com/tripline/tripline/store"
)

// "Why it matched" is computed when an alert page is shown, from the rule
// as loaded now and the stored events, by the engine that detects: each
// named search of the rule (and of the global filters applied to it), and
// each item of a search, is compiled by engine.Compile as a one-search
// rule with the rule's logsource, and the event is matched against those
// probes with engine.RuleSet.Match. The detector's hot path is untouched;
// the probes of a rule are compiled once per loaded pack, on first use.

// Why is the explanation of an alert: per event behind it, which searches
// of its rule hit and with which values; for a correlation, its type,
// condition, group-by values and contributing events per referenced rule.
type Why struct {
	Correlation *CorrelationWhy
	Events      []EventWhy
	// Shown of Total events are explained (the page stays readable).
	Shown, Total int
	// Note says why nothing could be explained (the rule left the pack).
	Note string
}

// CorrelationWhy is a correlation's side of Why.
type CorrelationWhy struct {
	Type      string
	Condition string
	Timespan  string
	// GroupBy is each group-by field with the distinct values the events
	// hold for it.
	GroupBy []kv
	// Refs counts the alert's events matching each referenced rule.
	Refs []RefCount
}

// RefCount is how many of the alert's events a referenced rule matches.
type RefCount struct {
	ID, Title string
	Events    int
	// Correlation: the reference is itself a correlation, whose own
	// detections feed this one (its events are not counted here).
	Correlation bool
}

// EventWhy explains one event.
type EventWhy struct {
	EventID string
	// Err: the stored event could not be read as the detector reads it.
	Err   string
	Rules []RuleWhy
}

// RuleWhy is one rule's searches evaluated on one event.
type RuleWhy struct {
	ID, Title string
	// Matches: the whole rule (condition and filters) matches the event
	// as the rule is loaded now.
	Matches  bool
	Searches []SearchWhy
}

// SearchWhy is one named search on one event.
type SearchWhy struct {
	Name string
	// Filter is the global filter the search belongs to ("" for the
	// rule's own detection).
	Filter string
	Hit    bool
	Items  []ItemWhy
}

// ItemWhy is one item of a search: whether it holds, and the event's
// value of its field.
type ItemWhy struct {
	Item  string
	Hit   bool
	Field string
	Value string
}

// maxWhyEvents bounds the events explained one by one on a page.
const maxWhyEvents = 20

// maxValueLen bounds a value shown (a script body can be long).
const maxValueLen = 300

// probeSet is a rule's searches and items compiled as one-search rules.
type probeSet struct {
	rs       *engine.RuleSet
	searches []probeSearch
	err      error
}

type probeSearch struct {
	name, filter string
	id           string // the probe rule's identity
	items        []probeItem
}

type probeItem struct {
	text string
	path string // the event path of the field; "" for keywords
	id   string
}

// probeSearchRule is a rule whose detection is the one search s.
func probeSearchRule(id string, ls sigma.Logsource, name string, s *sigma.Search) *sigma.Rule {
	return &sigma.Rule{Meta: sigma.Meta{ID: id, Title: id}, Logsource: ls, Detection: &sigma.Detection{
		Searches: map[string]*sigma.Search{name: s}, Order: []string{name},
		Conditions: []*sigma.Condition{{Text: name, Expr: &sigma.IdentExpr{Name: name}}},
	}}
}

// compileProbes builds the probes of r: its own searches, then those of
// the filters applied to it.
func compileProbes(r *engine.Rule, cfg engine.Config) *probeSet {
	ps := &probeSet{}
	var probes []*sigma.Rule
	n := 0
	next := func() string { n++; return "why-" + strconv.Itoa(n) }
	add := func(d *sigma.Detection, filter string) {
		if d == nil {
			return
		}
		for _, name := range d.Order {
			s := d.Searches[name]
			if s == nil {
				continue
			}
			p := probeSearch{name: name, filter: filter, id: next()}
			probes = append(probes, probeSearchRule(p.id, r.Logsource, name, s))
			for gi, g := range s.Groups {
				for _, it := range g.Items {
					pi := probeItem{text: itemText(it), id: next()}
					if len(s.Groups) > 1 {
						pi.text = "or #" + strconv.Itoa(gi+1) + ": " + pi.text
					}
					if !it.Keyword() {
						pi.path = it.Field
						if a, ok := cfg.FieldAliases[it.Field]; ok {
							pi.path = a
						}
					}
					one := &sigma.Search{Name: name, Groups: []*sigma.Group{{Items: []*sigma.Item{it}, Pos: g.Pos}}, Pos: s.Pos}
					probes = append(probes, probeSearchRule(pi.id, r.Logsource, name, one))
					p.items = append(p.items, pi)
				}
			}
			ps.searches = append(ps.searches, p)
		}
	}
	if r.Sigma != nil {
		add(r.Sigma.Detection, "")
	}
	for _, f := range r.Filters {
		add(f.Detection, f.Identity())
	}
	rs, errs := engine.Compile(probes, nil, cfg)
	if len(errs) > 0 {
		ps.err = fmt.Errorf("rule %s: its searches do not compile alone: %v", r.Identity(), errs[0])
		return ps
	}
	ps.rs = rs
	return ps
}

// itemText renders a search item as "field|modifiers: values".
func itemText(it *sigma.Item) string {
	field := it.Field
	if field == "" {
		field = "(keywords)"
	}
	for _, m := range it.Modifiers {
		field += "|" + m
	}
	vals := make([]string, 0, len(it.Values))
	for _, v := range it.Values {
		vals = append(vals, v.Raw)
	}
	return field + ": " + strings.Join(vals, ", ")
}

// explain evaluates ps on ev.
func (ps *probeSet) explain(r *engine.Rule, whole bool, ev fields.Source) RuleWhy {
	out := RuleWhy{ID: r.Identity(), Title: r.Title, Matches: whole}
	hit := map[string]bool{}
	for _, m := range ps.rs.Match(ev, nil) {
		hit[m.Identity()] = true
	}
	for _, p := range ps.searches {
		sw := SearchWhy{Name: p.name, Filter: p.filter, Hit: hit[p.id]}
		for _, it := range p.items {
			iw := ItemWhy{Item: it.text, Hit: hit[it.id], Field: it.path}
			if it.path != "" {
				iw.Value = valueText(ev.Lookup(it.path))
			}
			sw.Items = append(sw.Items, iw)
		}
		out.Searches = append(out.Searches, sw)
	}
	return out
}

// valueText renders an event value for people, bounded.
func valueText(v fields.Value) string {
	var s string
	switch v.Kind {
	case fields.Absent:
		return "(absent)"
	case fields.Null:
		return "null"
	case fields.String:
		s = v.Str
	case fields.Number:
		s = strconv.FormatFloat(v.Num, 'f', -1, 64)
	case fields.Bool:
		s = strconv.FormatBool(v.Bool)
	case fields.Strings:
		s = "[" + strings.Join(v.Strs, ", ") + "]"
	case fields.List:
		parts := make([]string, 0, len(v.List))
		for _, x := range v.List {
			parts = append(parts, valueText(x))
		}
		s = "[" + strings.Join(parts, ", ") + "]"
	default:
		s = "(" + v.Kind.String() + ")"
	}
	if len(s) > maxValueLen {
		s = strings.ToValidUTF8(s[:maxValueLen], "") + "…"
	}
	return s
}

// decodeStored reads a stored event as the detector reads it from the
// events topic (contract.Decoder over the normalised document).
func decodeStored(e *store.EventRow) (fields.Source, error) {
	dec := contract.Decoder{MaxBytes: contract.MaxNormalisedBytes}
	ev, err := rules.ParseOfflineEvent(&dec, []byte(e.Doc), fields.Logsource{})
	if err != nil {
		return nil, err
	}
	if ev.ContractErr != nil {
		return nil, ev.ContractErr
	}
	return ev.Source, nil
}

// Explain says why the rule or correlation ruleID matched the events
// (the stored events of one alert).
func (p *RulePack) Explain(ruleID string, evs []store.EventRow) *Why {
	snap := p.snapshot()
	w := &Why{Total: len(evs)}
	rule, corr := snap.rules[ruleID], snap.corrs[ruleID]
	if rule == nil && corr == nil {
		w.Note = "The rule " + ruleID + " is not in the rule pack loaded now, so its searches cannot be evaluated."
		return w
	}
	// A correlation counts every event; a rule's page explains the first
	// maxWhyEvents, and only those are decoded.
	n := min(len(evs), maxWhyEvents)
	if corr != nil {
		n = len(evs)
	}
	srcs := make([]fields.Source, n)
	errs := make([]error, n)
	for i := range n {
		srcs[i], errs[i] = decodeStored(&evs[i])
	}
	if corr != nil {
		w.Correlation = p.correlationWhy(snap, corr, srcs)
	}
	for i := range min(n, maxWhyEvents) {
		ew := EventWhy{EventID: evs[i].EventID}
		if errs[i] != nil {
			ew.Err = errs[i].Error()
			w.Events, w.Shown = append(w.Events, ew), w.Shown+1
			continue
		}
		matched := snap.set.Match(srcs[i], nil)
		whole := func(id string) bool {
			return slices.ContainsFunc(matched, func(r *engine.Rule) bool { return r.Identity() == id })
		}
		var targets []*engine.Rule
		if rule != nil {
			targets = []*engine.Rule{rule}
		} else {
			for _, ref := range corr.Refs {
				if r := snap.rules[ref]; r != nil && whole(ref) {
					targets = append(targets, r)
				}
			}
		}
		for _, r := range targets {
			ps := p.probes(snap, r)
			if ps.err != nil {
				ew.Err = ps.err.Error()
				continue
			}
			ew.Rules = append(ew.Rules, ps.explain(r, whole(r.Identity()), srcs[i]))
		}
		w.Events, w.Shown = append(w.Events, ew), w.Shown+1
	}
	return w
}

// correlationWhy counts the events per referenced rule and collects the
// group-by values.
func (p *RulePack) correlationWhy(snap *packSnapshot, c *correlate.Rule, srcs []fields.Source) *CorrelationWhy {
	cw := &CorrelationWhy{Type: c.Kind.String()}
	if c.Sigma != nil {
		cw.Type, cw.Timespan = c.Sigma.Type, c.Sigma.TimespanRaw
	}
	var ops []string
	for _, o := range c.Cond.Ops {
		ops = append(ops, o.Name+" "+strconv.FormatFloat(o.Value, 'f', -1, 64))
	}
	cw.Condition = strings.Join(ops, " and ")
	if len(c.Fields) > 0 {
		cw.Condition = "field " + strings.Join(c.Fields, ", ") + ": " + cw.Condition
	}
	counts := make([]int, len(c.Refs))
	values := make([][]string, len(c.GroupBy))
	for _, src := range srcs {
		if src == nil {
			continue
		}
		matched := snap.set.Match(src, nil)
		for i, ref := range c.Refs {
			if slices.ContainsFunc(matched, func(r *engine.Rule) bool { return r.Identity() == ref }) {
				counts[i]++
			}
		}
		for i, g := range c.GroupBy {
			if v := src.Lookup(g); v.Exists() {
				if t := valueText(v); !slices.Contains(values[i], t) {
					values[i] = append(values[i], t)
				}
			}
		}
	}
	for i, ref := range c.Refs {
		rc := RefCount{ID: ref, Events: counts[i]}
		if r := snap.rules[ref]; r != nil {
			rc.Title = r.Title
		} else if o := snap.corrs[ref]; o != nil {
			rc.Title, rc.Correlation = o.Title, true
		}
		cw.Refs = append(cw.Refs, rc)
	}
	for i, g := range c.GroupBy {
		sort.Strings(values[i])
		cw.GroupBy = append(cw.GroupBy, kv{g, strings.Join(values[i], ", ")})
	}
	return cw
}
