package sigma

import (
	"strings"
	"testing"
)

func TestRemoveDuplicates(t *testing.T) {
	rule := func(meta string) string {
		return "title: t\n" + meta + "detection:\n    sel: {a: b}\n    condition: sel\n"
	}
	corr := func(meta string) string {
		return "title: c\n" + meta + "correlation:\n    type: event_count\n    rules: [x]\n    timespan: 5m\n    condition: {gte: 2}\n"
	}
	for _, tc := range []struct {
		name         string
		files        []string // one document each, a.yml, b.yml, ...
		rules, corrs int      // kept
		errs         []string
	}{
		{name: "distinct", files: []string{rule("id: a\nname: x\n"), rule("id: b\nname: y\n")}, rules: 2},
		{name: "name equal to own id", files: []string{rule("id: a\nname: a\n"), rule("id: b\n")}, rules: 2},
		{name: "no id or name", files: []string{rule(""), rule("")}, rules: 2},
		{name: "same name, different ids", files: []string{rule("id: a\nname: x\n"), rule("id: b\nname: x\n")}, rules: 1,
			errs: []string{`b.yml:3:7: rule name "x" is also the name of the rule at a.yml:3:7`}},
		{name: "same id", files: []string{rule("id: a\n"), rule("id: a\n")}, rules: 1,
			errs: []string{`b.yml:2:5: rule id "a" is also the id of the rule at a.yml:2:5`}},
		{name: "id is another's name", files: []string{rule("id: a\nname: x\n"), rule("id: x\n")}, rules: 1,
			errs: []string{`b.yml:2:5: rule id "x" is also the name of the rule at a.yml:3:7`}},
		{name: "correlation reuses a rule name", files: []string{rule("id: a\nname: x\n"), corr("id: c\nname: x\n")}, rules: 1,
			errs: []string{`b.yml:3:7: correlation name "x" is also the name of the rule at a.yml:3:7`}},
		{name: "three with one name", files: []string{rule("name: x\n"), rule("name: x\n"), rule("name: x\n")}, rules: 1,
			errs: []string{`b.yml:2:7: rule name "x" is also the name of the rule at a.yml:2:7`, `c.yml:2:7: rule name "x" is also the name of the rule at a.yml:2:7`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var coll Collection
			for i, f := range tc.files {
				c, err := ParseBytes([]byte(f), string(rune('a'+i))+".yml")
				if err != nil {
					t.Fatal(err)
				}
				coll.Add(c)
			}
			errs := coll.RemoveDuplicates()
			if len(coll.Rules) != tc.rules || len(coll.Correlations) != tc.corrs {
				t.Errorf("kept %d rules and %d correlations, want %d and %d", len(coll.Rules), len(coll.Correlations), tc.rules, tc.corrs)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %d", errs, len(tc.errs))
			}
			for i, want := range tc.errs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %v, want %q", errs[i], want)
				}
			}
		})
	}
}
