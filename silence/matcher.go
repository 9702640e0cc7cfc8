// Package silence holds alerts back from delivery: matchers on alert
// fields, the rules a silence must follow, and the Set of active silences
// the detector consults for every alert change (docs/alerts.md,
// "Silences").
package silence

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// Op is a matcher's comparison.
type Op uint8

const (
	// Equal: the field equals the value ("key=value").
	Equal Op = iota + 1
	// NotEqual: the field differs from the value ("key!=value").
	NotEqual
	// Regex: the field matches the anchored RE2 expression ("key=~re").
	Regex
	// NotRegex: the field does not match it ("key!~re").
	NotRegex
)

func (o Op) String() string {
	switch o {
	case Equal:
		return "="
	case NotEqual:
		return "!="
	case Regex:
		return "=~"
	case NotRegex:
		return "!~"
	}
	return "?"
}

// Bounds on what a silence may hold. They keep a hostile or mistaken
// silence from making the per-alert check slow: RE2 is linear in the input
// but its program grows with the pattern.
const (
	MaxMatcherLen = 1024
	MaxKeyLen     = 128
	MaxMatchers   = 32
)

// Alert fields a matcher may name besides group-by fields (contract names).
const (
	FieldRuleID    = "rule_id"
	FieldRuleTitle = "rule_title"
	FieldLevel     = "level"
	FieldMSP       = "msp"
	FieldTenant    = "tenant"
	FieldActorUser = "actor_user"
	FieldTag       = "tag"
)

// AlertFields are the alert's own fields, in documentation order.
var AlertFields = []string{FieldRuleID, FieldRuleTitle, FieldLevel, FieldMSP, FieldTenant, FieldActorUser, FieldTag}

// Levels are the Sigma levels an alert can have; level=/!= matchers must
// name one, so a typo does not silently match nothing (or everything).
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// field says where a matcher reads its value.
type field uint8

const (
	fRuleID field = iota + 1
	fRuleTitle
	fLevel
	fMSP
	fTenant
	fActorUser
	fTag
	// fGroup reads a group-by field by its contract name; absent reads as
	// the empty string.
	fGroup
)

// Matcher is one parsed "key op value".
type Matcher struct {
	Key   string
	Op    Op
	Value string

	field field
	re    *regexp.Regexp
	// alts, when set, replaces re: the expression is one literal or an
	// alternation of literals (level=~high|critical, the common case),
	// compared as strings rather than run as a program.
	alts []string
}

// Parse parses one matcher: key=value, key!=value, key=~regex or
// key!~regex. Regular expressions are RE2 and anchored at both ends, as in
// Alertmanager: level=~"high|critical" matches "high", not "highest".
func Parse(s string) (Matcher, error) {
	if len(s) > MaxMatcherLen {
		return Matcher{}, fmt.Errorf("matcher is %d bytes, at most %d", len(s), MaxMatcherLen)
	}
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want key=value, key!=value, key=~regex or key!~regex", s)
	}
	key, rest := strings.TrimSpace(s[:i]), s[i:]
	var m Matcher
	switch {
	case strings.HasPrefix(rest, "=~"):
		m.Op, rest = Regex, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		m.Op, rest = NotRegex, rest[2:]
	case strings.HasPrefix(rest, "!="):
		m.Op, rest = NotEqual, rest[2:]
	case strings.HasPrefix(rest, "="):
		m.Op, rest = Equal, rest[1:]
	default:
		return Matcher{}, fmt.Errorf("matcher %q: want key=value, key!=value, key=~regex or key!~regex", s)
	}
	// Spaces around the value go, as in Alertmanager; quote a value to
	// keep them.
	m.Key, m.Value = key, unquote(strings.TrimSpace(rest))
	f, err := fieldOf(key)
	if err != nil {
		return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
	}
	m.field = f
	switch m.Op {
	case Regex, NotRegex:
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
		}
		m.re = re
		m.alts = literals(m.Value)
	default:
		if f == fLevel && !slices.Contains(Levels, m.Value) {
			return Matcher{}, fmt.Errorf("matcher %q: level must be one of %s", s, strings.Join(Levels, ", "))
		}
	}
	return m, nil
}

// unquote drops one pair of double quotes around a value, so that
// level=~"high|critical" (how Alertmanager users write it) works too.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

func fieldOf(key string) (field, error) {
	switch key {
	case FieldRuleID:
		return fRuleID, nil
	case FieldRuleTitle:
		return fRuleTitle, nil
	case FieldLevel:
		return fLevel, nil
	case FieldMSP:
		return fMSP, nil
	case FieldTenant:
		return fTenant, nil
	case FieldActorUser:
		return fActorUser, nil
	case FieldTag, "tags":
		return fTag, nil
	}
	if key == "" || len(key) > MaxKeyLen {
		return 0, errors.New("key is empty or too long")
	}
	if slices.Contains(contract.FieldPaths, key) {
		return fGroup, nil
	}
	for _, p := range []string{"attributes.", "context."} {
		if name, ok := strings.CutPrefix(key, p); ok && name != "" {
			return fGroup, nil
		}
	}
	return 0, fmt.Errorf("unknown field %q: use %s or a group-by field by its contract name (e.g. package.sha256)",
		key, strings.Join(AlertFields, ", "))
}

// String is the matcher in canonical form (no spaces around the key or
// value, no quotes), as Parse reads it back.
func (m Matcher) String() string {
	v := m.Value
	if v != strings.TrimSpace(v) || strings.HasPrefix(v, `"`) {
		v = `"` + v + `"`
	}
	return m.Key + m.Op.String() + v
}

// Canonical parses matchers and returns them in canonical form, which is
// how they are stored.
func Canonical(raw []string) ([]string, error) {
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		m, err := Parse(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m.String())
	}
	return out, nil
}

// Matches reports whether a satisfies m. For tag, = and =~ hold when any
// tag does, != and !~ when none does. A group-by field the alert does not
// group on reads as empty, so package.sha256!=X matches alerts grouped on
// something else. It does not allocate.
func (m *Matcher) Matches(a *record.Alert) bool {
	if m.field == fTag {
		hit := false
		for _, t := range a.Tags {
			if m.positive(t) {
				hit = true
				break
			}
		}
		if m.Op == NotEqual || m.Op == NotRegex {
			return !hit
		}
		return hit
	}
	v := m.value(a)
	if m.Op == NotEqual || m.Op == NotRegex {
		return !m.positive(v)
	}
	return m.positive(v)
}

// positive is the = or =~ test behind every op.
func (m *Matcher) positive(v string) bool {
	switch {
	case m.alts != nil:
		for _, a := range m.alts {
			if v == a {
				return true
			}
		}
		return false
	case m.re != nil:
		return m.re.MatchString(v)
	}
	return v == m.Value
}

// literals returns the strings an expression matches when it is a
// case-sensitive literal or an alternation of such literals, else nil.
// The parser factors common prefixes ("ab|ac" becomes "a[bc]"), so only
// expressions that stay plain literals qualify; anything else runs as a
// regular expression.
func literals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	lit := func(r *syntax.Regexp) (string, bool) {
		if r.Op != syntax.OpLiteral || r.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		return string(r.Rune), true
	}
	if s, ok := lit(re); ok {
		return []string{s}
	}
	if re.Op != syntax.OpAlternate {
		return nil
	}
	out := make([]string, 0, len(re.Sub))
	for _, sub := range re.Sub {
		s, ok := lit(sub)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (m *Matcher) value(a *record.Alert) string {
	switch m.field {
	case fRuleID:
		return a.RuleID
	case fRuleTitle:
		return a.RuleTitle
	case fLevel:
		return a.Level
	case fMSP:
		return a.MSP
	case fTenant:
		return a.Tenant
	case fActorUser:
		return a.ActorUser
	}
	for i, k := range a.GroupKeys {
		if k == m.Key && i < len(a.GroupValues) {
			return a.GroupValues[i]
		}
	}
	// The alert's own actor stands in for its contract name when the rule
	// does not group on it (msp and tenant are alert fields already).
	if m.Key == "actor.user" {
		return a.ActorUser
	}
	return ""
}
