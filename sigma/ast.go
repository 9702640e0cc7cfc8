package sigma

import (
	"path"
	"strconv"
	"strings"
	"time"
)

// Logsource is the rule's (or filter's) log source selector. Values are kept
// as written; comparisons elsewhere are case-insensitive.
type Logsource struct {
	Product    string
	Category   string
	Service    string
	Definition string
}

// IsZero reports whether no selector part is set.
func (l Logsource) IsZero() bool {
	return l.Product == "" && l.Category == "" && l.Service == ""
}

// Covers reports whether every selector part set in l equals the same part
// of other. It is pySigma's "rule.logsource in filter.logsource": a filter
// for product=windows covers a rule for product=windows,category=x.
func (l Logsource) Covers(other Logsource) bool {
	return partCovers(l.Product, other.Product) &&
		partCovers(l.Category, other.Category) &&
		partCovers(l.Service, other.Service)
}

func partCovers(general, specific string) bool {
	return general == "" || strings.EqualFold(general, specific)
}

// Meta is the descriptive metadata shared by rules, correlations and
// filters.
type Meta struct {
	Title          string
	ID             string
	Name           string
	Status         string
	Level          string
	Description    string
	Author         string
	License        string
	Date           string
	Modified       string
	Tags           []string
	References     []string
	FalsePositives []string
	Fields         []string
	Related        []Related
	// Path is the file the document came from and Pos where the document
	// starts in it.
	Path string
	Pos  Pos
	// IDPos and NamePos are where the id and the name are written (zero
	// when absent), for errors about them.
	IDPos, NamePos Pos
	// Index is the document's position in a multi-document file (0-based).
	Index int
}

// Related is an entry of the `related` list.
type Related struct {
	ID   string
	Type string
}

// Identity is what other documents (filters, correlations) use to refer to
// this one: the Sigma id, else name, else the file's base name without its
// extension. Documents after the first in a multi-document file without id
// or name get a "#index" suffix so identities stay unique.
func (m *Meta) Identity() string {
	if m.ID != "" {
		return m.ID
	}
	if m.Name != "" {
		return m.Name
	}
	base := path.Base(strings.ReplaceAll(m.Path, "\\", "/"))
	base = strings.TrimSuffix(base, path.Ext(base))
	if m.Index > 0 {
		return base + "#" + strconv.Itoa(m.Index)
	}
	return base
}

// Refers reports whether ref (an id or a name) designates this document.
func (m *Meta) Refers(ref string) bool {
	return ref != "" && (ref == m.ID || ref == m.Name || ref == m.Identity())
}

// Rule is a Sigma detection rule.
type Rule struct {
	Meta
	Logsource Logsource
	Detection *Detection
	// Scope is the optional `scope` list.
	Scope []string
	// Alert is tripline's `tripline: alert:` block, nil when absent.
	Alert *AlertBlock
}

// Detection is a parsed `detection:` section (also used for a filter's
// `filter:` section).
type Detection struct {
	// Searches holds the named search identifiers; Order keeps them in file
	// order because `1 of them` and diagnostics should be deterministic.
	Searches map[string]*Search
	Order    []string
	// Conditions are OR-ed together (a condition list is an OR).
	Conditions []*Condition
	// Timeframe is the legacy `timeframe` key, kept for reference only.
	Timeframe string
	Pos       Pos
}

// Search is one search identifier: an OR of groups, each group an AND of
// items. A YAML map is one group; a list of maps is one group per map; a
// list of plain values becomes one keyword item.
type Search struct {
	Name   string
	Groups []*Group
	Pos    Pos
}

// Group is an AND of detection items.
type Group struct {
	Items []*Item
	Pos   Pos
}

// Item is one `field|mod1|mod2: values` entry. An empty Field is a keyword
// search over every string of the event.
type Item struct {
	Field     string
	Modifiers []string
	Values    []Value
	Pos       Pos
}

// Keyword reports whether the item searches all string values of the event
// rather than one field.
func (it *Item) Keyword() bool { return it.Field == "" }

// Has reports whether the item carries modifier m.
func (it *Item) Has(m string) bool {
	for _, x := range it.Modifiers {
		if x == m {
			return true
		}
	}
	return false
}

// ValueKind is the YAML type of a detection value.
type ValueKind uint8

const (
	StringValue ValueKind = iota
	NumberValue
	BoolValue
	NullValue
)

func (k ValueKind) String() string {
	switch k {
	case StringValue:
		return "string"
	case NumberValue:
		return "number"
	case BoolValue:
		return "bool"
	case NullValue:
		return "null"
	}
	return "unknown"
}

// Value is one detection value. Raw is the scalar as written (escapes and
// wildcards not yet interpreted, see ParsePattern); Num and Bool are set for
// numbers and booleans.
type Value struct {
	Kind ValueKind
	Raw  string
	Num  float64
	Bool bool
	Pos  Pos
}

// Condition is one parsed condition string.
type Condition struct {
	Text string
	Expr Expr
	Pos  Pos
}

// Correlation is a Sigma correlation (meta) rule. It is parsed and kept in
// the AST; evaluation is not part of this package.
type Correlation struct {
	Meta
	Type     string
	Rules    []string
	GroupBy  []string
	Timespan time.Duration
	// TimespanRaw is the timespan as written ("5m").
	TimespanRaw string
	// Condition holds the comparison operators (gt, gte, lt, lte, eq, neq)
	// and their thresholds; ConditionField is the `field` of value_count
	// and friends. ConditionExpr is set when the condition is a boolean
	// expression over rule names (temporal correlations).
	Condition      map[string]float64
	ConditionField string
	// ConditionFields is `field` as a list (a combination of fields, for
	// the first_seen extension); ConditionField is its first element.
	ConditionFields []string
	ConditionExpr   string
	// Aliases maps alias -> rule reference -> field name.
	Aliases  map[string]map[string]string
	Generate bool
	// Params holds the other scalar keys of the correlation section, e.g.
	// the `learning` or `history` of tripline's anomaly extension types.
	Params map[string]string
	// Alert is tripline's `tripline: alert:` block, nil when absent.
	Alert *AlertBlock
}

// Filter is a Sigma global filter (meta filter). With pySigma semantics it
// is applied to the rules it references (or, when it references none or
// "any"/"all", to every rule whose logsource it covers) by rewriting their
// condition to `(original) and (filter condition)`; filter conditions are
// therefore written negated, e.g. `condition: not selection`.
type Filter struct {
	Meta
	Logsource Logsource
	// Rules are the referenced rule ids or names. AnyRule is true when the
	// filter applies to every rule with a covered logsource.
	Rules     []string
	AnyRule   bool
	Detection *Detection
}

// AppliesTo reports whether the filter should be applied to r.
func (f *Filter) AppliesTo(r *Rule) bool {
	if !f.Logsource.Covers(r.Logsource) {
		return false
	}
	if f.AnyRule {
		return true
	}
	for _, ref := range f.Rules {
		if r.Refers(ref) {
			return true
		}
	}
	return false
}

// Collection is everything parsed from one or more files.
type Collection struct {
	Rules        []*Rule
	Correlations []*Correlation
	Filters      []*Filter
	// Nodes is the YAML nodes, after alias expansion, of the files parsed
	// into the collection: what loading them cost, for limits on a whole
	// rule set.
	Nodes int
}

// Add appends other's documents to c.
func (c *Collection) Add(other *Collection) {
	if other == nil {
		return
	}
	c.Rules = append(c.Rules, other.Rules...)
	c.Correlations = append(c.Correlations, other.Correlations...)
	c.Filters = append(c.Filters, other.Filters...)
	c.Nodes += other.Nodes
}
