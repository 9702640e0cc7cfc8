package engine

import (
	"regexp/syntax"
	"unicode/utf8"
)

// regexNeedles derives literal needles from a regular expression: the
// expression can only match if one of them occurs in the (folded) input.
// It mirrors needOf: concatenations pick their best part, alternations
// take the union, anything optional or class-like yields nothing.
func regexNeedles(expr string) ([]string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	alts, ok := reNeed(re.Simplify(), 0)
	if !ok || len(alts) == 0 || len(alts) > 64 {
		return nil, false
	}
	return alts, true
}

func reNeed(re *syntax.Regexp, depth int) ([]string, bool) {
	if depth > 64 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			// Regexp folding (e.g. 'ſ' ~ 's') is wider than lower-casing
			// for non-ASCII runes; only trust ASCII literals then.
			for i := 0; i < len(s); i++ {
				if s[i] >= utf8.RuneSelf {
					return nil, false
				}
			}
		}
		return []string{lowerString(s)}, true
	case syntax.OpCapture:
		return reNeed(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return reNeed(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reNeed(re.Sub[0], depth+1)
		}
		return nil, false
	case syntax.OpConcat:
		var best []string
		found := false
		for _, sub := range re.Sub {
			alts, ok := reNeed(sub, depth+1)
			if ok && (!found || betterStrs(alts, best)) {
				best, found = alts, true
			}
		}
		return best, found
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			alts, ok := reNeed(sub, depth+1)
			if !ok {
				return nil, false
			}
			all = append(all, alts...)
		}
		return all, true
	}
	return nil, false
}

func betterStrs(a, b []string) bool {
	na := make([]needle, len(a))
	for i, s := range a {
		na[i].text = s
	}
	nb := make([]needle, len(b))
	for i, s := range b {
		nb[i].text = s
	}
	return betterNeed(na, nb)
}
