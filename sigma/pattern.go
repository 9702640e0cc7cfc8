package sigma

import "strings"

// PartKind distinguishes the pieces of a Pattern.
type PartKind uint8

const (
	// Literal text, matched as is (case rules are up to the evaluator).
	Literal PartKind = iota
	// Star is `*`: any run of characters, including none.
	Star
	// One is `?`: exactly one character.
	One
)

// Part is one piece of a Pattern.
type Part struct {
	Kind PartKind
	Text string // for Literal
}

// Pattern is a Sigma string value with its wildcards and escapes resolved.
// Adjacent literals are merged and runs of `*` collapsed.
type Pattern []Part

// ParsePattern interprets raw per the specification's escaping rules: `*`
// and `?` are wildcards; a backslash escapes `*`, `?` and itself; a
// backslash before any other character (or at the end) is a plain
// backslash. Hence `\*` is a literal star, `\\*` a backslash followed by a
// wildcard, `\\\*` a backslash and a literal star, and `\\\\` (or `\\\`) two
// backslashes.
func ParsePattern(raw string) Pattern {
	var p Pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, Part{Kind: Literal, Text: lit.String()})
			lit.Reset()
		}
	}
	escaped := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if escaped {
			escaped = false
			switch c {
			case '*', '?', '\\':
				lit.WriteByte(c)
			default:
				lit.WriteByte('\\')
				lit.WriteByte(c)
			}
			continue
		}
		switch c {
		case '\\':
			escaped = true
		case '*':
			flush()
			if len(p) == 0 || p[len(p)-1].Kind != Star {
				p = append(p, Part{Kind: Star})
			}
		case '?':
			flush()
			p = append(p, Part{Kind: One})
		default:
			lit.WriteByte(c)
		}
	}
	if escaped {
		lit.WriteByte('\\')
	}
	flush()
	return p
}

// LiteralPattern is a Pattern matching exactly s.
func LiteralPattern(s string) Pattern {
	if s == "" {
		return nil
	}
	return Pattern{{Kind: Literal, Text: s}}
}

// IsLiteral reports whether p has no wildcards.
func (p Pattern) IsLiteral() bool {
	for _, x := range p {
		if x.Kind != Literal {
			return false
		}
	}
	return true
}

// Literal returns the concatenated literal text (only meaningful when
// IsLiteral).
func (p Pattern) Literal() string {
	if len(p) == 1 && p[0].Kind == Literal {
		return p[0].Text
	}
	var b strings.Builder
	for _, x := range p {
		b.WriteString(x.Text)
	}
	return b.String()
}

// Normalize merges adjacent literals and collapses star runs; modifiers
// that splice patterns together call it.
func (p Pattern) Normalize() Pattern {
	var out Pattern
	for _, x := range p {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if x.Kind == Literal && last.Kind == Literal {
				last.Text += x.Text
				continue
			}
			if x.Kind == Star && last.Kind == Star {
				continue
			}
		}
		if x.Kind == Literal && x.Text == "" {
			continue
		}
		out = append(out, x)
	}
	return out
}

// String renders p back in Sigma syntax (escaping as needed), so
// ParsePattern(p.String()) equals p.
func (p Pattern) String() string {
	var b strings.Builder
	for _, x := range p {
		switch x.Kind {
		case Star:
			b.WriteByte('*')
		case One:
			b.WriteByte('?')
		default:
			for i := 0; i < len(x.Text); i++ {
				c := x.Text[i]
				if c == '*' || c == '?' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
