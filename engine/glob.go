package engine

import (
	"strings"
	"unicode/utf8"

	"github.com/tripline/tripline/sigma"
)

// glob is a wildcard pattern split at its stars: segments[0] must match at
// the start (unless leadingStar), the last at the end (unless
// trailingStar), the rest in order anywhere between. Segments may contain
// '?' (any one rune). Greedy leftmost matching of each segment is exact for
// this pattern class and needs no backtracking, so matching is
// O(len(s)*len(pattern)) worst case and never allocates.
type glob struct {
	segs          []globSeg
	leadingStar   bool
	trailingStar  bool
	minLen        int
	hasQuestMarks bool
}

// globSeg is a run of literals and '?' between stars.
type globSeg struct {
	parts []globPart
	// lit is set when the segment is a single literal, enabling
	// strings.Index.
	lit   string
	isLit bool
}

type globPart struct {
	one bool // '?'
	lit string
}

func newGlob(p sigma.Pattern) *glob {
	g := &glob{}
	if len(p) > 0 && p[0].Kind == sigma.Star {
		g.leadingStar = true
	}
	if len(p) > 0 && p[len(p)-1].Kind == sigma.Star {
		g.trailingStar = true
	}
	var cur globSeg
	flush := func() {
		if len(cur.parts) > 0 {
			if len(cur.parts) == 1 && !cur.parts[0].one {
				cur.lit, cur.isLit = cur.parts[0].lit, true
			}
			g.segs = append(g.segs, cur)
		}
		cur = globSeg{}
	}
	for _, part := range p {
		switch part.Kind {
		case sigma.Star:
			flush()
		case sigma.One:
			cur.parts = append(cur.parts, globPart{one: true})
			g.minLen++
			g.hasQuestMarks = true
		default:
			cur.parts = append(cur.parts, globPart{lit: part.Text})
			g.minLen += len(part.Text)
		}
	}
	flush()
	return g
}

// matchAt reports the end offset if seg matches s starting at i.
func (seg *globSeg) matchAt(s string, i int) (int, bool) {
	for _, p := range seg.parts {
		if p.one {
			if i >= len(s) {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		if !strings.HasPrefix(s[i:], p.lit) {
			return 0, false
		}
		i += len(p.lit)
	}
	return i, true
}

// find returns the leftmost match of seg in s at or after from.
func (seg *globSeg) find(s string, from int) (start, end int, ok bool) {
	if seg.isLit {
		j := strings.Index(s[from:], seg.lit)
		if j < 0 {
			return 0, 0, false
		}
		return from + j, from + j + len(seg.lit), true
	}
	for i := from; i <= len(s); i++ {
		if e, ok := seg.matchAt(s, i); ok {
			return i, e, true
		}
		// Only try rune starts so '?' never splits a rune.
		for i+1 < len(s) && !utf8.RuneStart(s[i+1]) {
			i++
		}
	}
	return 0, 0, false
}

// matchSuffix reports whether seg matches exactly the end of s, with the
// match starting at or after from.
func (seg *globSeg) matchSuffix(s string, from int) bool {
	if seg.isLit {
		return len(s)-from >= len(seg.lit) && strings.HasSuffix(s, seg.lit)
	}
	// '?' is rune-sized, so the start of a suffix match is not fixed;
	// try each rune start.
	for i := from; i <= len(s); i++ {
		if e, ok := seg.matchAt(s, i); ok && e == len(s) {
			return true
		}
		for i+1 < len(s) && !utf8.RuneStart(s[i+1]) {
			i++
		}
	}
	return false
}

func (g *glob) match(s string) bool {
	if len(s) < g.minLen {
		return false
	}
	segs := g.segs
	if len(segs) == 0 {
		// Only stars (or empty pattern).
		return g.leadingStar || s == ""
	}
	pos := 0
	if !g.leadingStar {
		e, ok := segs[0].matchAt(s, 0)
		if !ok {
			return false
		}
		if len(segs) == 1 && !g.trailingStar {
			return e == len(s)
		}
		pos = e
		segs = segs[1:]
	}
	if len(segs) == 0 {
		return g.trailingStar || pos == len(s)
	}
	last := len(segs)
	if !g.trailingStar {
		last--
	}
	for i := 0; i < last; i++ {
		_, e, ok := segs[i].find(s, pos)
		if !ok {
			return false
		}
		pos = e
	}
	if !g.trailingStar {
		return segs[len(segs)-1].matchSuffix(s, pos)
	}
	return true
}
