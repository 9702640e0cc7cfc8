package engine

import (
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

// RuleSet is an immutable set of compiled rules. It is safe for concurrent
// use.
type RuleSet struct {
	cfg   Config
	rules []*Rule
	paths []string // event path per slot
	pf    prefilter
	// always[i] is true when rule i cannot be prefiltered.
	always []bool

	alwaysIdx []int32
	all       route
	routes    atomic.Pointer[map[fields.Logsource]*route]
	pool      sync.Pool
}

// Rules returns the compiled rules in load order.
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

// Len is the number of compiled rules.
func (rs *RuleSet) Len() int { return len(rs.rules) }

// Fields returns the event paths the rules look up.
func (rs *RuleSet) Fields() []string { return rs.paths }

// Match appends to dst every rule that matches ev, in load order, and
// returns the extended slice. It does not allocate once dst has capacity
// (scratch state comes from a pool); use a Matcher per goroutine to avoid
// even the pool.
func (rs *RuleSet) Match(ev fields.Source, dst []*Rule) []*Rule {
	sc, _ := rs.pool.Get().(*scratch)
	if sc == nil {
		sc = newScratch(rs)
	}
	dst = sc.match(ev, dst)
	dst = sc.matchViews(ev, dst)
	sc.ev = nil
	rs.pool.Put(sc)
	return dst
}

// Matcher evaluates a RuleSet with private scratch state. It is not safe
// for concurrent use; create one per goroutine.
type Matcher struct{ sc *scratch }

// NewMatcher returns a Matcher for rs.
func (rs *RuleSet) NewMatcher() *Matcher { return &Matcher{sc: newScratch(rs)} }

// Match is RuleSet.Match without the pool round trip.
func (m *Matcher) Match(ev fields.Source, dst []*Rule) []*Rule {
	dst = m.sc.match(ev, dst)
	dst = m.sc.matchViews(ev, dst)
	m.sc.ev = nil
	return dst
}

func (sc *scratch) match(ev fields.Source, dst []*Rule) []*Rule {
	rs := sc.rs
	sc.reset(ev)
	rt := rs.route(ev.Logsource())
	if len(rt.rules) == 0 {
		return dst
	}
	usePF := !rs.cfg.DisablePrefilter && len(rs.pf.fields) > 0
	sc.scanned = usePF
	if !usePF {
		for _, r := range rt.rules {
			if r.root.eval(sc) {
				dst = append(dst, r)
			}
		}
		return dst
	}
	sc.cands = append(sc.cands[:0], rs.alwaysIdx...)
	for i := range rs.pf.fields {
		f := &rs.pf.fields[i]
		sc.scanValue(f.ac, sc.get(f.slot), f.slot)
	}
	// Candidates arrive in hit order; evaluate in load order so results
	// are deterministic. The list is short, insertion sort is fine.
	c := sc.cands
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	for _, idx := range c {
		if rt.member != nil && !rt.member[idx] {
			continue
		}
		r := rs.rules[idx]
		if r.root.eval(sc) {
			dst = append(dst, r)
		}
	}
	return dst
}

// scanValue runs the automaton over every string form of v, exactly the
// forms matchValue would compare (so the prefilter is a sound necessary
// condition).
func (sc *scratch) scanValue(a *automaton, v *fields.Value, slot int) {
	switch v.Kind {
	case fields.String:
		if slot >= 0 {
			sc.scan(a, sc.lowSlot(slot, v.Str))
		} else {
			sc.scan(a, lowerInto(&sc.tmp, v.Str))
		}
	case fields.Number:
		sc.scan(a, sc.numText(v))
	case fields.Bool:
		sc.scan(a, boolText(v.Bool))
	case fields.Strings:
		for _, s := range v.Strs {
			sc.scan(a, lowerInto(&sc.tmp, s))
		}
	case fields.List:
		for i := range v.List {
			sc.scanValue(a, &v.List[i], -1)
		}
	}
}

const maxRoutes = 1024

// route is the set of rules an event logsource can see.
type route struct {
	rules []*Rule
	// member[i] says whether rule i is in rules; nil means all rules.
	member []bool
}

// route returns the rules whose logsource is compatible with ls: on every
// part (product, category, service) either side is empty or both are
// equal, case-insensitively. Results are cached per distinct event
// logsource in a copy-on-write map so lookups take no lock.
func (rs *RuleSet) route(ls fields.Logsource) *route {
	if ls == (fields.Logsource{}) {
		return &rs.all
	}
	m := rs.routes.Load()
	if m != nil {
		if r, ok := (*m)[ls]; ok {
			return r
		}
	}
	out := &route{member: make([]bool, len(rs.rules))}
	for _, r := range rs.rules {
		if lsPart(r.ls.Product, ls.Product) && lsPart(r.ls.Category, ls.Category) && lsPart(r.ls.Service, ls.Service) {
			out.rules = append(out.rules, r)
			out.member[r.idx] = true
		}
	}
	for {
		old := rs.routes.Load()
		var size int
		if old != nil {
			size = len(*old)
		}
		if size >= maxRoutes {
			return out
		}
		nm := make(map[fields.Logsource]*route, size+1)
		if old != nil {
			for k, v := range *old {
				nm[k] = v
			}
		}
		nm[ls] = out
		if rs.routes.CompareAndSwap(old, &nm) {
			return out
		}
	}
}

func lsPart(rule, event string) bool {
	return rule == "" || event == "" || strings.EqualFold(rule, event)
}

// prefilter maps literal needles to the rules that cannot match unless the
// needle occurs (folded) in a given field.
type prefilter struct {
	fields      []pfField
	needleRules [][]int32
}

type pfField struct {
	slot int
	ac   *automaton
}

func (p *prefilter) numNeedles() int { return len(p.needleRules) }

type needle struct {
	slot int
	text string
}

func (rs *RuleSet) build() {
	rs.all = route{rules: rs.rules}
	rs.always = make([]bool, len(rs.rules))
	defer func() {
		for i, a := range rs.always {
			if a {
				rs.alwaysIdx = append(rs.alwaysIdx, int32(i))
			}
		}
	}()
	ids := map[needleKey]int32{}
	perSlot := map[int][]string{}
	perSlotIDs := map[int][]int32{}
	for _, r := range rs.rules {
		alts, ok := needOf(r.root)
		if !ok || len(alts) == 0 {
			rs.always[r.idx] = true
			continue
		}
		for _, n := range alts {
			k := needleKey(n)
			id, seen := ids[k]
			if !seen {
				id = int32(len(rs.pf.needleRules))
				ids[k] = id
				rs.pf.needleRules = append(rs.pf.needleRules, nil)
				perSlot[n.slot] = append(perSlot[n.slot], n.text)
				perSlotIDs[n.slot] = append(perSlotIDs[n.slot], id)
			}
			rr := rs.pf.needleRules[id]
			if len(rr) == 0 || rr[len(rr)-1] != int32(r.idx) {
				rs.pf.needleRules[id] = append(rr, int32(r.idx))
			}
		}
	}
	idOf := func(slot int, text string) int32 {
		k := needleKey{slot, text}
		id, seen := ids[k]
		if !seen {
			id = int32(len(rs.pf.needleRules))
			ids[k] = id
			rs.pf.needleRules = append(rs.pf.needleRules, nil)
			perSlot[slot] = append(perSlot[slot], text)
			perSlotIDs[slot] = append(perSlotIDs[slot], id)
		}
		return id
	}
	// Register every folded `contains` literal too, so evaluation can read
	// the answer from the scan instead of searching again, and the needles
	// of regexps and globs, so evaluation runs them only when one of those
	// was found.
	register := func(m *valm, slot int) {
		switch {
		case m.kind == vkStr && m.op == opContains && !m.cased:
			m.acp = idOf(slot, m.lit) + 1
		case m.kind == vkRe || (m.kind == vkStr && m.op == opGlob):
			ts, ok := valueNeedles(m)
			if !ok {
				return
			}
			m.need = make([]int32, len(ts))
			for i, t := range ts {
				m.need[i] = idOf(slot, t)
			}
		}
	}
	for _, r := range rs.rules {
		walkItems(r.root, func(it *item) {
			if it.field < 0 {
				return
			}
			for i := range it.vals {
				register(&it.vals[i], it.field)
			}
		})
	}
	for slot := 0; slot < len(rs.paths); slot++ {
		ns := perSlot[slot]
		if len(ns) == 0 {
			continue
		}
		cells := 1
		for _, n := range ns {
			cells += len(n)
		}
		if cells*257 > maxAutomatonCells {
			// Too big to build safely: rules relying on this field's
			// needles are evaluated unconditionally instead.
			rs.dropSlot(slot, ids)
			continue
		}
		rs.pf.fields = append(rs.pf.fields, pfField{slot: slot})
	}
	buildAutomata(rs.pf.fields, perSlot, perSlotIDs)
}

// buildAutomata builds the fields' automata on up to GOMAXPROCS goroutines:
// they are independent, and a large set's few big ones (CommandLine,
// Image) are most of its compile time. Each goroutine writes only its own
// fields' entries, so the result does not depend on scheduling.
func buildAutomata(fields []pfField, perSlot map[int][]string, perSlotIDs map[int][]int32) {
	workers := min(runtime.GOMAXPROCS(0), len(fields))
	// Largest first, so one big automaton does not start last.
	order := make([]int, len(fields))
	size := make([]int, len(fields))
	for i := range order {
		order[i] = i
		for _, n := range perSlot[fields[i].slot] {
			size[i] += len(n)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return size[order[a]] > size[order[b]] })
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(fields) {
				return
			}
			f := &fields[order[i]]
			f.ac = newAutomaton(perSlot[f.slot], perSlotIDs[f.slot])
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// needOf computes a necessary condition for n: n can only be true if one
// of the returned needles occurs in its field. ok is false when no such
// literal condition can be derived (negations, regexps, numbers, ...).
func needOf(n node) ([]needle, bool) {
	switch n := n.(type) {
	case andNode:
		var best []needle
		found := false
		for _, k := range n {
			alts, ok := needOf(k)
			if ok && (!found || betterNeed(alts, best)) {
				best, found = alts, true
			}
		}
		return best, found
	case orNode:
		var all []needle
		for _, k := range n {
			alts, ok := needOf(k)
			if !ok {
				return nil, false
			}
			all = append(all, alts...)
		}
		return all, true
	case *item:
		return itemNeed(n)
	}
	return nil, false
}

func itemNeed(it *item) ([]needle, bool) {
	if it.field < 0 || it.neg || it.exists >= 0 || len(it.vals) == 0 {
		return nil, false
	}
	var out []needle
	for i := range it.vals {
		ts, ok := valueNeedles(&it.vals[i])
		if it.all {
			if ok {
				ns := make([]needle, len(ts))
				for j, t := range ts {
					ns[j] = needle{it.field, t}
				}
				if out == nil || betterNeed(ns, out) {
					out = ns
				}
			}
			continue
		}
		if !ok {
			return nil, false
		}
		for _, t := range ts {
			out = append(out, needle{it.field, t})
		}
	}
	return out, len(out) > 0
}

// valueNeedles returns literals of which one must occur (folded) in a value
// that m matches.
func valueNeedles(m *valm) ([]string, bool) {
	if m.kind == vkRe {
		return regexNeedles(m.re.String())
	}
	t, ok := valueNeedle(m)
	if !ok {
		return nil, false
	}
	return []string{t}, true
}

// valueNeedle is the longest literal run of a string pattern, folded.
func valueNeedle(m *valm) (string, bool) {
	if m.kind != vkStr {
		return "", false
	}
	best := ""
	for _, p := range m.pat {
		if p.Kind == sigma.Literal && len(p.Text) > len(best) {
			best = p.Text
		}
	}
	if best == "" {
		return "", false
	}
	if m.cased {
		best = lowerString(best)
	}
	return best, true
}

// betterNeed prefers needle sets whose shortest needle is longer (rarer
// hits), then smaller sets.
func betterNeed(a, b []needle) bool {
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		// Beyond a few bytes, length stops mattering much; prefer fewer
		// alternatives then.
		if ma >= 6 && mb >= 6 {
			return len(a) < len(b)
		}
		return ma > mb
	}
	return len(a) < len(b)
}

func minLen(ns []needle) int {
	m := -1
	for _, n := range ns {
		if m < 0 || len(n.text) < m {
			m = len(n.text)
		}
	}
	return m
}

type needleKey struct {
	slot int
	text string
}

func (rs *RuleSet) dropSlot(slot int, ids map[needleKey]int32) {
	for k, id := range ids {
		if k.slot != slot {
			continue
		}
		for _, r := range rs.pf.needleRules[id] {
			rs.always[r] = true
		}
		rs.pf.needleRules[id] = nil
	}
	for _, r := range rs.rules {
		walkItems(r.root, func(it *item) {
			if it.field == slot {
				for i := range it.vals {
					it.vals[i].acp = 0
					it.vals[i].need = nil
				}
			}
		})
	}
}

func walkItems(n node, fn func(*item)) {
	switch n := n.(type) {
	case andNode:
		for _, k := range n {
			walkItems(k, fn)
		}
	case orNode:
		for _, k := range n {
			walkItems(k, fn)
		}
	case notNode:
		walkItems(n.x, fn)
	case *item:
		fn(n)
	}
}
