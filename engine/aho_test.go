package engine

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// ahoFound runs needles' automaton, with at most maxDense dense cells, over
// every haystack and returns, per haystack, the needle indexes it reported.
func ahoFound(needles, hays []string, maxDense int) [][]int {
	ids := make([]int32, len(needles))
	for i := range ids {
		ids[i] = int32(i)
	}
	a := buildAutomaton(needles, ids, maxDense)
	sc := &scratch{
		rs:        &RuleSet{pf: prefilter{needleRules: make([][]int32, len(needles))}},
		needleGen: make([]uint32, len(needles)),
	}
	out := make([][]int, len(hays))
	for h, hay := range hays {
		sc.gen++
		sc.scan(a, hay)
		for i := range needles {
			if sc.needleGen[i] == sc.gen {
				out[h] = append(out[h], i)
			}
		}
	}
	return out
}

// naiveFound is what ahoFound must return.
func naiveFound(needles, hays []string) [][]int {
	out := make([][]int, len(hays))
	for h, hay := range hays {
		for i, n := range needles {
			if strings.Contains(hay, n) {
				out[h] = append(out[h], i)
			}
		}
	}
	return out
}

// denseBounds are the dense-row budgets every automaton test runs with:
// the root's row only, a few rows, and the default (all rows, here).
var denseBounds = []int{0, 40, denseCells}

func TestAutomatonFindsEveryNeedle(t *testing.T) {
	tests := []struct {
		name    string
		needles []string
		hays    []string
	}{
		{"overlapping suffixes", []string{"he", "she", "his", "hers"}, []string{"ushers", "his", "h", "", "shehishers"}},
		{"needle inside needle", []string{"a", "aa", "aaa", "b"}, []string{"aaaa", "ab", "ba", "c"}},
		{"duplicates", []string{"x", "x", "xy"}, []string{"xy", "yx"}},
		{"unused bytes", []string{"\\cmd.exe", " /c "}, []string{"c:\\windows\\cmd.exe /c dir", "\xff\x00cmd.exe"}},
		{"failure into a deep state", []string{"abcd", "bcx", "cdy"}, []string{"abcdy", "abcx", "bcdy"}},
		{"empty set", nil, []string{"abc"}},
	}
	for _, tc := range tests {
		for _, d := range denseBounds {
			got, want := ahoFound(tc.needles, tc.hays, d), naiveFound(tc.needles, tc.hays)
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("%s, %d dense cells: found %v, want %v", tc.name, d, got, want)
			}
		}
	}
}

// TestAutomatonRandom compares the automaton with strings.Contains on
// random needle sets over a small alphabet, where needles share prefixes
// and suffixes and failure links go deep.
func TestAutomatonRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func(max int) string {
		b := make([]byte, 1+r.IntN(max))
		for i := range b {
			b[i] = "abc\\."[r.IntN(5)]
		}
		return string(b)
	}
	for round := range 300 {
		needles := make([]string, 1+r.IntN(40))
		for i := range needles {
			needles[i] = word(6)
		}
		hays := make([]string, 20)
		for i := range hays {
			hays[i] = word(60)
		}
		for _, d := range denseBounds {
			got, want := ahoFound(needles, hays, d), naiveFound(needles, hays)
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("round %d, %d dense cells, needles %q: found %v, want %v", round, d, needles, got, want)
			}
		}
	}
}

// FuzzAutomaton holds the automaton to strings.Contains: data is needles
// separated by newlines, then a blank line, then the haystack.
func FuzzAutomaton(f *testing.F) {
	f.Add("he\nshe\nhis\nhers\n\nushers")
	f.Add("\\cmd.exe\n /c \ncmd\n\nc:\\windows\\system32\\cmd.exe /c whoami")
	f.Add("aaa\naa\n\naaaaa")
	f.Fuzz(func(t *testing.T, data string) {
		list, hay, _ := strings.Cut(data, "\n\n")
		var needles []string
		for _, n := range strings.Split(list, "\n") {
			if n != "" {
				needles = append(needles, n)
			}
		}
		for _, d := range denseBounds {
			got, want := ahoFound(needles, []string{hay}, d), naiveFound(needles, []string{hay})
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("%d dense cells, needles %q in %q: found %v, want %v", d, needles, hay, got, want)
			}
		}
	})
}
