package engine

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/tripline/tripline/sigma"
)

type vkind uint8

const (
	vkStr      vkind = iota // wildcard pattern against the value's string form
	vkNum                   // numeric equality (also the number's text)
	vkBool                  // boolean equality
	vkNull                  // null or absent
	vkCmp                   // lt/lte/gt/gte against a number
	vkCIDR                  // IP address within a prefix
	vkRe                    // regular expression
	vkFieldRef              // compare with another field of the same event
	vkTime                  // time part of a timestamp, then compared
)

type strOp uint8

const (
	opEq strOp = iota
	opPrefix
	opSuffix
	opContains
	opGlob
	opAny // "*": any string, including empty
)

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLte
	cmpGt
	cmpGte
)

type timePart uint8

const (
	tpMinute timePart = iota
	tpHour
	tpDay
	tpWeek
	tpMonth
	tpYear
	// tpWeekday is the ISO 8601 day of the week, 1 (Monday) to 7 (Sunday):
	// a tripline extension, so "weekend" is weekday|gte: 6.
	tpWeekday
)

// weekdayNames lets a weekday rule name its days (weekday: [sat, sun]),
// the way the registry's context.weekday spells them.
var weekdayNames = map[string]float64{"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}

// valm is one compiled rule value. It is a plain struct (not an interface)
// so matching is a switch over a kind with everything inline.
type valm struct {
	kind  vkind
	op    strOp
	cased bool
	// lit is the literal for opEq/opPrefix/opSuffix/opContains (folded
	// unless cased), or the number's text for vkNum.
	lit  string
	glob *glob
	num  float64
	cmp  cmpOp
	b    bool
	pfx  netip.Prefix
	re   *regexp.Regexp
	ref  int // slot of the referenced field (vkFieldRef)
	part timePart
	// pat is the pattern the matcher came from (for prefilter needles).
	pat sigma.Pattern
	// acp is 1 + the id of this value's literal in its field's automaton
	// (0: none). For folded `contains` values the automaton's hit bit is
	// the exact answer, so the value is never re-searched.
	acp int32
	// need lists the automaton ids of literals of which one must occur in
	// the folded value for a regular expression or an inner-wildcard glob
	// to match (regexNeedles, valueNeedle): when the scan found none, the
	// value cannot match and the regexp or glob is not run. Most SigmaHQ
	// regexps on CommandLine are candidates through another item of their
	// rule and have no literal prefix Go's regexp could skip to.
	need []int32
}

func (m *valm) matchPattern(s string) bool {
	switch m.op {
	case opEq:
		return s == m.lit
	case opPrefix:
		return strings.HasPrefix(s, m.lit)
	case opSuffix:
		return strings.HasSuffix(s, m.lit)
	case opContains:
		return strings.Contains(s, m.lit)
	case opAny:
		return true
	}
	return m.glob.match(s)
}

func compare(x float64, op cmpOp, y float64) bool {
	switch op {
	case cmpLt:
		return x < y
	case cmpLte:
		return x <= y
	case cmpGt:
		return x > y
	case cmpGte:
		return x >= y
	}
	return x == y
}

// modSet is an item's modifier chain split into what it does.
type modSet struct {
	transforms []string // applied in order to string patterns
	all        bool
	cased      bool
	neq        bool
	exists     bool
	re         bool
	reFlags    string
	cidr       bool
	cmp        cmpOp
	hasCmp     bool
	timePart   timePart
	hasTime    bool
	expand     bool
	fieldref   bool
}

func parseMods(it *sigma.Item) (modSet, error) {
	var ms modSet
	for _, m := range it.Modifiers {
		switch m {
		case "all":
			ms.all = true
		case "cased":
			ms.cased = true
		case "neq":
			ms.neq = true
		case "exists":
			ms.exists = true
		case "re":
			ms.re = true
		case "i", "ignorecase", "m", "multiline", "s", "dotall":
			if !ms.re {
				return ms, fmt.Errorf("modifier %q is only valid after 're'", m)
			}
			ms.reFlags += m[:1]
		case "cidr":
			ms.cidr = true
		case "lt", "lte", "gt", "gte":
			if ms.hasCmp {
				return ms, fmt.Errorf("only one of lt, lte, gt, gte may be used")
			}
			ms.hasCmp = true
			ms.cmp = map[string]cmpOp{"lt": cmpLt, "lte": cmpLte, "gt": cmpGt, "gte": cmpGte}[m]
		case "minute", "hour", "day", "week", "month", "year", "weekday":
			if ms.hasTime {
				return ms, fmt.Errorf("only one time part modifier may be used")
			}
			ms.hasTime = true
			ms.timePart = map[string]timePart{"minute": tpMinute, "hour": tpHour, "day": tpDay, "week": tpWeek, "month": tpMonth, "year": tpYear, "weekday": tpWeekday}[m]
		case "expand":
			ms.expand = true
		case "fieldref":
			ms.fieldref = true
		case "contains", "startswith", "endswith", "windash", "base64", "base64offset",
			"utf16le", "utf16be", "utf16", "wide":
			ms.transforms = append(ms.transforms, m)
		default:
			return ms, fmt.Errorf("unsupported modifier %q", m)
		}
	}
	special := 0
	for _, b := range []bool{ms.exists, ms.re, ms.cidr, ms.hasCmp && !ms.hasTime, ms.fieldref, ms.hasTime} {
		if b {
			special++
		}
	}
	if special > 1 {
		return ms, fmt.Errorf("modifiers %s cannot be combined", strings.Join(it.Modifiers, "|"))
	}
	if special == 1 && !ms.fieldref {
		for _, t := range ms.transforms {
			return ms, fmt.Errorf("modifier %q cannot be combined with %s", t, strings.Join(it.Modifiers, "|"))
		}
	}
	if ms.fieldref {
		for _, t := range ms.transforms {
			if t != "contains" && t != "startswith" && t != "endswith" {
				return ms, fmt.Errorf("modifier %q cannot be combined with fieldref", t)
			}
		}
	}
	if ms.all && len(it.Values) < 2 && !it.Keyword() {
		// The specification forbids it, but the intent is unambiguous and
		// pySigma accepts it; do not reject otherwise-valid rules.
		ms.all = false
	}
	return ms, nil
}

// compileValues turns an item's values into matchers. It returns whether
// the values are AND-ed (the `all` modifier).
func (c *compiler) compileValues(it *sigma.Item, ms modSet) ([]valm, error) {
	var out []valm
	for _, v := range it.Values {
		vs, err := c.compileValue(it, ms, v)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (c *compiler) compileValue(it *sigma.Item, ms modSet, v sigma.Value) ([]valm, error) {
	if it.Keyword() && (v.Kind == sigma.NumberValue || v.Kind == sigma.BoolValue) {
		// A keyword is text to find; `- 6` searches for "6".
		v.Kind = sigma.StringValue
	}
	switch {
	case ms.re:
		if v.Kind != sigma.StringValue && v.Kind != sigma.NumberValue {
			return nil, fmt.Errorf("re needs a string value, got %s", v.Kind)
		}
		expr := v.Raw
		if ms.reFlags != "" {
			expr = "(?" + dedupFlags(ms.reFlags) + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			if why := re2Unsupported(v.Raw); why != "" {
				return nil, fmt.Errorf("invalid regular expression %q: %s (Go regexp: %w)", v.Raw, why, err)
			}
			return nil, fmt.Errorf("invalid regular expression %q: %w", v.Raw, err)
		}
		return []valm{{kind: vkRe, re: re}}, nil
	case ms.cidr:
		pfx, err := parsePrefix(v.Raw)
		if err != nil {
			return nil, fmt.Errorf("invalid cidr %q: %w", v.Raw, err)
		}
		return []valm{{kind: vkCIDR, pfx: pfx}}, nil
	case ms.hasTime:
		n, ok := numberOf(v)
		if d, named := weekdayNames[strings.ToLower(strings.TrimSpace(v.Raw))]; !ok && named && ms.timePart == tpWeekday {
			n, ok = d, true
		}
		if !ok {
			return nil, fmt.Errorf("time part modifier needs a number, got %q", v.Raw)
		}
		return []valm{{kind: vkTime, part: ms.timePart, num: n, cmp: ms.cmp}}, nil
	case ms.hasCmp:
		n, ok := numberOf(v)
		if !ok {
			return nil, fmt.Errorf("comparison modifier needs a number, got %q", v.Raw)
		}
		return []valm{{kind: vkCmp, num: n, cmp: ms.cmp}}, nil
	case ms.fieldref:
		if v.Kind != sigma.StringValue || v.Raw == "" {
			return nil, fmt.Errorf("fieldref needs a field name")
		}
		op := opEq
		for _, t := range ms.transforms {
			switch t {
			case "contains":
				op = opContains
			case "startswith":
				op = opPrefix
			case "endswith":
				op = opSuffix
			}
		}
		return []valm{{kind: vkFieldRef, op: op, cased: ms.cased, ref: c.slot(c.eventPath(v.Raw))}}, nil
	}
	if len(ms.transforms) == 0 && !ms.expand {
		switch v.Kind {
		case sigma.NullValue:
			return []valm{{kind: vkNull}}, nil
		case sigma.BoolValue:
			return []valm{{kind: vkBool, b: v.Bool}}, nil
		case sigma.NumberValue:
			return []valm{{kind: vkNum, num: v.Num, lit: strings.ToLower(v.Raw)}}, nil
		}
	} else if v.Kind == sigma.NullValue {
		return nil, fmt.Errorf("modifiers %s cannot be applied to null", strings.Join(it.Modifiers, "|"))
	}
	// String pipeline.
	var pats []sigma.Pattern
	if ms.expand {
		raws, err := c.expandPlaceholders(v.Raw)
		if err != nil {
			return nil, err
		}
		for _, r := range raws {
			pats = append(pats, sigma.ParsePattern(r))
		}
	} else {
		pats = []sigma.Pattern{sigma.ParsePattern(v.Raw)}
	}
	for _, t := range ms.transforms {
		var err error
		pats, err = applyTransform(t, pats)
		if err != nil {
			return nil, err
		}
		if len(pats) > maxExpansion {
			return nil, fmt.Errorf("modifiers expand one value into more than %d patterns", maxExpansion)
		}
	}
	if it.Keyword() {
		// Keywords are full-text searches: a keyword matches when it
		// occurs anywhere in one of the event's strings.
		for i, p := range pats {
			pats[i] = wrap(p, true, true)
		}
	}
	out := make([]valm, 0, len(pats))
	for _, p := range pats {
		out = append(out, newStrMatcher(p, ms.cased))
	}
	return out, nil
}

const maxExpansion = 4096

func dedupFlags(f string) string {
	var b strings.Builder
	for _, c := range "ims" {
		if strings.ContainsRune(f, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func numberOf(v sigma.Value) (float64, bool) {
	switch v.Kind {
	case sigma.NumberValue:
		return v.Num, true
	case sigma.StringValue:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Raw), 64)
		return f, err == nil
	}
	return 0, false
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func newStrMatcher(p sigma.Pattern, cased bool) valm {
	if !cased {
		p = foldPattern(p)
	}
	m := valm{kind: vkStr, cased: cased, pat: p}
	n := len(p)
	switch {
	case n == 0:
		m.op, m.lit = opEq, ""
	case n == 1 && p[0].Kind == sigma.Literal:
		m.op, m.lit = opEq, p[0].Text
	case n == 1 && p[0].Kind == sigma.Star:
		m.op = opAny
	case n == 2 && p[0].Kind == sigma.Literal && p[1].Kind == sigma.Star:
		m.op, m.lit = opPrefix, p[0].Text
	case n == 2 && p[0].Kind == sigma.Star && p[1].Kind == sigma.Literal:
		m.op, m.lit = opSuffix, p[1].Text
	case n == 3 && p[0].Kind == sigma.Star && p[1].Kind == sigma.Literal && p[2].Kind == sigma.Star:
		m.op, m.lit = opContains, p[1].Text
	default:
		m.op, m.glob = opGlob, newGlob(p)
	}
	return m
}

func foldPattern(p sigma.Pattern) sigma.Pattern {
	out := make(sigma.Pattern, len(p))
	for i, x := range p {
		if x.Kind == sigma.Literal {
			x.Text = lowerString(x.Text)
		}
		out[i] = x
	}
	return out
}

func wrap(p sigma.Pattern, before, after bool) sigma.Pattern {
	out := make(sigma.Pattern, 0, len(p)+2)
	if before {
		out = append(out, sigma.Part{Kind: sigma.Star})
	}
	out = append(out, p...)
	if after {
		out = append(out, sigma.Part{Kind: sigma.Star})
	}
	return out.Normalize()
}

func applyTransform(t string, in []sigma.Pattern) ([]sigma.Pattern, error) {
	var out []sigma.Pattern
	for _, p := range in {
		switch t {
		case "contains":
			out = append(out, wrap(p, true, true))
		case "startswith":
			out = append(out, wrap(p, false, true))
		case "endswith":
			out = append(out, wrap(p, true, false))
		case "windash":
			out = append(out, windash(p)...)
		case "base64":
			if !p.IsLiteral() {
				return nil, fmt.Errorf("base64 cannot encode a value with wildcards (%q)", p.String())
			}
			out = append(out, sigma.LiteralPattern(base64.StdEncoding.EncodeToString([]byte(p.Literal()))))
		case "base64offset":
			if !p.IsLiteral() {
				return nil, fmt.Errorf("base64offset cannot encode a value with wildcards (%q)", p.String())
			}
			for _, s := range base64Offsets(p.Literal()) {
				out = append(out, sigma.LiteralPattern(s))
			}
		case "utf16le", "wide", "utf16be", "utf16":
			out = append(out, utf16Pattern(p, t))
		default:
			return nil, fmt.Errorf("unsupported modifier %q", t)
		}
	}
	return out, nil
}

// base64Offsets returns the three encodings of s as it would appear at byte
// offsets 0, 1 and 2 of a larger base64-encoded blob, trimmed to the
// characters that do not depend on the surrounding bytes (pySigma's
// algorithm).
func base64Offsets(s string) []string {
	startOffsets := [3]int{0, 2, 3}
	endOffsets := [3]int{0, -3, -2} // 0 means "to the end"
	var out []string
	for i := 0; i < 3; i++ {
		buf := append([]byte(strings.Repeat(" ", i)), s...)
		enc := base64.StdEncoding.EncodeToString(buf)
		end := len(enc)
		if e := endOffsets[(len(s)+i)%3]; e != 0 {
			end += e
		}
		start := startOffsets[i]
		if start > end {
			start = end
		}
		out = append(out, enc[start:end])
	}
	return out
}

func utf16Pattern(p sigma.Pattern, variant string) sigma.Pattern {
	out := make(sigma.Pattern, 0, len(p)+1)
	if variant == "utf16" {
		out = append(out, sigma.Part{Kind: sigma.Literal, Text: "\xff\xfe"})
	}
	for _, x := range p {
		if x.Kind != sigma.Literal {
			out = append(out, x)
			continue
		}
		u := utf16.Encode([]rune(x.Text))
		b := make([]byte, 0, 2*len(u))
		for _, r := range u {
			if variant == "utf16be" {
				b = binary.BigEndian.AppendUint16(b, r)
			} else {
				b = binary.LittleEndian.AppendUint16(b, r)
			}
		}
		out = append(out, sigma.Part{Kind: sigma.Literal, Text: string(b)})
	}
	return out.Normalize()
}

// windashChars are the characters a Windows command-line flag prefix may be
// written with.
var windashChars = []string{"-", "/", "–", "—", "―"}

// windash expands every flag-like dash or slash (pySigma: regexp
// `\B[-/]\b`, i.e. not preceded by a word character and followed by one)
// into all windashChars permutations.
func windash(p sigma.Pattern) []sigma.Pattern {
	type site struct{ part, off int }
	var sites []site
	for pi, x := range p {
		if x.Kind != sigma.Literal {
			continue
		}
		t := x.Text
		for i := 0; i < len(t); i++ {
			if t[i] != '-' && t[i] != '/' {
				continue
			}
			prevWord := i > 0 && isWordByte(t[i-1])
			nextWord := i+1 < len(t) && isWordByte(t[i+1])
			if !prevWord && nextWord {
				sites = append(sites, site{pi, i})
			}
		}
	}
	if len(sites) == 0 {
		return []sigma.Pattern{p}
	}
	if len(sites) > 5 {
		sites = sites[:5] // 5^5 variants is already plenty
	}
	var out []sigma.Pattern
	idx := make([]int, len(sites))
	for {
		q := make(sigma.Pattern, len(p))
		copy(q, p)
		// Rewrite back to front within each part so offsets stay valid.
		for si := len(sites) - 1; si >= 0; si-- {
			s := sites[si]
			t := q[s.part].Text
			q[s.part].Text = t[:s.off] + windashChars[idx[si]] + t[s.off+1:]
		}
		out = append(out, q)
		k := len(idx) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < len(windashChars) {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			break
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80
}

// expandPlaceholders replaces %name% placeholders with every configured
// value (the cartesian product when there are several). `\%` is a literal
// percent sign.
func (c *compiler) expandPlaceholders(raw string) ([]string, error) {
	outs := []string{""}
	var lit strings.Builder
	emit := func(alts []string) {
		l := lit.String()
		lit.Reset()
		next := make([]string, 0, len(outs)*len(alts))
		for _, o := range outs {
			for _, a := range alts {
				next = append(next, o+l+a)
			}
		}
		outs = next
	}
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch == '\\' && i+1 < len(raw) && raw[i+1] == '\\' {
			// An escaped backslash is left for ParsePattern; it must not
			// make the next character look escaped.
			lit.WriteString(`\\`)
			i++
			continue
		}
		if ch == '\\' && i+1 < len(raw) && raw[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if ch != '%' {
			lit.WriteByte(ch)
			continue
		}
		end := strings.IndexByte(raw[i+1:], '%')
		if end < 0 {
			lit.WriteString(raw[i:])
			break
		}
		name := raw[i+1 : i+1+end]
		vals, ok := c.cfg.Placeholders[name]
		if !ok {
			return nil, fmt.Errorf("unresolved placeholder %%%s%% (configure Config.Placeholders[%q])", name, name)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("placeholder %%%s%% has no values", name)
		}
		emit(vals)
		if len(outs) > maxExpansion {
			return nil, fmt.Errorf("placeholders expand into more than %d values", maxExpansion)
		}
		i += end + 1
	}
	emit([]string{""})
	return outs, nil
}

// re2Unsupported names the PCRE construct in expr that RE2 (Go's regexp)
// lacks, or returns "". Go reports a lookbehind as "invalid named
// capture", which sends rule authors looking for a capture group they
// never wrote.
func re2Unsupported(expr string) string {
	for i := 0; i < len(expr); i++ {
		switch {
		case expr[i] == '\\' && i+1 < len(expr):
			if c := expr[i+1]; c >= '1' && c <= '9' {
				return fmt.Sprintf("RE2 has no backreferences (\\%c)", c)
			}
			i++ // an escaped character is a literal
		case strings.HasPrefix(expr[i:], "(?<="):
			return "RE2 has no lookbehind (?<=...)"
		case strings.HasPrefix(expr[i:], "(?<!"):
			return "RE2 has no negative lookbehind (?<!...)"
		case strings.HasPrefix(expr[i:], "(?="):
			return "RE2 has no lookahead (?=...)"
		case strings.HasPrefix(expr[i:], "(?!"):
			return "RE2 has no negative lookahead (?!...)"
		case strings.HasPrefix(expr[i:], "(?>"):
			return "RE2 has no atomic groups (?>...)"
		}
	}
	return ""
}
