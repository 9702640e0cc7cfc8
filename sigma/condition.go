package sigma

import (
	"strings"
)

// Expr is a node of a parsed condition.
type Expr interface {
	Position() Pos
	String() string
	exprNode()
}

// AndExpr is true when all Args are.
type AndExpr struct {
	Args []Expr
	Pos  Pos
}

// OrExpr is true when any of Args is.
type OrExpr struct {
	Args []Expr
	Pos  Pos
}

// NotExpr negates X.
type NotExpr struct {
	X   Expr
	Pos Pos
}

// IdentExpr references one search identifier.
type IdentExpr struct {
	Name string
	Pos  Pos
}

// OfExpr is `1 of X` / `any of X` (All false) or `all of X` (All true).
// Pattern is X as written ("them", "selection_*" or a plain name); Names are
// the search identifiers it resolved to, in detection order.
type OfExpr struct {
	All     bool
	Pattern string
	Names   []string
	Pos     Pos
}

func (e *AndExpr) Position() Pos   { return e.Pos }
func (e *OrExpr) Position() Pos    { return e.Pos }
func (e *NotExpr) Position() Pos   { return e.Pos }
func (e *IdentExpr) Position() Pos { return e.Pos }
func (e *OfExpr) Position() Pos    { return e.Pos }
func (*AndExpr) exprNode()         {}
func (*OrExpr) exprNode()          {}
func (*NotExpr) exprNode()         {}
func (*IdentExpr) exprNode()       {}
func (*OfExpr) exprNode()          {}

func (e *AndExpr) String() string { return joinExprs(e.Args, " and ") }
func (e *OrExpr) String() string  { return joinExprs(e.Args, " or ") }
func (e *NotExpr) String() string { return "not " + e.X.String() }
func (e *IdentExpr) String() string {
	return e.Name
}
func (e *OfExpr) String() string {
	if e.All {
		return "all of " + e.Pattern
	}
	return "1 of " + e.Pattern
}

func joinExprs(args []Expr, sep string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// maxConditionDepth bounds nesting so hostile conditions ("((((...", "not
// not not ...") fail cleanly instead of exhausting the stack.
const maxConditionDepth = 128

// maxConditionLen bounds the condition text for the same reason.
const maxConditionLen = 64 << 10

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokWord
	tokPipe
)

type token struct {
	kind tokKind
	text string
	off  int
}

func lexCondition(s string) []token {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '|':
			toks = append(toks, token{tokPipe, "|", i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()|", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j], i})
			i = j
		}
	}
	return append(toks, token{tokEOF, "", len(s)})
}

type condParser struct {
	toks  []token
	i     int
	base  Pos
	det   *Detection
	depth int
	err   *Error
}

// ParseCondition parses a condition string against the search identifiers
// of det. base is where the condition text starts in the file; error
// positions are offset from it.
func ParseCondition(text string, base Pos, det *Detection) (Expr, error) {
	if len(text) > maxConditionLen {
		return nil, Errorf(base, "condition is too long (%d bytes, limit %d)", len(text), maxConditionLen)
	}
	if strings.TrimSpace(text) == "" {
		return nil, Errorf(base, "empty condition")
	}
	p := &condParser{toks: lexCondition(text), base: base, det: det}
	e := p.parseOr()
	if p.err == nil && p.peek().kind == tokPipe {
		p.fail(p.peek(), "aggregation expressions ('| count() ...') are not supported; use a correlation rule")
	}
	if p.err == nil && p.peek().kind != tokEOF {
		t := p.peek()
		p.fail(t, "unexpected %q in condition", t.text)
	}
	if p.err != nil {
		return nil, p.err
	}
	return e, nil
}

func (p *condParser) peek() token { return p.toks[p.i] }

func (p *condParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *condParser) pos(t token) Pos {
	pos := p.base
	if pos.Col > 0 {
		pos.Col += t.off
	}
	return pos
}

func (p *condParser) fail(t token, format string, args ...any) {
	if p.err == nil {
		p.err = Errorf(p.pos(t), format, args...)
	}
}

func isKeyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

func (p *condParser) enter(t token) bool {
	p.depth++
	if p.depth > maxConditionDepth {
		p.fail(t, "condition nested too deeply (limit %d)", maxConditionDepth)
		return false
	}
	return true
}

func (p *condParser) parseOr() Expr {
	first := p.peek()
	if !p.enter(first) {
		return nil
	}
	defer func() { p.depth-- }()
	args := []Expr{p.parseAnd()}
	for p.err == nil && isKeyword(p.peek(), "or") {
		p.next()
		args = append(args, p.parseAnd())
	}
	if p.err != nil {
		return nil
	}
	if len(args) == 1 {
		return args[0]
	}
	return &OrExpr{Args: args, Pos: p.pos(first)}
}

func (p *condParser) parseAnd() Expr {
	first := p.peek()
	args := []Expr{p.parseNot()}
	for p.err == nil && isKeyword(p.peek(), "and") {
		p.next()
		args = append(args, p.parseNot())
	}
	if p.err != nil {
		return nil
	}
	if len(args) == 1 {
		return args[0]
	}
	return &AndExpr{Args: args, Pos: p.pos(first)}
}

func (p *condParser) parseNot() Expr {
	t := p.peek()
	if isKeyword(t, "not") {
		p.next()
		if !p.enter(t) {
			return nil
		}
		x := p.parseNot()
		p.depth--
		if p.err != nil {
			return nil
		}
		return &NotExpr{X: x, Pos: p.pos(t)}
	}
	return p.parsePrimary()
}

func (p *condParser) parsePrimary() Expr {
	t := p.next()
	switch t.kind {
	case tokEOF:
		p.fail(t, "unexpected end of condition")
		return nil
	case tokRParen:
		p.fail(t, "unexpected ')' in condition")
		return nil
	case tokPipe:
		p.fail(t, "aggregation expressions ('| count() ...') are not supported; use a correlation rule")
		return nil
	case tokLParen:
		e := p.parseOr()
		if p.err != nil {
			return nil
		}
		if c := p.next(); c.kind != tokRParen {
			p.fail(c, "missing ')' to close '(' at column %d", p.pos(t).Col)
			return nil
		}
		return e
	}
	low := strings.ToLower(t.text)
	switch low {
	case "and", "or", "of", "them":
		p.fail(t, "unexpected %q in condition", t.text)
		return nil
	case "not":
		p.fail(t, "unexpected %q in condition", t.text)
		return nil
	}
	if isKeyword(p.peek(), "of") {
		p.next()
		var all bool
		switch low {
		case "1", "any":
		case "all":
			all = true
		default:
			p.fail(t, "unsupported quantifier %q before 'of' (use 1, any or all)", t.text)
			return nil
		}
		target := p.next()
		if target.kind != tokWord || isKeyword(target, "and") || isKeyword(target, "or") || isKeyword(target, "not") {
			p.fail(target, "expected a search identifier, pattern or 'them' after 'of'")
			return nil
		}
		names := p.resolvePattern(target)
		if p.err != nil {
			return nil
		}
		return &OfExpr{All: all, Pattern: target.text, Names: names, Pos: p.pos(t)}
	}
	if low == "1" || low == "any" || low == "all" {
		// A search may legitimately be called "all"; only complain if it
		// is not one.
		if _, ok := p.det.Searches[t.text]; !ok {
			p.fail(t, "expected 'of' after %q", t.text)
			return nil
		}
	}
	if strings.ContainsAny(t.text, "*?") {
		p.fail(t, "wildcard pattern %q is only allowed after '1 of' or 'all of'", t.text)
		return nil
	}
	if _, ok := p.det.Searches[t.text]; !ok {
		p.fail(t, "unknown search identifier %q in condition%s", t.text, p.known())
		return nil
	}
	return &IdentExpr{Name: t.text, Pos: p.pos(t)}
}

func (p *condParser) known() string {
	if len(p.det.Order) == 0 {
		return " (detection defines no search identifiers)"
	}
	const max = 8
	names := p.det.Order
	more := ""
	if len(names) > max {
		names = names[:max]
		more = ", ..."
	}
	return " (defined: " + strings.Join(names, ", ") + more + ")"
}

func (p *condParser) resolvePattern(t token) []string {
	var names []string
	if strings.EqualFold(t.text, "them") {
		for _, n := range p.det.Order {
			if !strings.HasPrefix(n, "_") {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			p.fail(t, "'them' matches no search identifier (names starting with '_' are excluded)")
		}
		return names
	}
	for _, n := range p.det.Order {
		if MatchIdentPattern(t.text, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		p.fail(t, "pattern %q matches no search identifier%s", t.text, p.known())
	}
	return names
}

// MatchIdentPattern reports whether name matches a search-identifier pattern
// where '*' is any run of characters and '?' any single character.
func MatchIdentPattern(pattern, name string) bool {
	// Iterative glob with single backtrack point: linear enough for the
	// short names involved and immune to pathological patterns.
	px, nx := 0, 0
	starP, starN := -1, 0
	for nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starP, starN = px, nx
				px++
				continue
			case '?':
				px++
				nx++
				continue
			default:
				if c == name[nx] {
					px++
					nx++
					continue
				}
			}
		}
		if starP >= 0 {
			starN++
			px, nx = starP+1, starN
			continue
		}
		return false
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
