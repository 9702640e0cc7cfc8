package adapt

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScan holds the scanner to encoding/json: it accepts an object iff
// encoding/json does (short of duplicate keys and the nesting limit, which
// it rejects), and reads every key and string value, and compacts every
// value, as encoding/json does; split and splitArray, which read what was
// validated, read it as parseObject and parseArray do.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"x\"y\\u00e9\ud83d\ude00\ud800z","b":[1,{"c":null}],"d":-0.5e+3}`,
		`{"a":1,"a":2}`, `{"a":tru}`, `{"a":01}`, `{"a":"\x01"}`, `{"a":1}x`, `[1,2]`, `{"a":[}`,
		`{"k\u0041":"v"}`, `{"a":"\ud800\u0041"}`, `{"a":1.}`, `{"a":-}`, `{"a" : [ ] , "b" : { } }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // run checks UTF-8 once for the whole input
		}
		members, err := parseObject(string(b), nil)
		var std map[string]json.RawMessage
		stdErr := json.Unmarshal(b, &std)
		valid := json.Valid(b) && len(strings.TrimSpace(string(b))) > 0 && strings.TrimSpace(string(b))[0] == '{'
		if err == nil && !valid {
			t.Fatalf("scanner accepts what encoding/json rejects: %q", b)
		}
		if err != nil {
			if valid && !strings.Contains(err.Error(), "appears twice") && !strings.Contains(err.Error(), "nesting deeper") {
				t.Fatalf("scanner rejects valid JSON %q: %v", b, err)
			}
			return
		}
		if stdErr != nil || len(std) != len(members) {
			t.Fatalf("%q: %d members, encoding/json %d (%v)", b, len(members), len(std), stdErr)
		}
		// What validation accepted, split reads the same way.
		if fast, err := split(string(b), nil); err != nil || !slices.Equal(fast, members) {
			t.Fatalf("%q: split %q (%v), parseObject %q", b, fast, err, members)
		}
		for _, m := range members {
			if m.v[0] == '[' {
				items, err := parseArray(m.v, nil)
				if fast := splitArray(m.v, nil); err != nil || !slices.Equal(fast, items) {
					t.Fatalf("%q: splitArray(%s) %q, parseArray %q (%v)", b, m.v, fast, items, err)
				}
			}
			want, ok := std[m.k]
			if !ok {
				t.Fatalf("%q: key %q not seen by encoding/json", b, m.k)
			}
			if string(want) != string(m.v) {
				t.Fatalf("%q: key %q: value %s, encoding/json %s", b, m.k, m.v, want)
			}
			var c bytes.Buffer
			if json.Compact(&c, []byte(m.v)) != nil || compact(m.v) != c.String() {
				t.Fatalf("%q: compact(%s) = %s, encoding/json %s", b, m.v, compact(m.v), c.String())
			}
			if m.v[0] == '"' {
				var s string
				if json.Unmarshal([]byte(m.v), &s) != nil || unquote(m.v) != s {
					t.Fatalf("%q: unquote(%s) = %q, encoding/json %q", b, m.v, unquote(m.v), s)
				}
			}
		}
	})
}

// TestStringEndWords holds stringEnd and skipString, which read eight
// bytes at a time, to encoding/json on strings with a quote, a backslash escape or a
// control byte at every position of the words and their tails.
func TestStringEndWords(t *testing.T) {
	for n := 0; n <= 26; n++ {
		for pos := 0; pos < n; pos++ {
			for _, special := range []string{`"`, `\\`, `\"`, `\u00e9`, `\x`, "\x00", "\x01", "\x1f", "\x7f", " ", "!", "é", "\u2028", "\xff"} {
				body := strings.Repeat("a", pos) + special + strings.Repeat("b", n-pos)
				for _, tail := range []string{``, `,"z":1`, `"`, `,"` + body + `":"` + body + `"`} {
					doc := `{"k":"` + body + `"` + tail + `}`
					if !utf8.ValidString(doc) {
						continue
					}
					members, err := parseObject(doc, nil)
					if err == nil {
						// What validation accepted, split reads the
						// same way (skipString, eight bytes at a time).
						if fast, err := split(doc, nil); err != nil || !slices.Equal(fast, members) {
							t.Fatalf("%q: split %q (%v), parseObject %q", doc, fast, err, members)
						}
					}
					var v map[string]json.RawMessage
					stdErr := json.Unmarshal([]byte(doc), &v)
					if (err == nil) != (stdErr == nil) {
						t.Fatalf("%q: scanner %v, encoding/json %v", doc, err, stdErr)
					}
					// Where the string ends, when it is valid.
					if err == nil {
						if end, _ := stringEnd(doc, 5); doc[5:end] != string(v["k"]) {
							t.Fatalf("%q: string %q, encoding/json %q", doc, doc[5:end], v["k"])
						}
					}
				}
			}
		}
	}
}
