package engine

import (
	"testing"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

// FuzzCompileMatch checks that no rule text can make compilation or
// matching panic.
func FuzzCompileMatch(f *testing.F) {
	for _, s := range []string{
		ruleDoc("a", "product: x", "sel: {f|windash|contains: '-a -b -c -d -e -f -g'}\ncondition: sel"),
		ruleDoc("b", "", "sel: {f|wide|base64offset|contains: 'cmd'}\ncondition: sel"),
		ruleDoc("c", "", "sel: {f|re|i|m|s: '(a|b)+c{2,}'}\ncondition: not sel"),
		ruleDoc("d", "", "sel: {f|expand: '%Admins%\\%x'}\ncondition: sel"),
		ruleDoc("e", "", "sel:\n    - '*?\\\\*'\n    - 5\ncondition: 1 of them"),
		ruleDoc("f", "", "sel: {f|fieldref|endswith: g, h|cidr: '::/0', t|hour|gte: 3}\ncondition: sel"),
	} {
		f.Add([]byte(s))
	}
	ev := fields.Map{Doc: map[string]any{
		"f": "a -b /c\n-d", "g": "-d", "h": "::1", "t": "2024-01-01T05:00:00Z",
		"l": []any{"x", 1.0, nil, true, []any{"nested"}}, "s": []string{"a", "b"},
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		coll, _ := sigma.ParseBytes(data, "fuzz.yml")
		rs, _ := CompileCollection(coll, Config{Placeholders: map[string][]string{"Admins": {"adm*"}}})
		rs.Match(ev, nil)
		rs.Match(fields.Map{Doc: map[string]any{}, Source: fields.Logsource{Product: "x"}}, nil)
	})
}
