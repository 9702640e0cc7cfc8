package sigma

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/yamlbound"
)

// KnownModifiers lists every value modifier the parser accepts. The engine
// decides which combinations make sense.
var KnownModifiers = map[string]bool{
	"contains": true, "startswith": true, "endswith": true, "all": true,
	"exists": true, "cased": true, "neq": true, "windash": true,
	"re": true, "i": true, "ignorecase": true, "m": true, "multiline": true,
	"s": true, "dotall": true,
	"base64": true, "base64offset": true,
	"utf16le": true, "utf16be": true, "utf16": true, "wide": true,
	"lt": true, "lte": true, "gt": true, "gte": true,
	"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true,
	"weekday": true, // tripline extension: ISO day of the week, 1 (Monday) to 7 (Sunday)
	"cidr":    true, "expand": true, "fieldref": true,
}

// FileLimits bound one rule file, after YAML alias expansion (see package
// yamlbound): the largest SigmaHQ rule has about 4,500 nodes, so 100,000
// leave room for long IOC lists, while a file at the limit (100,000
// values) compiles to about 50 MiB. docs/limits.md lists them.
var FileLimits = yamlbound.Limits{
	Kind:         "rule file",
	MaxBytes:     16 << 20,
	MaxNodes:     100_000,
	MaxDepth:     64,
	MaxDocuments: 1_000,
}

// maxAliasDepth bounds YAML alias chains (a: &x *x ...).
const maxAliasDepth = 64

// ParseBytes parses every YAML document in data. filename is only used in
// positions and for rule identity. Documents that parse are returned even
// when others fail; the error is an ErrorList with one entry per bad
// document. A file past FileLimits (an alias bomb, say) yields nothing but
// that error. It never panics.
func ParseBytes(data []byte, filename string) (coll *Collection, err error) {
	coll = &Collection{}
	var errs ErrorList
	defer func() {
		// yaml.v3 has panicked on hostile input in the past; a rule file
		// must never take the process down.
		if r := recover(); r != nil {
			errs = append(errs, Errorf(Pos{File: filename}, "internal error while parsing: %v", r))
			err = errs
		}
	}()
	docs, nodes, derr := yamlbound.DecodeNodes(data, filename, FileLimits)
	if errors.Is(derr, yamlbound.ErrLimit) {
		return coll, ErrorList{yamlError(filename, derr)}
	}
	coll.Nodes = nodes
	for index, doc := range docs {
		p := &docParser{file: filename, index: index}
		p.parseDocument(doc, coll)
		errs = append(errs, p.errs...)
	}
	if derr != nil {
		// A syntax error: the documents before it still count.
		errs = append(errs, yamlError(filename, derr))
	}
	return coll, errs.Err()
}

// yamlError renders a yamlbound error as an *Error at its position.
func yamlError(file string, err error) error {
	var ye *yamlbound.Error
	if errors.As(err, &ye) {
		return &Error{Pos: Pos{File: file, Line: ye.Line, Col: ye.Col}, Msg: ye.Msg}
	}
	return &Error{Pos: Pos{File: file}, Msg: err.Error()}
}

type docParser struct {
	file  string
	index int
	errs  ErrorList
}

func (p *docParser) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: p.file}
	}
	return Pos{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *docParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, Errorf(p.pos(n), format, args...))
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i >= maxAliasDepth {
			return nil
		}
		n = n.Alias
	}
	return n
}

// mapping returns the key/value pairs of a mapping node, resolving aliases.
func mappingPairs(n *yaml.Node) [][2]*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{deref(n.Content[i]), deref(n.Content[i+1])})
	}
	return out
}

func lookup(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for _, kv := range mappingPairs(n) {
		if kv[0] != nil && kv[0].Kind == yaml.ScalarNode && kv[0].Value == key {
			return kv[0], kv[1]
		}
	}
	return nil, nil
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func (p *docParser) parseDocument(doc *yaml.Node, coll *Collection) {
	root := deref(doc)
	if root != nil && root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = deref(root.Content[0])
	}
	if root == nil || isNull(root) {
		return // empty document, e.g. a trailing '---'
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "document must be a YAML mapping, got %s", kindName(root))
		return
	}
	seen := map[string]bool{}
	for _, kv := range mappingPairs(root) {
		if kv[0] == nil {
			continue
		}
		if seen[kv[0].Value] {
			p.errorf(kv[0], "duplicate key %q", kv[0].Value)
		}
		seen[kv[0].Value] = true
	}
	if _, act := lookup(root, "action"); act != nil {
		p.errorf(act, "legacy rule collections (action: global/reset/repeat) are not supported")
		return
	}
	if _, c := lookup(root, "correlation"); c != nil {
		if corr := p.parseCorrelation(root, c); corr != nil {
			coll.Correlations = append(coll.Correlations, corr)
		}
		return
	}
	_, det := lookup(root, "detection")
	if _, f := lookup(root, "filter"); f != nil && det == nil {
		if flt := p.parseFilter(root, f); flt != nil {
			coll.Filters = append(coll.Filters, flt)
		}
		return
	}
	if r := p.parseRule(root); r != nil {
		coll.Rules = append(coll.Rules, r)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	}
	return "node"
}

func (p *docParser) scalar(root *yaml.Node, key string) string {
	k, v := lookup(root, key)
	if v == nil || isNull(v) {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		p.errorf(k, "%s must be a string, got %s", key, kindName(v))
		return ""
	}
	return v.Value
}

// stringList accepts a scalar or a list of scalars: rules in the wild use
// both for author, falsepositives, references, etc.
func (p *docParser) stringList(root *yaml.Node, key string) []string {
	k, v := lookup(root, key)
	if v == nil || isNull(v) {
		return nil
	}
	switch v.Kind {
	case yaml.ScalarNode:
		return []string{v.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, e := range v.Content {
			e = deref(e)
			if e == nil || isNull(e) {
				continue
			}
			if e.Kind != yaml.ScalarNode {
				p.errorf(e, "%s entries must be strings, got %s", key, kindName(e))
				continue
			}
			out = append(out, e.Value)
		}
		return out
	}
	p.errorf(k, "%s must be a string or a list of strings, got %s", key, kindName(v))
	return nil
}

func (p *docParser) meta(root *yaml.Node) Meta {
	m := Meta{
		Title:          p.scalar(root, "title"),
		ID:             p.scalar(root, "id"),
		Name:           p.scalar(root, "name"),
		Status:         p.scalar(root, "status"),
		Level:          p.scalar(root, "level"),
		Description:    p.scalar(root, "description"),
		License:        p.scalar(root, "license"),
		Date:           p.scalar(root, "date"),
		Modified:       p.scalar(root, "modified"),
		Tags:           p.stringList(root, "tags"),
		References:     p.stringList(root, "references"),
		FalsePositives: p.stringList(root, "falsepositives"),
		Fields:         p.stringList(root, "fields"),
		Path:           p.file,
		Pos:            p.pos(root),
		Index:          p.index,
	}
	m.Author = strings.Join(p.stringList(root, "author"), ", ")
	if _, v := lookup(root, "id"); v != nil {
		m.IDPos = p.pos(v)
	}
	if _, v := lookup(root, "name"); v != nil {
		m.NamePos = p.pos(v)
	}
	if _, rel := lookup(root, "related"); rel != nil && rel.Kind == yaml.SequenceNode {
		for _, e := range rel.Content {
			m.Related = append(m.Related, Related{ID: p.scalar(e, "id"), Type: p.scalar(e, "type")})
		}
	}
	return m
}

func (p *docParser) logsource(root *yaml.Node, required bool) Logsource {
	k, ls := lookup(root, "logsource")
	if ls == nil || isNull(ls) {
		if required {
			p.errorf(root, "missing logsource")
		}
		return Logsource{}
	}
	if ls.Kind != yaml.MappingNode {
		p.errorf(k, "logsource must be a mapping, got %s", kindName(ls))
		return Logsource{}
	}
	return Logsource{
		Product:    p.scalar(ls, "product"),
		Category:   p.scalar(ls, "category"),
		Service:    p.scalar(ls, "service"),
		Definition: p.scalar(ls, "definition"),
	}
}

func (p *docParser) parseRule(root *yaml.Node) *Rule {
	before := len(p.errs)
	r := &Rule{Meta: p.meta(root)}
	r.Logsource = p.logsource(root, false)
	r.Scope = p.stringList(root, "scope")
	r.Alert = p.parseTripline(root)
	k, det := lookup(root, "detection")
	if det == nil {
		p.errorf(root, "missing detection (not a rule, correlation or filter document)")
		return nil
	}
	r.Detection = p.parseDetection(k, det, "detection", false)
	if len(p.errs) > before || r.Detection == nil {
		return nil
	}
	return r
}

// parseDetection parses a detection (or a filter's `filter:` section).
// In a filter the `rules` key is not a search identifier.
func (p *docParser) parseDetection(key, n *yaml.Node, what string, isFilter bool) *Detection {
	if n.Kind != yaml.MappingNode {
		p.errorf(key, "%s must be a mapping, got %s", what, kindName(n))
		return nil
	}
	d := &Detection{Searches: map[string]*Search{}, Pos: p.pos(key)}
	before := len(p.errs)
	var condKey, condNode *yaml.Node
	for _, kv := range mappingPairs(n) {
		k, v := kv[0], kv[1]
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(n, "%s keys must be strings", what)
			continue
		}
		switch {
		case k.Value == "condition":
			condKey, condNode = k, v
			continue
		case k.Value == "timeframe" && !isFilter:
			if v != nil && v.Kind == yaml.ScalarNode {
				d.Timeframe = v.Value
			}
			continue
		case k.Value == "rules" && isFilter:
			continue
		}
		if _, dup := d.Searches[k.Value]; dup {
			p.errorf(k, "duplicate search identifier %q", k.Value)
			continue
		}
		s := p.parseSearch(k, v)
		if s != nil {
			d.Searches[k.Value] = s
			d.Order = append(d.Order, k.Value)
		}
	}
	if condNode == nil || isNull(condNode) {
		p.errorf(key, "%s has no condition", what)
		return nil
	}
	if len(p.errs) > before {
		// A broken search would only resurface as a confusing "unknown
		// identifier" in the condition.
		return nil
	}
	var conds []*yaml.Node
	switch condNode.Kind {
	case yaml.ScalarNode:
		conds = []*yaml.Node{condNode}
	case yaml.SequenceNode:
		if isFilter {
			p.errorf(condKey, "a filter must have exactly one condition")
			return nil
		}
		for _, c := range condNode.Content {
			conds = append(conds, deref(c))
		}
		if len(conds) == 0 {
			p.errorf(condKey, "condition list is empty")
			return nil
		}
	default:
		p.errorf(condKey, "condition must be a string or a list of strings, got %s", kindName(condNode))
		return nil
	}
	for _, c := range conds {
		if c == nil || c.Kind != yaml.ScalarNode || isNull(c) {
			p.errorf(condKey, "condition must be a string")
			return nil
		}
		base := p.pos(c)
		if c.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			base.Col++
		}
		if c.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || strings.Contains(c.Value, "\n") {
			// Offsets inside block scalars do not map to one line.
			base.Col = 0
		}
		e, err := ParseCondition(c.Value, base, d)
		if err != nil {
			p.errs = append(p.errs, err)
			return nil
		}
		d.Conditions = append(d.Conditions, &Condition{Text: c.Value, Expr: e, Pos: p.pos(c)})
	}
	return d
}

func (p *docParser) parseSearch(k, v *yaml.Node) *Search {
	s := &Search{Name: k.Value, Pos: p.pos(k)}
	if v == nil || isNull(v) {
		p.errorf(k, "search identifier %q is empty", k.Value)
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		g := p.parseGroup(v)
		if g == nil {
			return nil
		}
		s.Groups = []*Group{g}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			p.errorf(k, "search identifier %q is an empty list", k.Value)
			return nil
		}
		var kw *Item
		for _, e := range v.Content {
			e = deref(e)
			if e == nil {
				p.errorf(v, "unresolvable alias in %q", k.Value)
				return nil
			}
			switch e.Kind {
			case yaml.MappingNode:
				g := p.parseGroup(e)
				if g == nil {
					return nil
				}
				s.Groups = append(s.Groups, g)
			case yaml.ScalarNode:
				// Plain values in a list are keywords, OR-ed. Consecutive
				// ones share one item so `|all`-less keyword lists stay one
				// OR node.
				val, ok := p.value(e)
				if !ok {
					return nil
				}
				if kw == nil {
					kw = &Item{Pos: p.pos(e)}
					s.Groups = append(s.Groups, &Group{Items: []*Item{kw}, Pos: p.pos(e)})
				}
				kw.Values = append(kw.Values, val)
			default:
				p.errorf(e, "unsupported nested list in search identifier %q", k.Value)
				return nil
			}
		}
	case yaml.ScalarNode:
		val, ok := p.value(v)
		if !ok {
			return nil
		}
		s.Groups = []*Group{{Items: []*Item{{Values: []Value{val}, Pos: p.pos(v)}}, Pos: p.pos(v)}}
	default:
		p.errorf(v, "search identifier %q must be a mapping or a list", k.Value)
		return nil
	}
	return s
}

func (p *docParser) parseGroup(n *yaml.Node) *Group {
	g := &Group{Pos: p.pos(n)}
	pairs := mappingPairs(n)
	if len(pairs) == 0 {
		p.errorf(n, "empty detection map")
		return nil
	}
	for _, kv := range pairs {
		k, v := kv[0], kv[1]
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(n, "detection field names must be strings")
			return nil
		}
		it := &Item{Pos: p.pos(k)}
		parts := strings.Split(k.Value, "|")
		it.Field = parts[0]
		if strings.TrimSpace(it.Field) == "" && len(parts) == 1 {
			// An empty name would silently become a keyword search of
			// every field of the event. A key of modifiers only
			// ('|all': [...]) is Sigma's way to write keywords with
			// modifiers, and stays one.
			p.errorf(k, "empty field name: name the field, or list the values as keywords (`- value`) to search every field")
			return nil
		}
		for _, m := range parts[1:] {
			if !KnownModifiers[m] {
				p.errorf(k, "unknown modifier %q in %q", m, k.Value)
				return nil
			}
			it.Modifiers = append(it.Modifiers, m)
		}
		if v == nil {
			p.errorf(k, "unresolvable value for %q", k.Value)
			return nil
		}
		switch v.Kind {
		case yaml.ScalarNode:
			val, ok := p.value(v)
			if !ok {
				return nil
			}
			it.Values = []Value{val}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				e = deref(e)
				if e == nil || e.Kind != yaml.ScalarNode {
					p.errorf(v, "values of %q must be scalars", k.Value)
					return nil
				}
				val, ok := p.value(e)
				if !ok {
					return nil
				}
				it.Values = append(it.Values, val)
			}
			if len(it.Values) == 0 {
				p.errorf(v, "empty value list for %q", k.Value)
				return nil
			}
		default:
			p.errorf(v, "value of %q must be a scalar or a list of scalars, got %s", k.Value, kindName(v))
			return nil
		}
		g.Items = append(g.Items, it)
	}
	return g
}

func (p *docParser) value(n *yaml.Node) (Value, bool) {
	v := Value{Raw: n.Value, Pos: p.pos(n)}
	switch n.Tag {
	case "!!null":
		v.Kind = NullValue
		v.Raw = ""
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			p.errorf(n, "invalid boolean %q", n.Value)
			return v, false
		}
		v.Kind, v.Bool = BoolValue, b
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsNaN(f) {
			// Keep odd numerics (e.g. ".nan") as strings rather than fail.
			v.Kind = StringValue
			return v, true
		}
		v.Kind, v.Num = NumberValue, f
	default:
		v.Kind = StringValue
	}
	return v, true
}

func (p *docParser) parseFilter(root, f *yaml.Node) *Filter {
	before := len(p.errs)
	flt := &Filter{Meta: p.meta(root)}
	flt.Logsource = p.logsource(root, true)
	if k, _ := lookup(root, "tripline"); k != nil {
		p.errorf(k, "a filter raises no alerts: set tripline.alert on the rules it filters")
	}
	fk, _ := lookup(root, "filter")
	if f.Kind != yaml.MappingNode {
		p.errorf(fk, "filter must be a mapping, got %s", kindName(f))
		return nil
	}
	rk, rules := lookup(f, "rules")
	switch {
	case rules == nil || isNull(rules):
		flt.AnyRule = true
	case rules.Kind == yaml.ScalarNode:
		if strings.EqualFold(rules.Value, "any") || strings.EqualFold(rules.Value, "all") {
			flt.AnyRule = true
		} else {
			flt.Rules = []string{rules.Value}
		}
	case rules.Kind == yaml.SequenceNode:
		for _, e := range rules.Content {
			e = deref(e)
			if e == nil || e.Kind != yaml.ScalarNode {
				p.errorf(rk, "filter rules must be rule ids or names")
				return nil
			}
			flt.Rules = append(flt.Rules, e.Value)
		}
		flt.AnyRule = len(flt.Rules) == 0
	default:
		p.errorf(rk, "filter rules must be 'any', a rule id/name or a list of them")
		return nil
	}
	flt.Detection = p.parseDetection(fk, f, "filter", true)
	if len(p.errs) > before || flt.Detection == nil {
		return nil
	}
	return flt
}

var correlationTypes = map[string]bool{
	"event_count": true, "value_count": true, "temporal": true, "temporal_ordered": true,
	"value_sum": true, "value_avg": true, "value_percentile": true, "value_median": true,
	// tripline extensions (package correlate): anomaly types.
	"first_seen": true, "baseline": true, "dormant": true,
}

// correlationKeys are the keys of a correlation section that the parser
// interprets; any other scalar key is kept in Correlation.Params for
// extensions to read.
var correlationKeys = map[string]bool{
	"type": true, "rules": true, "group-by": true, "timespan": true, "timeframe": true,
	"generate": true, "condition": true, "aliases": true,
}

var correlationOps = map[string]bool{"gt": true, "gte": true, "lt": true, "lte": true, "eq": true, "neq": true}

func (p *docParser) parseCorrelation(root, c *yaml.Node) *Correlation {
	before := len(p.errs)
	co := &Correlation{Meta: p.meta(root)}
	co.Alert = p.parseTripline(root)
	ck, _ := lookup(root, "correlation")
	if c.Kind != yaml.MappingNode {
		p.errorf(ck, "correlation must be a mapping, got %s", kindName(c))
		return nil
	}
	co.Type = p.scalar(c, "type")
	if !correlationTypes[co.Type] {
		p.errorf(c, "unknown correlation type %q", co.Type)
	}
	co.Rules = p.stringList(c, "rules")
	if len(co.Rules) == 0 {
		p.errorf(c, "correlation has no rules")
	}
	co.GroupBy = p.stringList(c, "group-by")
	co.TimespanRaw = p.scalar(c, "timespan")
	tsNode := c
	if _, v := lookup(c, "timespan"); v != nil {
		tsNode = v
	}
	if co.TimespanRaw == "" {
		co.TimespanRaw = p.scalar(c, "timeframe")
		if _, v := lookup(c, "timeframe"); v != nil {
			tsNode = v
		}
	}
	if co.TimespanRaw != "" {
		d, err := ParseTimespan(co.TimespanRaw)
		if err != nil {
			p.errorf(tsNode, "%v", err)
		}
		co.Timespan = d
	} else {
		p.errorf(c, "correlation has no timespan")
	}
	if gk, g := lookup(c, "generate"); g != nil {
		if err := g.Decode(&co.Generate); err != nil {
			p.errorf(gk, "generate must be a boolean")
		}
	}
	if cdk, cond := lookup(c, "condition"); cond != nil {
		switch cond.Kind {
		case yaml.ScalarNode:
			co.ConditionExpr = cond.Value
		case yaml.MappingNode:
			co.Condition = map[string]float64{}
			for _, kv := range mappingPairs(cond) {
				key := kv[0].Value
				if key == "field" {
					if kv[1] != nil && kv[1].Kind == yaml.ScalarNode {
						co.ConditionField = kv[1].Value
						co.ConditionFields = []string{kv[1].Value}
					}
					if kv[1] != nil && kv[1].Kind == yaml.SequenceNode {
						for _, e := range kv[1].Content {
							if e = deref(e); e != nil && e.Kind == yaml.ScalarNode {
								co.ConditionFields = append(co.ConditionFields, e.Value)
							}
						}
						if len(co.ConditionFields) > 0 {
							co.ConditionField = co.ConditionFields[0]
						}
					}
					continue
				}
				if !correlationOps[key] {
					p.errorf(kv[0], "unknown correlation condition operator %q", key)
					continue
				}
				var f float64
				if kv[1] == nil || kv[1].Decode(&f) != nil {
					p.errorf(kv[0], "correlation condition %s needs a number", key)
					continue
				}
				co.Condition[key] = f
			}
		default:
			p.errorf(cdk, "correlation condition must be a mapping or a string")
		}
	} else if co.Type != "temporal" && co.Type != "temporal_ordered" && co.Type != "first_seen" && co.Type != "dormant" {
		p.errorf(c, "correlation of type %q needs a condition", co.Type)
	}
	for _, kv := range mappingPairs(c) {
		if kv[0] == nil || correlationKeys[kv[0].Value] || kv[1] == nil || kv[1].Kind != yaml.ScalarNode {
			continue
		}
		if co.Params == nil {
			co.Params = map[string]string{}
		}
		co.Params[kv[0].Value] = kv[1].Value
	}
	if ak, al := lookup(c, "aliases"); al != nil && !isNull(al) {
		if al.Kind != yaml.MappingNode {
			p.errorf(ak, "aliases must be a mapping")
		}
		co.Aliases = map[string]map[string]string{}
		for _, kv := range mappingPairs(al) {
			m := map[string]string{}
			for _, rv := range mappingPairs(kv[1]) {
				if rv[1] != nil && rv[1].Kind == yaml.ScalarNode {
					m[rv[0].Value] = rv[1].Value
				}
			}
			co.Aliases[kv[0].Value] = m
		}
	}
	if len(p.errs) > before {
		return nil
	}
	return co
}

// MaxTimespan is the longest timespan (and correlation history or
// learning period) accepted: ten years. That is far beyond any useful
// window (the detector rebuilds at most 30 days of state) and far below
// time.Duration's 292-year range, so arithmetic on a timespan cannot
// overflow.
const MaxTimespan = 10 * 365 * 24 * time.Hour

// maxTimespanText is MaxTimespan as errors show it.
const maxTimespanText = "10y (3650 days)"

var timespanUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
	'M': 30 * 24 * time.Hour,
	'y': 365 * 24 * time.Hour,
}

// ParseTimespan parses Sigma timespans: a number followed by s, m, h, d,
// w, M (30 days) or y (365 days), at most MaxTimespan. Zero is accepted
// (a rule test's `_after: 0s`); correlations require a positive one. The
// error names the timespan, e.g. `timespan "585y" exceeds the maximum of
// 10y (3650 days)`.
func ParseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want <number><unit>, e.g. 5m", s)
	}
	digits, u := s[:len(s)-1], s[len(s)-1]
	unit, ok := timespanUnits[u]
	if !ok {
		return 0, fmt.Errorf("timespan %q: unknown unit %q (want s, m, h, d, w, M or y)", s, string(u))
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("timespan %q: want <number><unit>, e.g. 5m", s)
		}
	}
	// Only digits are left, so ParseUint fails only when the number
	// overflows; checking against the maximum before multiplying keeps
	// 585y from wrapping around to 21 days.
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > uint64(MaxTimespan/unit) {
		return 0, fmt.Errorf("timespan %q exceeds the maximum of %s", s, maxTimespanText)
	}
	return time.Duration(n) * unit, nil
}
