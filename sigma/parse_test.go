package sigma

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

const goodRule = `title: Good
id: 11111111-1111-4111-8111-111111111111
status: test
level: high
description: d
author: someone
date: 2024-01-02
tags:
    - attack.execution
    - attack.t1059.001
falsepositives: Unknown
references:
    - https://example.com
fields:
    - CommandLine
logsource:
    product: windows
    category: process_creation
detection:
    selection_img:
        Image|endswith: '\cmd.exe'
    selection_cli:
        - CommandLine|contains|all: ['a', 'b']
        - CommandLine: null
    keywords:
        - 'evil'
        - 42
    _private:
        x: ''
    condition: 1 of selection_* and not keywords
`

func TestParseRule(t *testing.T) {
	c, err := ParseBytes([]byte(goodRule), "rules/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 1 {
		t.Fatalf("got %d rules", len(c.Rules))
	}
	r := c.Rules[0]
	if r.Title != "Good" || r.Level != "high" || r.Status != "test" || r.Date != "2024-01-02" ||
		len(r.Tags) != 2 || r.FalsePositives[0] != "Unknown" || r.Fields[0] != "CommandLine" ||
		r.Logsource.Category != "process_creation" || r.Pos.Line != 1 || r.Path != "rules/good.yml" {
		t.Fatalf("metadata: %+v", r.Meta)
	}
	d := r.Detection
	if strings.Join(d.Order, ",") != "selection_img,selection_cli,keywords,_private" {
		t.Fatalf("order: %v", d.Order)
	}
	cli := d.Searches["selection_cli"]
	if len(cli.Groups) != 2 || cli.Groups[0].Items[0].Field != "CommandLine" ||
		strings.Join(cli.Groups[0].Items[0].Modifiers, "|") != "contains|all" ||
		cli.Groups[1].Items[0].Values[0].Kind != NullValue {
		t.Fatalf("selection_cli: %+v", cli.Groups)
	}
	kw := d.Searches["keywords"].Groups[0].Items[0]
	if !kw.Keyword() || len(kw.Values) != 2 || kw.Values[1].Kind != NumberValue || kw.Values[1].Num != 42 {
		t.Fatalf("keywords: %+v", kw)
	}
	if d.Searches["_private"].Groups[0].Items[0].Values[0].Raw != "" {
		t.Fatal("empty string value lost")
	}
	if got := d.Conditions[0].Expr.String(); got != "(1 of selection_* and not keywords)" {
		t.Fatalf("condition: %s", got)
	}
	of := d.Conditions[0].Expr.(*AndExpr).Args[0].(*OfExpr)
	if strings.Join(of.Names, ",") != "selection_img,selection_cli" {
		t.Fatalf("of names: %v", of.Names)
	}
	if r.Identity() != "11111111-1111-4111-8111-111111111111" {
		t.Fatalf("identity %s", r.Identity())
	}
}

func TestIdentity(t *testing.T) {
	det := "logsource: {product: x}\ndetection:\n    s: {a: b}\n    condition: s\n"
	c, err := ParseBytes([]byte("title: a\nname: by_name\n"+det+"---\ntitle: b\n"+det), "dir/some_rule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules[0].Identity() != "by_name" || c.Rules[1].Identity() != "some_rule#1" {
		t.Fatalf("identities: %s %s", c.Rules[0].Identity(), c.Rules[1].Identity())
	}
}

func TestConditionGrammar(t *testing.T) {
	det := &Detection{Searches: map[string]*Search{}}
	for _, n := range []string{"a", "b", "c", "sel_1", "sel_2", "_x"} {
		det.Searches[n] = &Search{Name: n}
		det.Order = append(det.Order, n)
	}
	cases := []struct{ in, want string }{
		{"a", "a"},
		{"a or b and c", "(a or (b and c))"},
		{"a and b or c", "((a and b) or c)"},
		{"not a and b", "(not a and b)"},
		{"not (a and b)", "not (a and b)"},
		{"a and not b or not c", "((a and not b) or not c)"},
		{"(a or b) and c", "((a or b) and c)"},
		{"1 of sel_*", "1 of sel_*"},
		{"any of sel_*", "1 of sel_*"},
		{"all of them", "all of them"},
		{"a AND NOT b", "(a and not b)"},
		{"((((a))))", "a"},
		{"not not a", "not not a"},
	}
	for _, tc := range cases {
		e, err := ParseCondition(tc.in, Pos{File: "f", Line: 3, Col: 5}, det)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if e.String() != tc.want {
			t.Errorf("%q = %s, want %s", tc.in, e.String(), tc.want)
		}
	}
	them, _ := ParseCondition("1 of them", Pos{}, det)
	if got := strings.Join(them.(*OfExpr).Names, ","); got != "a,b,c,sel_1,sel_2" {
		t.Errorf("them = %s (must skip _x)", got)
	}
	errCases := []struct{ in, want string }{
		{"a and d", `f:3:11: unknown search identifier "d"`},
		{"a and", "f:3:10: unexpected end of condition"},
		{"(a or b", "missing ')'"},
		{"a b", `f:3:7: unexpected "b"`},
		{"1 of nomatch*", `pattern "nomatch*" matches no search identifier`},
		{"2 of sel_*", "unsupported quantifier"},
		{"sel_*", "only allowed after '1 of'"},
		{"a | count() > 5", "aggregation expressions"},
		{"a )", `unexpected ")"`},
		{"", "empty condition"},
		{strings.Repeat("(", 500) + "a" + strings.Repeat(")", 500), "nested too deeply"},
		{strings.Repeat("not ", 500) + "a", "nested too deeply"},
	}
	for _, tc := range errCases {
		_, err := ParseCondition(tc.in, Pos{File: "f", Line: 3, Col: 5}, det)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseErrorsArePositioned(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown identifier", "title: x\ndetection:\n    sel: {a: b}\n    condition: sel and filter\n", `bad.yml:4:24: unknown search identifier "filter"`},
		{"quoted condition column", "title: x\ndetection:\n    sel: {a: b}\n    condition: 'sel and filter'\n", `bad.yml:4:25: unknown search identifier "filter"`},
		{"unknown modifier", "title: x\ndetection:\n    sel: {a|bogus: b}\n    condition: sel\n", `bad.yml:3:11: unknown modifier "bogus"`},
		{"no condition", "title: x\ndetection:\n    sel: {a: b}\n", "bad.yml:2:1: detection has no condition"},
		{"no detection", "title: x\n", "bad.yml:1:1: missing detection"},
		{"yaml syntax", "title: x\ndetection: [\n", "bad.yml:2:1: invalid YAML"},
		{"not a mapping", "- a\n- b\n", "bad.yml:1:1: document must be a YAML mapping"},
		{"nested map value", "title: x\ndetection:\n    sel: {a: {b: c}}\n    condition: sel\n", "bad.yml:3:14: value of \"a\" must be a scalar"},
		{"empty search", "title: x\ndetection:\n    sel:\n    condition: sel\n", `bad.yml:3:5: search identifier "sel" is empty`},
		{"legacy collection", "action: global\ntitle: x\n", "legacy rule collections"},
		{"empty field name", "title: x\ndetection:\n    sel: {'': v}\n    condition: sel\n", `bad.yml:3:11: empty field name`},
		{"blank field name", "title: x\ndetection:\n    sel:\n        - {a: b}\n        - ' ': v\n    condition: sel\n", `bad.yml:5:11: empty field name`},
		{"timespan overflow", "correlation:\n    type: event_count\n    rules: [a]\n    timespan: 585y\n    condition: {gte: 2}\n", `bad.yml:4:15: timespan "585y" exceeds the maximum of 10y (3650 days)`},
		{"alias bomb", aliasBomb(2000), "bad.yml:55:7: YAML aliases expand the rule file past 100000 nodes"},
		{"flat list past the token check", "title: x\nvals: [" + strings.Repeat("a,", 200_000) + "a]\n", "bad.yml:2:1: rule file holds more than 200000 YAML tokens by this line"},
		{"alias cycle", "title: x\ndetection: &d\n    sel: [*d]\n    condition: sel\n", "bad.yml:3:11: alias *d refers to a node that contains it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBytes([]byte(tc.doc), "bad.yml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *sigma.Error", err)
			}
		})
	}
}

func TestOneBadDocumentDoesNotHideOthers(t *testing.T) {
	doc := goodRule + "---\ntitle: bad\ndetection:\n    sel: {a: b}\n    condition: nope\n---\n" + strings.Replace(goodRule, "1111", "2222", 1)
	c, err := ParseBytes([]byte(doc), "multi.yml")
	if len(c.Rules) != 2 {
		t.Fatalf("got %d good rules, want 2", len(c.Rules))
	}
	var l ErrorList
	if !errors.As(err, &l) || len(l) != 1 || !strings.Contains(l[0].Error(), "multi.yml:") {
		t.Fatalf("want one positioned error, got %v", err)
	}
}

func TestParseFS(t *testing.T) {
	fsys := fstest.MapFS{
		"rules/a/good.yml":     {Data: []byte(goodRule)},
		"rules/b/broken.yaml":  {Data: []byte("title: [unclosed\n")},
		"rules/b/nested/c.yml": {Data: []byte(strings.Replace(goodRule, "1111", "3333", 1))},
		"rules/readme.md":      {Data: []byte("# not a rule")},
	}
	c, errs := ParseFS(fsys, "rules")
	if len(c.Rules) != 2 {
		t.Fatalf("got %d rules, want 2", len(c.Rules))
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "rules/b/broken.yaml:") {
		t.Fatalf("errors: %v", errs)
	}
}

func TestCorrelationAndFilterDocuments(t *testing.T) {
	doc := `title: Failed logon
name: failed_logon
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
---
title: Brute force
id: 22222222-0000-4000-8000-000000000000
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 5m
    condition:
        gte: 10
    aliases:
        user:
            failed_logon: TargetUserName
    generate: true
---
title: Filter admins
logsource: {product: windows}
filter:
    rules:
        - failed_logon
    selection:
        User|startswith: adm_
    condition: not selection
---
title: Filter any
logsource: {product: windows}
filter:
    rules: any
    selection: {User: svc}
    condition: not selection
`
	c, err := ParseBytes([]byte(doc), "meta.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 1 || len(c.Correlations) != 1 || len(c.Filters) != 2 {
		t.Fatalf("got %d rules, %d correlations, %d filters", len(c.Rules), len(c.Correlations), len(c.Filters))
	}
	co := c.Correlations[0]
	if co.Type != "event_count" || co.Rules[0] != "failed_logon" || co.GroupBy[0] != "TargetUserName" ||
		co.Timespan != 5*time.Minute || co.Condition["gte"] != 10 || !co.Generate ||
		co.Aliases["user"]["failed_logon"] != "TargetUserName" {
		t.Fatalf("correlation: %+v", co)
	}
	f := c.Filters[0]
	if f.AnyRule || f.Rules[0] != "failed_logon" || f.Detection.Conditions[0].Expr.String() != "not selection" {
		t.Fatalf("filter: %+v", f)
	}
	if !f.AppliesTo(c.Rules[0]) || !c.Filters[1].AnyRule || !c.Filters[1].AppliesTo(c.Rules[0]) {
		t.Fatal("filters should apply to the windows rule")
	}
	other := &Rule{Meta: Meta{Name: "x"}, Logsource: Logsource{Product: "linux"}}
	if c.Filters[1].AppliesTo(other) {
		t.Fatal("a windows filter must not apply to a linux rule")
	}
}

func TestParsePattern(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`abc`, "L(abc)"},
		{`a*b`, "L(a)*L(b)"},
		{`a\*b`, "L(a*b)"},
		{`a\\*`, `L(a\)*`},
		{`a\\\*`, `L(a\*)`},
		{`a\\\\b`, `L(a\\b)`},
		{`a\\\b`, `L(a\\b)`},
		{`C:\Windows\`, `L(C:\Windows\)`},
		{`a?c\?`, "L(a)?L(c?)"},
		{`**x**`, "*L(x)*"},
		{``, ""},
	}
	for _, tc := range cases {
		var b strings.Builder
		for _, p := range ParsePattern(tc.raw) {
			switch p.Kind {
			case Star:
				b.WriteString("*")
			case One:
				b.WriteString("?")
			default:
				b.WriteString("L(" + p.Text + ")")
			}
		}
		if b.String() != tc.want {
			t.Errorf("ParsePattern(%q) = %s, want %s", tc.raw, b.String(), tc.want)
		}
		if got := ParsePattern(ParsePattern(tc.raw).String()); len(got) != len(ParsePattern(tc.raw)) {
			t.Errorf("round trip of %q changed the pattern", tc.raw)
		}
	}
}

func TestTimespan(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "5m": 5 * time.Minute, "2h": 2 * time.Hour, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour} {
		got, err := ParseTimespan(in)
		if err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "5", "m", "5x", "-1m"} {
		if _, err := ParseTimespan(bad); err == nil {
			t.Errorf("%q should fail", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		goodRule,
		"title: x\ndetection:\n    sel: {a: b}\n    condition: sel and (not sel or 1 of them)\n",
		"title: x\ndetection:\n    sel: [a, b, {c: d}]\n    condition: all of sel*\n",
		"a: &x [*x]\n",
		"title: x\ndetection:\n    sel: {a|re|i: '(', b|cidr: x}\n    condition: ((sel\n",
		"correlation:\n    type: temporal\n    rules: [a]\n    timespan: 1q\n",
		"filter:\n    rules: 5\n",
		"---\n---\n...\n",
		"title: x\ndetection:\n    sel: {a: b}\n    condition: " + strings.Repeat("not ", 300) + "sel\n",
		"title: x\ndetection: {sel: {a: !!binary aGk=}, condition: [sel, 'sel or sel']}\n",
		// Issue 10: aliases that expand past the limits, a self-containing
		// alias, an empty field name, timespans that overflowed.
		aliasBomb(2000),
		"title: x\ndetection: &d\n    sel: [*d]\n    condition: sel\n",
		"title: x\ndetection:\n    sel: {'': v}\n    condition: sel\n",
		"correlation:\n    type: event_count\n    rules: [a]\n    timespan: 585y\n",
		"correlation:\n    type: event_count\n    rules: [a]\n    timespan: 10000000M\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := ParseBytes(data, "fuzz.yml")
		if c == nil {
			t.Fatal("nil collection")
		}
		for _, r := range c.Rules {
			for _, cond := range r.Detection.Conditions {
				_ = cond.Expr.String()
			}
		}
	})
}

// aliasBomb is issue 10's rule: a list of n values, a mapping holding it,
// and a selection listing that mapping n times. With n = 2,000 it is 29 KB
// and used to expand to 4 million values (1.9 GB, 14 s in rules lint).
func aliasBomb(n int) string {
	var b strings.Builder
	b.WriteString("title: bomb\nid: bomb\nlogsource: {product: msp}\nvals: &v [")
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

// TestAliasBombIsRejectedCheaply: the bomb fails in milliseconds and a few
// megabytes, before any Value is built.
func TestAliasBombIsRejectedCheaply(t *testing.T) {
	data := []byte(aliasBomb(2000))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	c, err := ParseBytes(data, "bomb.yml")
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil || len(c.Rules) != 0 {
		t.Fatalf("bomb parsed: %d rules, error %v", len(c.Rules), err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte bomb rejected in %s, %d KiB allocated: %v", len(data), took, alloc>>10, err)
	if alloc > 20<<20 || took > 2*time.Second {
		t.Errorf("rejecting the bomb took %s and %d MiB", took, alloc>>20)
	}
}

func TestParseTimespan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "5m", want: 5 * time.Minute},
		{in: "2h", want: 2 * time.Hour},
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "2w", want: 14 * 24 * time.Hour},
		{in: "1M", want: 30 * 24 * time.Hour},
		{in: " 1y ", want: 365 * 24 * time.Hour},
		{in: "0s", want: 0},
		{in: "10y", want: MaxTimespan},
		{in: "3650d", want: MaxTimespan},
		{in: "121M", want: 121 * 30 * 24 * time.Hour},
		{in: "11y", err: `timespan "11y" exceeds the maximum of 10y (3650 days)`},
		{in: "3651d", err: `timespan "3651d" exceeds the maximum of 10y (3650 days)`},
		{in: "122M", err: "exceeds the maximum"},
		{in: "293y", err: "exceeds the maximum"},
		{in: "585y", err: "exceeds the maximum"},
		{in: "1000y", err: "exceeds the maximum"},
		{in: "10000000M", err: "exceeds the maximum"},
		{in: "315360000000s", err: "exceeds the maximum"},
		{in: "99999999999999999999999s", err: "exceeds the maximum"},
		{in: "-5m", err: "want <number><unit>"},
		{in: "+5m", err: "want <number><unit>"},
		{in: "1.5h", err: "want <number><unit>"},
		{in: "5", err: "want <number><unit>"},
		{in: "m", err: "want <number><unit>"},
		{in: "5q", err: `unknown unit "q"`},
	} {
		got, err := ParseTimespan(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseTimespan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTimespan(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
		}
	}
}
