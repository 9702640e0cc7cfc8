package silence

import (
	"testing"

	"github.com/tripline/tripline/record"
)

// FuzzParse: any input either fails to parse or yields a matcher that
// round-trips through its canonical form and evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"rule_id=x", "level=~high|critical", `tag!~"a.*"`, "package.sha256!=", "x=~(", "==", "tenant= \" a \" ", "attributes.k=~a|b|"} {
		f.Add(s)
	}
	a := &record.Alert{RuleID: "x", Level: "high", Tags: []string{"a"}, GroupKeys: []string{"package.sha256"}, GroupValues: []string{"abc"}}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(m.String())
		if err != nil || again.Key != m.Key || again.Op != m.Op || again.Value != m.Value {
			t.Fatalf("%q -> %q -> %+v, %v", s, m.String(), again, err)
		}
		if m.Matches(a) != again.Matches(a) {
			t.Fatalf("%q and its canonical form disagree", s)
		}
	})
}
