package yamlbound

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bomb is the alias bomb of issue 10 in the shape of a Sigma rule: a
// list of n values, a mapping holding it, and a selection listing that
// mapping n times: with n = 2,000, 29 KB that expand to 4 million values.
// The parsers' tests build the same shape.
func bomb(n int) string {
	var b strings.Builder
	b.WriteString("title: bomb\nlogsource: {product: msp}\nvals: &v [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", i)
	}
	b.WriteString("]\nmm: &m {actor.user: *v}\ndetection:\n  sel:\n")
	for i := 0; i < n; i++ {
		b.WriteString("    - *m\n")
	}
	b.WriteString("  condition: sel\n")
	return b.String()
}

func TestDecodeLimits(t *testing.T) {
	lim := Limits{Kind: "rule file", MaxBytes: 1 << 20, MaxNodes: 1000, MaxDepth: 10, MaxDocuments: 3}
	for _, tc := range []struct {
		name, in string
		docs     int
		err      string // substring; "" means no error
		limit    bool   // errors.Is(err, ErrLimit)
	}{
		{name: "plain", in: "a: b\nc: [1, 2]\n", docs: 1},
		{name: "empty", in: "", docs: 0},
		{name: "small aliases are fine", in: "a: &x [1, 2]\nb: *x\nc: *x\n", docs: 1},
		{name: "merge key", in: "base: &b {x: 1}\nthing: {<<: *b, y: 2}\n", docs: 1},
		{name: "bomb", in: bomb(100), docs: 0, err: "bomb.yml:14:7: YAML aliases expand the rule file past 1000 nodes", limit: true},
		{name: "nested bomb", in: "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
			err: "bomb.yml:3:", limit: true},
		{name: "too many plain nodes", in: "a: [" + strings.Repeat("x, ", 1000) + "x]\n", err: "rule file has more than 1000 YAML nodes", limit: true},
		{name: "too many tokens to decode", in: "a: 1\nb: [" + strings.Repeat("x,", 2000) + "x]\n", err: "bomb.yml:2:1: rule file holds more than 2000 YAML tokens by this line, too many for its limit of 1000 nodes", limit: true},
		{name: "prose is not nodes", in: "description: '" + strings.Repeat("word ", 1500) + "'\n", docs: 1},
		{name: "tokens in comments count", in: "a: 1\n# " + strings.Repeat("word ", 2000) + "\n", err: "bomb.yml:2:1: rule file holds more than 2000 YAML tokens", limit: true},
		{name: "self-reference", in: "a: &x [*x]\n", err: "bomb.yml:1:8: alias *x refers to a node that contains it", limit: true},
		{name: "deep", in: strings.Repeat("[", 12) + strings.Repeat("]", 12) + "\n", err: "YAML nesting deeper than 10 levels (the limit for a rule file)", limit: true},
		{name: "deep through an alias", in: "a: &x [[[[[[[1]]]]]]]\nb: [[[*x]]]\n", err: "bomb.yml:2:", limit: true},
		{name: "documents", in: "a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n", docs: 3, err: "bomb.yml:6:1: rule file has more than 3 YAML documents", limit: true},
		{name: "syntax error keeps earlier documents", in: "a: 1\n---\nb: [\n", docs: 1, err: "bomb.yml:3:1: invalid YAML:"},
		{name: "unknown anchor", in: "a: *nope\n", err: "invalid YAML: unknown anchor 'nope' referenced"},
		{name: "too large", in: strings.Repeat("#", 1<<20+1), err: "bomb.yml: rule file is 1048577 bytes, more than the limit of 1048576", limit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Decode([]byte(tc.in), "bomb.yml", lim)
			if len(docs) != tc.docs {
				t.Errorf("got %d documents, want %d", len(docs), tc.docs)
			}
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want it to contain %q", err, tc.err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
			if errors.Is(err, ErrLimit) != tc.limit {
				t.Errorf("errors.Is(err, ErrLimit) = %v, want %v", !tc.limit, tc.limit)
			}
		})
	}
}

// TestBombIsCheap: measuring counts each anchor once, so the 4-million
// node bomb is rejected in time and memory proportional to its 21 KB, and
// even without a node limit measuring it is cheap.
func TestBombIsCheap(t *testing.T) {
	in := []byte(bomb(2000))
	for _, lim := range []Limits{{MaxNodes: 200_000}, {}} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := Decode(in, "bomb.yml", lim)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if lim.MaxNodes > 0 && !errors.Is(err, ErrLimit) {
			t.Errorf("limit %d: error %v, want a limit error", lim.MaxNodes, err)
		}
		if lim.MaxNodes == 0 && err != nil {
			t.Errorf("no limit: %v", err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("limit %d: %d bytes, measured in %s with %d KiB allocated", lim.MaxNodes, len(in), took, alloc>>10)
		if alloc > 20<<20 || took > 2*time.Second {
			t.Errorf("limit %d: measuring took %s and %d MiB", lim.MaxNodes, took, alloc>>20)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	lim := Limits{Kind: "test file", MaxNodes: 100}
	var out struct {
		Rule  string           `yaml:"rule"`
		Match []map[string]any `yaml:"match"`
	}
	if err := Unmarshal([]byte("rule: r\nmatch: [{a: 1}]\n"), "t.yml", lim, &out); err != nil || out.Rule != "r" || len(out.Match) != 1 {
		t.Fatalf("got %+v, %v", out, err)
	}
	for _, tc := range []struct{ in, err string }{
		{"rule: [x]\n", "t.yml:1:1: cannot unmarshal !!seq into string"},
		{"rule: r\n---\nrule: s\n", "t.yml:2:1: test file has more than 1 YAML documents"},
		{bomb(20), "YAML aliases expand the test file past 100 nodes"},
	} {
		err := Unmarshal([]byte(tc.in), "t.yml", lim, &out)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestDecodeNodesCountsExpansion(t *testing.T) {
	for _, tc := range []struct {
		in    string
		nodes int
	}{
		{"", 0},
		{"a\n", 2},                            // document, scalar
		{"a: [1, 2]\n", 6},                    // document, mapping, key, list, 2 items
		{"a: &x [1, 2]\nb: *x\n", 10},         // the alias counts as the 3 nodes of the list
		{"a: &x [1, 2]\nb: *x\n---\nc\n", 12}, // over all documents
	} {
		_, n, err := DecodeNodes([]byte(tc.in), "n.yml", Limits{MaxNodes: 100})
		if err != nil || n != tc.nodes {
			t.Errorf("%q: %d nodes, %v; want %d", tc.in, n, err, tc.nodes)
		}
	}
}
