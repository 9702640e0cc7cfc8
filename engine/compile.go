package engine

import (
	"fmt"
	"strings"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

// Config tunes compilation.
type Config struct {
	// FieldAliases maps a rule's field name to the event path the engine
	// looks up ("User" -> "actor.user"). Fields without an alias are looked
	// up verbatim.
	FieldAliases map[string]string
	// Placeholders are the values of `|expand` placeholders, by name
	// without the percent signs ("Admins" for %Admins%). Values are Sigma
	// strings: wildcards and escapes apply. A rule using a placeholder that
	// is not configured is rejected.
	Placeholders map[string][]string
	// DisablePrefilter evaluates every routed rule on every event. It exists
	// for tests that check the prefilter never changes results.
	DisablePrefilter bool
	// Views present events to rules of other log sources (see View); a
	// rule matching an event or any of its views matches the event.
	Views []View
}

// Rule is a compiled rule plus its Sigma metadata.
type Rule struct {
	ID             string
	Name           string
	Title          string
	Status         string
	Level          string
	Description    string
	Author         string
	Tags           []string
	References     []string
	FalsePositives []string
	Logsource      sigma.Logsource
	Path           string
	// Sigma is the parsed rule the engine compiled.
	Sigma *sigma.Rule
	// Filters are the global filters that were applied to the rule.
	Filters []*sigma.Filter

	idx  int
	root node
	// ls is the logsource folded for routing.
	ls fields.Logsource
}

// Identity is the Sigma id, else name, else file base name.
func (r *Rule) Identity() string { return r.Sigma.Identity() }

func (r *Rule) String() string { return r.Identity() + " (" + r.Title + ")" }

type compiler struct {
	cfg   Config
	slots map[string]int
	paths []string
}

func (c *compiler) eventPath(field string) string {
	if p, ok := c.cfg.FieldAliases[field]; ok {
		return p
	}
	return field
}

func (c *compiler) slot(path string) int {
	if i, ok := c.slots[path]; ok {
		return i
	}
	i := len(c.paths)
	c.slots[path] = i
	c.paths = append(c.paths, path)
	return i
}

// compileRule compiles r with the filters that apply to it.
func (c *compiler) compileRule(r *sigma.Rule, filters []*sigma.Filter) (*Rule, error) {
	if r.Detection == nil {
		return nil, sigma.Errorf(r.Pos, "rule has no detection")
	}
	root, err := c.compileDetection(r.Detection)
	if err != nil {
		return nil, err
	}
	out := &Rule{
		ID: r.ID, Name: r.Name, Title: r.Title, Status: r.Status, Level: r.Level,
		Description: r.Description, Author: r.Author, Tags: r.Tags,
		References: r.References, FalsePositives: r.FalsePositives,
		Logsource: r.Logsource, Path: r.Path, Sigma: r,
		ls: fields.Logsource{
			Product:  strings.ToLower(r.Logsource.Product),
			Category: strings.ToLower(r.Logsource.Category),
			Service:  strings.ToLower(r.Logsource.Service),
		},
	}
	for _, f := range filters {
		if !f.AppliesTo(r) {
			continue
		}
		fn, err := c.compileDetection(f.Detection)
		if err != nil {
			return nil, fmt.Errorf("applying filter %s: %w", f.Identity(), err)
		}
		root = andNode{root, fn}
		out.Filters = append(out.Filters, f)
	}
	out.root = root
	return out, nil
}

func (c *compiler) compileDetection(d *sigma.Detection) (node, error) {
	searches := map[string]node{}
	for _, name := range d.Order {
		n, err := c.compileSearch(d.Searches[name])
		if err != nil {
			return nil, err
		}
		searches[name] = n
	}
	var alts []node
	for _, cond := range d.Conditions {
		n, err := c.compileExpr(cond.Expr, searches)
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	return mkOr(alts), nil
}

func (c *compiler) compileExpr(e sigma.Expr, searches map[string]node) (node, error) {
	switch e := e.(type) {
	case *sigma.AndExpr:
		var kids []node
		for _, a := range e.Args {
			n, err := c.compileExpr(a, searches)
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		}
		return mkAnd(kids), nil
	case *sigma.OrExpr:
		var kids []node
		for _, a := range e.Args {
			n, err := c.compileExpr(a, searches)
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		}
		return mkOr(kids), nil
	case *sigma.NotExpr:
		n, err := c.compileExpr(e.X, searches)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case *sigma.IdentExpr:
		n, ok := searches[e.Name]
		if !ok {
			return nil, sigma.Errorf(e.Pos, "unknown search identifier %q", e.Name)
		}
		return n, nil
	case *sigma.OfExpr:
		var kids []node
		for _, name := range e.Names {
			n, ok := searches[name]
			if !ok {
				return nil, sigma.Errorf(e.Pos, "unknown search identifier %q", name)
			}
			kids = append(kids, n)
		}
		if e.All {
			return mkAnd(kids), nil
		}
		return mkOr(kids), nil
	}
	return nil, fmt.Errorf("unsupported condition node %T", e)
}

func (c *compiler) compileSearch(s *sigma.Search) (node, error) {
	var alts []node
	for _, g := range s.Groups {
		var items []node
		for _, it := range g.Items {
			n, err := c.compileItem(it)
			if err != nil {
				return nil, err
			}
			items = append(items, n)
		}
		alts = append(alts, mkAnd(items))
	}
	return mkOr(alts), nil
}

func (c *compiler) compileItem(it *sigma.Item) (node, error) {
	ms, err := parseMods(it)
	if err != nil {
		return nil, &sigma.Error{Pos: it.Pos, Msg: "field " + quoteField(it), Err: err}
	}
	out := &item{field: -1, all: ms.all, neg: ms.neq, exists: -1}
	if ms.exists {
		if it.Keyword() {
			return nil, sigma.Errorf(it.Pos, "exists needs a field name")
		}
		if len(it.Values) != 1 || it.Values[0].Kind != sigma.BoolValue {
			return nil, sigma.Errorf(it.Pos, "field %s: exists needs a single boolean value", quoteField(it))
		}
		out.field = c.slot(c.eventPath(it.Field))
		if it.Values[0].Bool {
			out.exists = 1
		} else {
			out.exists = 0
		}
		return out, nil
	}
	vals, err := c.compileValues(it, ms)
	if err != nil {
		return nil, &sigma.Error{Pos: it.Pos, Msg: "field " + quoteField(it), Err: err}
	}
	if len(vals) == 0 {
		return nil, sigma.Errorf(it.Pos, "field %s has no values", quoteField(it))
	}
	out.vals = vals
	if !it.Keyword() {
		out.field = c.slot(c.eventPath(it.Field))
	} else {
		for _, v := range vals {
			if v.kind != vkStr {
				return nil, sigma.Errorf(it.Pos, "keyword searches support string values only")
			}
		}
	}
	return out, nil
}

func quoteField(it *sigma.Item) string {
	if it.Field == "" && len(it.Modifiers) == 0 {
		return "(keywords)"
	}
	return fmt.Sprintf("%q", strings.Join(append([]string{it.Field}, it.Modifiers...), "|"))
}

// Compile compiles rules, applying filters (pySigma semantics: a filter's
// condition is AND-ed to the condition of every rule it applies to). A
// rule that fails to compile is reported and skipped; the returned RuleSet
// holds the others. Errors are *sigma.Error positioned in the rule file
// whenever possible.
func Compile(rules []*sigma.Rule, filters []*sigma.Filter, cfg Config) (*RuleSet, []error) {
	c := &compiler{cfg: cfg, slots: map[string]int{}}
	rs := &RuleSet{cfg: cfg}
	var errs []error
	seen := map[string]*sigma.Rule{}
	for _, r := range rules {
		if r == nil {
			continue
		}
		if prev, dup := seen[r.Identity()]; dup && r.ID != "" {
			errs = append(errs, sigma.Errorf(r.Pos, "duplicate rule id %s (also in %s)", r.ID, prev.Pos))
			continue
		}
		seen[r.Identity()] = r
		cr, err := c.compileRule(r, filters)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Identity(), err))
			continue
		}
		cr.idx = len(rs.rules)
		rs.rules = append(rs.rules, cr)
	}
	for _, f := range filters {
		if f.AnyRule {
			continue
		}
		for _, ref := range f.Rules {
			found := false
			for _, r := range rules {
				if r != nil && r.Refers(ref) {
					found = true
					break
				}
			}
			if !found {
				errs = append(errs, sigma.Errorf(f.Pos, "filter %s references unknown rule %q", f.Identity(), ref))
			}
		}
	}
	rs.paths = c.paths
	rs.build()
	return rs, errs
}

// CompileCollection compiles the rules and filters of a parsed collection.
func CompileCollection(coll *sigma.Collection, cfg Config) (*RuleSet, []error) {
	return Compile(coll.Rules, coll.Filters, cfg)
}

// LoadDir parses every rule file below dir and compiles the result. Parse
// and compile errors are returned together; whatever loaded is usable.
func LoadDir(dir string, cfg Config) (*RuleSet, []error) {
	coll, errs := sigma.ParseDir(dir)
	rs, cerrs := CompileCollection(coll, cfg)
	return rs, append(errs, cerrs...)
}
