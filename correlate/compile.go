package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

// Kind is a correlation type.
type Kind uint8

const (
	EventCount Kind = iota
	ValueCount
	Temporal
	TemporalOrdered
	ValueSum
	ValueAvg
	ValuePercentile
	// FirstSeen, Baseline and Dormant are tripline's anomaly extensions.
	FirstSeen
	Baseline
	Dormant
)

var kindNames = map[string]Kind{
	"event_count": EventCount, "value_count": ValueCount, "temporal": Temporal,
	"temporal_ordered": TemporalOrdered, "value_sum": ValueSum, "value_avg": ValueAvg,
	"value_percentile": ValuePercentile, "value_median": ValuePercentile,
	"first_seen": FirstSeen, "baseline": Baseline, "dormant": Dormant,
}

func (k Kind) String() string {
	for n, v := range kindNames {
		if v == k && n != "value_median" {
			return n
		}
	}
	return "unknown"
}

// Rule is one compiled correlation.
type Rule struct {
	// Sigma is the parsed correlation.
	Sigma *sigma.Correlation
	Kind  Kind
	// ID is the correlation's identity (Sigma id, else name, else file).
	ID    string
	Title string
	Level string
	Tags  []string
	// Refs are the identities of the referenced rules and correlations,
	// in the order written (the order temporal_ordered requires).
	Refs    []string
	GroupBy []string
	// Fields is the condition `field` (value types, first_seen, baseline).
	Fields   []string
	Timespan time.Duration
	Cond     Condition

	// Extension parameters.
	History    time.Duration // first_seen, baseline, dormant
	Learning   time.Duration // first_seen, baseline, dormant
	Multiple   float64       // baseline
	Percentile float64       // value_percentile (default 50), baseline

	// aliases[groupByIndex][refIndex] is the field to read for that group-by
	// entry on events of that ref; empty means the group-by name itself.
	aliases [][]string
	// fieldAliases[fieldIndex][refIndex], likewise for Fields.
	fieldAliases [][]string
	// consumers are the correlations that reference this one.
	consumers []consumer
	// fingerprint identifies the definition; state survives a reload only
	// when it is unchanged.
	fingerprint string
	// need is the occurrence count a lower-bound-only condition needs
	// (event_count); 0 when unbounded.
	need int
	// closing is true when the condition is evaluated when a window
	// closes rather than as soon as it holds.
	closing bool
	idx     int
}

// Horizon is how far back in event time the rule needs history.
func (r *Rule) Horizon() time.Duration { return max(r.Timespan, r.History) }

type consumer struct {
	rule *Rule
	ref  int // index into rule.Refs
}

// Condition is a conjunction of comparisons (a range).
type Condition struct {
	Ops []Op
}

// Op is one comparison of a condition.
type Op struct {
	Name  string // gt, gte, lt, lte, eq, neq
	Value float64
}

// Holds reports whether x satisfies every comparison.
func (c Condition) Holds(x float64) bool {
	for _, o := range c.Ops {
		ok := false
		switch o.Name {
		case "gt":
			ok = x > o.Value
		case "gte":
			ok = x >= o.Value
		case "lt":
			ok = x < o.Value
		case "lte":
			ok = x <= o.Value
		case "eq":
			ok = x == o.Value
		case "neq":
			ok = x != o.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// lowerOnly reports whether every comparison is gt or gte, so that the
// condition, once true, stays true as events are added.
func (c Condition) lowerOnly() bool {
	for _, o := range c.Ops {
		if o.Name != "gt" && o.Name != "gte" {
			return false
		}
	}
	return true
}

// need is the smallest count satisfying a lower-bound-only condition.
func (c Condition) need() int {
	n := 0
	for _, o := range c.Ops {
		var v int
		switch o.Name {
		case "gte":
			v = int(math.Ceil(o.Value))
		case "gt":
			v = int(math.Floor(o.Value)) + 1
		}
		n = max(n, v)
	}
	return n
}

func (c Condition) String() string {
	if len(c.Ops) == 0 {
		return "any"
	}
	parts := make([]string, len(c.Ops))
	for i, o := range c.Ops {
		parts[i] = o.Name + " " + strconv.FormatFloat(o.Value, 'f', -1, 64)
	}
	return strings.Join(parts, " and ")
}

var opOrder = map[string]int{"gt": 0, "gte": 1, "lt": 2, "lte": 3, "eq": 4, "neq": 5}

// Set is an immutable set of compiled correlations over one rule set.
type Set struct {
	rules []*Rule
	// byRef maps a rule or correlation identity to the correlations that
	// consume its matches.
	byRef map[string][]consumer
	// silent holds identities whose own detections are not emitted
	// (referenced only by correlations with generate: false).
	silent  map[string]bool
	horizon time.Duration
}

// Rules returns the correlations, children before the correlations that
// reference them.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return s.rules
}

// Len is the number of correlations.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Horizon is the longest timespan or history of any correlation: how much
// event history rebuilds the state.
func (s *Set) Horizon() time.Duration {
	if s == nil {
		return 0
	}
	return s.horizon
}

// Generates reports whether a rule or correlation with this identity emits
// detections of its own. Following the Sigma specification, rules that
// correlations reference are silent unless one referencing correlation sets
// `generate: true`.
func (s *Set) Generates(identity string) bool {
	return s == nil || !s.silent[identity]
}

// Consumes reports whether any correlation reads matches of the rule with
// this identity.
func (s *Set) Consumes(identity string) bool {
	return s != nil && len(s.byRef[identity]) > 0
}

// Compile compiles the correlations of coll against rs (the rule set
// compiled from the same collection). Every reference must resolve to a
// rule of rs or another correlation, without cycles.
func Compile(corrs []*sigma.Correlation, rs *engine.RuleSet) (*Set, []error) {
	s := &Set{byRef: map[string][]consumer{}, silent: map[string]bool{}}
	var errs []error
	fail := func(c *sigma.Correlation, format string, args ...any) {
		errs = append(errs, &sigma.Error{Pos: c.Pos, Msg: fmt.Sprintf(format, args...)})
	}
	// Resolution table: id, name and identity of every rule and correlation.
	type target struct {
		identity string
		corr     *Rule
	}
	names := map[string]target{}
	if rs != nil {
		for _, r := range rs.Rules() {
			t := target{identity: r.Identity()}
			for _, k := range []string{r.Sigma.ID, r.Sigma.Name, r.Identity()} {
				if k != "" {
					names[k] = t
				}
			}
		}
	}
	var all []*Rule
	for _, c := range corrs {
		r, err := compileOne(c)
		if err != nil {
			fail(c, "%v", err)
			continue
		}
		if prev, dup := names[r.ID]; dup {
			if prev.corr != nil {
				fail(c, "duplicate correlation identity %q", r.ID)
			} else {
				fail(c, "correlation identity %q is also a rule's", r.ID)
			}
			continue
		}
		t := target{identity: r.ID, corr: r}
		for _, k := range []string{c.ID, c.Name, r.ID} {
			if k != "" {
				names[k] = t
			}
		}
		all = append(all, r)
	}
	// Resolve references and aliases.
	var ok []*Rule
	for _, r := range all {
		c := r.Sigma
		bad := false
		written := append([]string(nil), c.Rules...)
		for i, ref := range c.Rules {
			t, found := names[ref]
			if !found {
				fail(c, "correlation references unknown rule %q", ref)
				bad = true
				continue
			}
			r.Refs[i] = t.identity
		}
		resolve := func(name string) []string {
			out := make([]string, len(r.Refs))
			if m, isAlias := c.Aliases[name]; isAlias {
				for ref, field := range m {
					t, found := names[ref]
					if !found {
						fail(c, "alias %q names unknown rule %q", name, ref)
						bad = true
						continue
					}
					for i := range r.Refs {
						if r.Refs[i] == t.identity || written[i] == ref {
							out[i] = field
						}
					}
				}
				for i := range out {
					if out[i] == "" {
						fail(c, "alias %q has no field for rule %q", name, written[i])
						bad = true
					}
				}
				return out
			}
			for i := range out {
				out[i] = name
			}
			return out
		}
		for _, g := range r.GroupBy {
			r.aliases = append(r.aliases, resolve(g))
		}
		for _, f := range r.Fields {
			r.fieldAliases = append(r.fieldAliases, resolve(f))
		}
		if !bad {
			ok = append(ok, r)
		}
	}
	// Order children first and reject cycles.
	byID := map[string]*Rule{}
	for _, r := range ok {
		byID[r.ID] = r
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(r *Rule) bool
	visit = func(r *Rule) bool {
		switch state[r.ID] {
		case 1:
			fail(r.Sigma, "correlation %q is part of a reference cycle", r.ID)
			return false
		case 2:
			return true
		}
		state[r.ID] = 1
		for _, ref := range r.Refs {
			if child := byID[ref]; child != nil && !visit(child) {
				return false
			}
		}
		state[r.ID] = 2
		r.idx = len(s.rules)
		s.rules = append(s.rules, r)
		return true
	}
	for _, r := range ok {
		visit(r)
	}
	generated := map[string]bool{}
	for _, r := range s.rules {
		s.horizon = max(s.horizon, r.Horizon())
		for i, ref := range r.Refs {
			cn := consumer{rule: r, ref: i}
			s.byRef[ref] = append(s.byRef[ref], cn)
			if child := byID[ref]; child != nil {
				child.consumers = append(child.consumers, cn)
			}
			if r.Sigma.Generate {
				generated[ref] = true
			} else {
				s.silent[ref] = true
			}
		}
	}
	for id := range generated {
		delete(s.silent, id)
	}
	// A correlation's children are consumed through consumers, not byRef.
	for _, r := range s.rules {
		delete(s.byRef, r.ID)
	}
	return s, errs
}

func compileOne(c *sigma.Correlation) (*Rule, error) {
	k, known := kindNames[c.Type]
	if !known {
		return nil, fmt.Errorf("unknown correlation type %q", c.Type)
	}
	r := &Rule{
		Sigma: c, Kind: k, ID: c.Identity(), Title: c.Title, Level: c.Level, Tags: c.Tags,
		Refs: make([]string, len(c.Rules)), GroupBy: c.GroupBy, Timespan: c.Timespan,
	}
	if r.Title == "" {
		r.Title = r.ID
	}
	if r.Timespan <= 0 {
		return nil, fmt.Errorf("timespan must be positive")
	}
	for name, v := range c.Condition {
		r.Cond.Ops = append(r.Cond.Ops, Op{Name: name, Value: v})
	}
	sort.Slice(r.Cond.Ops, func(i, j int) bool { return opOrder[r.Cond.Ops[i].Name] < opOrder[r.Cond.Ops[j].Name] })
	r.Fields = c.ConditionFields
	if len(r.Fields) == 0 && c.ConditionField != "" {
		r.Fields = []string{c.ConditionField}
	}
	dur := func(key string) (time.Duration, error) {
		v, ok := c.Params[key]
		if !ok {
			return 0, nil
		}
		d, err := sigma.ParseTimespan(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", key, err)
		}
		return d, nil
	}
	num := func(key string) (float64, bool, error) {
		v, ok := c.Params[key]
		if !ok {
			if cv, ok := c.Condition[key]; ok { // tolerate it inside condition
				return cv, true, nil
			}
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s must be a number", key)
		}
		return f, true, nil
	}
	var err error
	if r.History, err = dur("history"); err != nil {
		return nil, err
	}
	if r.Learning, err = dur("learning"); err != nil {
		return nil, err
	}
	needField := func() error {
		if len(r.Fields) == 0 {
			return fmt.Errorf("%s needs condition.field", c.Type)
		}
		return nil
	}
	switch k {
	case EventCount:
		if len(r.Cond.Ops) == 0 {
			return nil, fmt.Errorf("event_count needs a condition")
		}
	case ValueCount, ValueSum, ValueAvg:
		if err := needField(); err != nil {
			return nil, err
		}
		if len(r.Cond.Ops) == 0 {
			return nil, fmt.Errorf("%s needs a condition", c.Type)
		}
	case ValuePercentile:
		if err := needField(); err != nil {
			return nil, err
		}
		r.Percentile = 50
		if p, ok, err := num("percentile"); err != nil {
			return nil, err
		} else if ok {
			r.Percentile = p
		}
		if r.Percentile < 0 || r.Percentile > 100 {
			return nil, fmt.Errorf("percentile must be within 0..100")
		}
		if len(r.Cond.Ops) == 0 {
			return nil, fmt.Errorf("%s needs a condition", c.Type)
		}
	case Temporal, TemporalOrdered:
		if c.ConditionExpr != "" {
			return nil, fmt.Errorf("%s: boolean condition expressions are not supported; use a count (e.g. gte: 2) or omit the condition", c.Type)
		}
		if len(c.Rules) < 2 {
			return nil, fmt.Errorf("%s needs at least two rules", c.Type)
		}
	case FirstSeen:
		if err := needField(); err != nil {
			return nil, err
		}
		r.History = r.Timespan
	case Dormant:
		if len(r.GroupBy) == 0 {
			return nil, fmt.Errorf("dormant needs group-by (the entity)")
		}
		if r.History == 0 {
			r.History = 365 * 24 * time.Hour
		}
		if r.History < r.Timespan {
			return nil, fmt.Errorf("dormant history must be at least the timespan")
		}
	case Baseline:
		if r.History == 0 {
			return nil, fmt.Errorf("baseline needs history (e.g. history: 14d)")
		}
		if r.History < 2*r.Timespan {
			return nil, fmt.Errorf("baseline history must cover at least two buckets")
		}
		m, hasM, err := num("multiple")
		if err != nil {
			return nil, err
		}
		p, hasP, err := num("percentile")
		if err != nil {
			return nil, err
		}
		if !hasM && !hasP {
			m, hasM = 3, true
		}
		if hasM {
			r.Multiple = m
		}
		if hasP {
			if p <= 0 || p > 100 {
				return nil, fmt.Errorf("percentile must be within 0..100")
			}
			r.Percentile = p
		}
		if r.Learning == 0 {
			r.Learning = r.History / 4
		}
		// multiple/percentile may sit in condition; the rest is the floor.
		ops := r.Cond.Ops[:0]
		for _, o := range r.Cond.Ops {
			ops = append(ops, o)
		}
		r.Cond.Ops = ops
	}
	r.closing = len(r.Cond.Ops) > 0 && (!r.Cond.lowerOnly() || k == ValueAvg || k == ValuePercentile)
	if k == EventCount && !r.closing {
		r.need = r.Cond.need()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%v\x00%v\x00%v\x00%s\x00%s\x00%v\x00%v\x00%v\x00%v\x00%v\x00%v",
		c.Type, c.Rules, c.GroupBy, r.Fields, r.Timespan, r.Cond, c.Aliases, r.History, r.Learning, r.Multiple, r.Percentile, c.Generate)
	r.fingerprint = r.ID + "\x00" + hex.EncodeToString(h.Sum(nil)[:12])
	return r, nil
}
