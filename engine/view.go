package engine

import "github.com/tripline/tripline/fields"

// View presents an event to rules written for another log source: it
// returns the event as those rules read it (its own logsource and field
// names), or nil when the event has no such form. The SigmaHQ mapping
// (package sigmahq) is one: a pushed script seen as a Windows process
// creation. Views run inside Match, so every caller of the engine (the
// detector, rules eval, rule tests) sees the same detections.
type View func(ev fields.Source) fields.Source

// matchViews appends the rules that match the views of ev, skipping any
// rule ev itself already matched (a rule without a logsource sees both
// forms, and one event gives one detection per rule).
func (sc *scratch) matchViews(ev fields.Source, dst []*Rule) []*Rule {
	views := sc.rs.cfg.Views
	if len(views) == 0 {
		return dst
	}
	for _, v := range views {
		vs := v(ev)
		if vs == nil {
			continue
		}
		from := len(dst)
		dst = sc.match(vs, dst)
		kept := from
		for _, r := range dst[from:] {
			if !containsRule(dst[:from], r) {
				dst[kept] = r
				kept++
			}
		}
		dst = dst[:kept]
	}
	sc.ev = nil
	return dst
}

func containsRule(rs []*Rule, r *Rule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}
