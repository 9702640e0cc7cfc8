package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

// Compile compiles the correlations of coll against rs (the rule set
// compiled from the same collection). Every reference must resolve to a
// rule of rs or another correlation, without cycles.
func Compile(corrs []*sigma.Correlation, rs *engine.RuleSet) (*Set, []error) {
	cp := &compiler{names: ruleTargets(rs)}
	var resolved []*Rule
	for _, r := range cp.compileAll(corrs) {
		if cp.resolve(r) {
			resolved = append(resolved, r)
		}
	}
	s := &Set{byRef: map[string][]consumer{}, silent: map[string]bool{}}
	byID := map[string]*Rule{}
	for _, r := range resolved {
		byID[r.ID] = r
	}
	s.rules = cp.childrenFirst(resolved, byID)
	s.link(byID)
	return s, cp.errs
}

// compiler collects the errors of one Compile and resolves references.
type compiler struct {
	// names resolves the id, name and identity of every rule and
	// correlation.
	names map[string]target
	errs  []error
}

type target struct {
	identity string
	corr     *Rule // nil for a plain rule
}

func (cp *compiler) fail(c *sigma.Correlation, format string, args ...any) {
	cp.errs = append(cp.errs, &sigma.Error{Pos: c.Pos, Msg: fmt.Sprintf(format, args...)})
}

func ruleTargets(rs *engine.RuleSet) map[string]target {
	names := map[string]target{}
	if rs == nil {
		return names
	}
	for _, r := range rs.Rules() {
		t := target{identity: r.Identity()}
		for _, k := range []string{r.Sigma.ID, r.Sigma.Name, r.Identity()} {
			if k != "" {
				names[k] = t
			}
		}
	}
	return names
}

// compileAll compiles each correlation and makes it resolvable by its id,
// name and identity, which must not be taken.
func (cp *compiler) compileAll(corrs []*sigma.Correlation) []*Rule {
	var all []*Rule
	for _, c := range corrs {
		r, err := compileOne(c)
		if err != nil {
			cp.fail(c, "%v", err)
			continue
		}
		if prev, dup := cp.names[r.ID]; dup {
			if prev.corr != nil {
				cp.fail(c, "duplicate correlation identity %q", r.ID)
			} else {
				cp.fail(c, "correlation identity %q is also a rule's", r.ID)
			}
			continue
		}
		t := target{identity: r.ID, corr: r}
		for _, k := range []string{c.ID, c.Name, r.ID} {
			if k != "" {
				cp.names[k] = t
			}
		}
		all = append(all, r)
	}
	return all
}

// resolve replaces r's references, as written, by identities and resolves
// the aliases of its group-by and condition fields. It reports whether all
// resolved.
func (cp *compiler) resolve(r *Rule) bool {
	c := r.Sigma
	ok := true
	for i, ref := range c.Rules {
		t, found := cp.names[ref]
		if !found {
			cp.fail(c, "correlation references unknown rule %q", ref)
			ok = false
			continue
		}
		r.Refs[i] = t.identity
	}
	for _, g := range r.GroupBy {
		fs, aliasOK := cp.fieldsPerRef(r, g)
		r.aliases = append(r.aliases, fs)
		ok = ok && aliasOK
	}
	for _, f := range r.Fields {
		fs, aliasOK := cp.fieldsPerRef(r, f)
		r.fieldAliases = append(r.fieldAliases, fs)
		ok = ok && aliasOK
	}
	return ok
}

// fieldsPerRef is the field to read for name on the events of each of
// r.Refs: the alias's field for that rule, or name itself when it is not
// an alias.
func (cp *compiler) fieldsPerRef(r *Rule, name string) ([]string, bool) {
	c := r.Sigma
	out := make([]string, len(r.Refs))
	m, isAlias := c.Aliases[name]
	if !isAlias {
		for i := range out {
			out[i] = name
		}
		return out, true
	}
	ok := true
	for ref, field := range m {
		t, found := cp.names[ref]
		if !found {
			cp.fail(c, "alias %q names unknown rule %q", name, ref)
			ok = false
			continue
		}
		for i := range r.Refs {
			if r.Refs[i] == t.identity || c.Rules[i] == ref {
				out[i] = field
			}
		}
	}
	for i := range out {
		if out[i] == "" {
			cp.fail(c, "alias %q has no field for rule %q", name, c.Rules[i])
			ok = false
		}
	}
	return out, ok
}

// childrenFirst orders the correlations so that each comes after the
// correlations it references, and drops those in reference cycles.
func (cp *compiler) childrenFirst(rules []*Rule, byID map[string]*Rule) []*Rule {
	var ordered []*Rule
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(r *Rule) bool
	visit = func(r *Rule) bool {
		switch state[r.ID] {
		case 1:
			cp.fail(r.Sigma, "correlation %q is part of a reference cycle", r.ID)
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
		r.idx = len(ordered)
		ordered = append(ordered, r)
		return true
	}
	for _, r := range rules {
		visit(r)
	}
	return ordered
}

// link records who consumes what: plain rules' matches through byRef,
// correlations' detections through their consumers; and which referenced
// identities stay silent.
func (s *Set) link(byID map[string]*Rule) {
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
	for _, r := range s.rules {
		delete(s.byRef, r.ID)
	}
}

func compileOne(c *sigma.Correlation) (*Rule, error) {
	k, known := kindNames[c.Type]
	if !known {
		return nil, fmt.Errorf("unknown correlation type %q", c.Type)
	}
	r := newRule(c, k)
	if r.Timespan <= 0 {
		return nil, fmt.Errorf("timespan must be positive")
	}
	p := params{c}
	var err error
	if r.History, err = p.duration("history"); err != nil {
		return nil, err
	}
	if r.Learning, err = p.duration("learning"); err != nil {
		return nil, err
	}
	if err := checkKind(r, p); err != nil {
		return nil, err
	}
	r.closing = len(r.Cond.Ops) > 0 && (!r.Cond.lowerOnly() || k == ValueAvg || k == ValuePercentile)
	if k == EventCount && !r.closing {
		r.need = r.Cond.need()
	}
	r.fingerprint = fingerprint(r)
	return r, nil
}

func newRule(c *sigma.Correlation, k Kind) *Rule {
	r := &Rule{
		Sigma: c, Kind: k, ID: c.Identity(), Title: c.Title, Level: c.Level, Tags: c.Tags,
		Refs: make([]string, len(c.Rules)), GroupBy: c.GroupBy, Timespan: c.Timespan,
	}
	if r.Title == "" {
		r.Title = r.ID
	}
	for name, v := range c.Condition {
		r.Cond.Ops = append(r.Cond.Ops, Op{Name: name, Value: v})
	}
	sort.Slice(r.Cond.Ops, func(i, j int) bool { return opOrder[r.Cond.Ops[i].Name] < opOrder[r.Cond.Ops[j].Name] })
	r.Fields = c.ConditionFields
	if len(r.Fields) == 0 && c.ConditionField != "" {
		r.Fields = []string{c.ConditionField}
	}
	return r
}

// checkKind validates r's kind-specific parameters and sets their
// defaults; each kind's check sits next to its evaluation.
func checkKind(r *Rule, p params) error {
	switch r.Kind {
	case EventCount:
		return checkEventCount(r)
	case ValueCount, ValueSum, ValueAvg:
		return checkValueType(r)
	case ValuePercentile:
		return checkValuePercentile(r, p)
	case Temporal, TemporalOrdered:
		return checkTemporal(r)
	case FirstSeen:
		return checkFirstSeen(r)
	case Dormant:
		return checkDormant(r)
	case Baseline:
		return checkBaseline(r, p)
	}
	return nil
}

// checkValueType: the value types measure the condition field against a
// condition.
func checkValueType(r *Rule) error {
	if err := needField(r); err != nil {
		return err
	}
	return needCondition(r)
}

func needField(r *Rule) error {
	if len(r.Fields) == 0 {
		return fmt.Errorf("%s needs condition.field", r.Sigma.Type)
	}
	return nil
}

func needCondition(r *Rule) error {
	if len(r.Cond.Ops) == 0 {
		return fmt.Errorf("%s needs a condition", r.Sigma.Type)
	}
	return nil
}

// params reads the extension parameters of a correlation.
type params struct{ c *sigma.Correlation }

func (p params) duration(key string) (time.Duration, error) {
	v, ok := p.c.Params[key]
	if !ok {
		return 0, nil
	}
	d, err := sigma.ParseTimespan(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", key, err)
	}
	return d, nil
}

// number reads a numeric parameter, tolerating it inside the condition.
func (p params) number(key string) (float64, bool, error) {
	v, ok := p.c.Params[key]
	if !ok {
		if cv, ok := p.c.Condition[key]; ok {
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

// fingerprint identifies r's definition: state survives a reload only when
// it is unchanged.
func fingerprint(r *Rule) string {
	c := r.Sigma
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%v\x00%v\x00%v\x00%s\x00%s\x00%v\x00%v\x00%v\x00%v\x00%v\x00%v",
		c.Type, c.Rules, c.GroupBy, r.Fields, r.Timespan, r.Cond, c.Aliases, r.History, r.Learning, r.Multiple, r.Percentile, c.Generate)
	return r.ID + "\x00" + hex.EncodeToString(h.Sum(nil)[:12])
}
