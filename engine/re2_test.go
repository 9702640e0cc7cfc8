package engine

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/sigma"
)

// TestRE2Unsupported: a PCRE construct RE2 lacks is named in the error,
// not reported as Go's "invalid named capture" or "invalid escape".
func TestRE2Unsupported(t *testing.T) {
	for _, tc := range []struct{ re, want string }{
		{`(?<=user=)admin`, "RE2 has no lookbehind (?<=...)"},
		{`(?<!\\)cmd`, "RE2 has no negative lookbehind (?<!...)"},
		{`net(?= user)`, "RE2 has no lookahead (?=...)"},
		{`net(?!work)`, "RE2 has no negative lookahead (?!...)"},
		{`(?>a+)b`, "RE2 has no atomic groups (?>...)"},
		{`(a)\1`, `RE2 has no backreferences (\1)`},
		{`\(?=x(`, "missing closing )"}, // an escaped paren is no lookahead
		{`a(b`, "missing closing )"},
	} {
		src := "title: t\nid: t\nlogsource: {product: msp}\ndetection:\n  sel:\n    script.command|re: '" + tc.re + "'\n  condition: sel\n"
		coll, err := sigma.ParseBytes([]byte(src), "re.yml")
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.re, err)
		}
		_, errs := CompileCollection(coll, Config{})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%s: errors %v, want one containing %q", tc.re, errs, tc.want)
		}
		if len(errs) == 1 && !strings.Contains(errs[0].Error(), "re.yml:6:") {
			t.Errorf("%s: error %v is not positioned at the item", tc.re, errs[0])
		}
	}
}
