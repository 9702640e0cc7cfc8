package engine

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

type ev = map[string]any

type semCase struct {
	name string
	det  string // detection body; `condition: sel` is appended if absent
	ev   ev
	want bool
}

func runSemCases(t *testing.T, cfg Config, cases []semCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			det := tc.det
			if !strings.Contains(det, "condition:") {
				det += "\ncondition: sel"
			}
			for _, prefilter := range []bool{true, false} {
				c := cfg
				c.DisablePrefilter = !prefilter
				rs := mustCompile(t, c, ruleDoc("r1", "", det))
				got := len(rs.Match(fields.Map{Doc: tc.ev}, nil)) == 1
				if got != tc.want {
					t.Fatalf("prefilter=%v: match = %v, want %v\ndetection:\n%s\nevent: %#v", prefilter, got, tc.want, det, tc.ev)
				}
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func utf16le(s string) string {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return string(b)
}

func utf16be(s string) string {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, r)
	}
	return string(b)
}

func TestEscapesAndWildcards(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		// Spec: `\*` is a literal star.
		{"escaped star literal", `sel: {f: 'a\*b'}`, ev{"f": "a*b"}, true},
		{"escaped star not wildcard", `sel: {f: 'a\*b'}`, ev{"f": "axxb"}, false},
		// Spec: `\\*` is a backslash followed by a wildcard.
		{"backslash then wildcard", `sel: {f: 'a\\*'}`, ev{"f": `a\anything`}, true},
		{"backslash then wildcard empty", `sel: {f: 'a\\*'}`, ev{"f": `a\`}, true},
		{"backslash then wildcard needs backslash", `sel: {f: 'a\\*'}`, ev{"f": `abc`}, false},
		// Spec: `\\\*` is a backslash and a literal star.
		{"three backslashes star", `sel: {f: 'a\\\*'}`, ev{"f": `a\*`}, true},
		{"three backslashes star literal", `sel: {f: 'a\\\*'}`, ev{"f": `a\x`}, false},
		// Spec: `\\\\` is two plain backslashes.
		{"four backslashes", `sel: {f: 'a\\\\b'}`, ev{"f": `a\\b`}, true},
		{"four backslashes not one", `sel: {f: 'a\\\\b'}`, ev{"f": `a\b`}, false},
		{"three backslashes = two", `sel: {f: 'a\\\b'}`, ev{"f": `a\\b`}, true},
		// Spec: a plain backslash needs no escaping.
		{"plain backslash", `sel: {f: 'C:\Windows\System32\cmd.exe'}`, ev{"f": `c:\windows\system32\CMD.EXE`}, true},
		{"double backslash is one", `sel: {f: 'C:\\Windows'}`, ev{"f": `C:\Windows`}, true},
		{"trailing backslash", `sel: {f: 'dir\'}`, ev{"f": `dir\`}, true},
		{"question mark one char", `sel: {f: 'a?c'}`, ev{"f": "abc"}, true},
		{"question mark needs a char", `sel: {f: 'a?c'}`, ev{"f": "ac"}, false},
		{"question mark one rune", `sel: {f: 'a?c'}`, ev{"f": "aéc"}, true},
		{"escaped question mark", `sel: {f: 'a\?c'}`, ev{"f": "a?c"}, true},
		{"escaped question mark literal", `sel: {f: 'a\?c'}`, ev{"f": "abc"}, false},
		{"inner star", `sel: {f: 'a*b*c'}`, ev{"f": "AxxBxxC"}, true},
		{"inner star order", `sel: {f: 'a*b*c'}`, ev{"f": "acb"}, false},
		{"star only matches empty", `sel: {f: '*'}`, ev{"f": ""}, true},
		{"star does not match absent", `sel: {f: '*'}`, ev{}, false},
		{"glob suffix overlap", `sel: {f: 'ab*b'}`, ev{"f": "ab"}, false},
		// `\*` right after a path separator is an escaped (literal) star...
		{"glob escaped star after backslash", `sel: {f: '*\sys?em32\*.exe'}`, ev{"f": `C:\Windows\System32\foo.EXE`}, false},
		{"glob escaped star literal", `sel: {f: '*\sys?em32\*.exe'}`, ev{"f": `C:\Windows\System32*.EXE`}, true},
		// ...so a separator followed by a wildcard is written `\\*`.
		{"glob mixed", `sel: {f: '*\sys?em32\\*.exe'}`, ev{"f": `C:\Windows\System32\foo.EXE`}, true},
		{"case insensitive equals", `sel: {f: 'PowerShell.EXE'}`, ev{"f": "powershell.exe"}, true},
		{"case insensitive unicode", `sel: {f: 'ÄRGER'}`, ev{"f": "ärger"}, true},
		{"equals is whole value", `sel: {f: 'cmd'}`, ev{"f": "cmd.exe"}, false},
	})
}

func TestStringModifiers(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		{"contains", `sel: {f|contains: 'MIMI'}`, ev{"f": "run mimikatz now"}, true},
		{"contains miss", `sel: {f|contains: 'mimi'}`, ev{"f": "run mim ikatz"}, false},
		{"startswith", `sel: {f|startswith: 'C:\Users\'}`, ev{"f": `c:\users\bob`}, true},
		{"startswith miss", `sel: {f|startswith: 'C:\Users\'}`, ev{"f": `d:\c:\users\bob`}, false},
		{"endswith", `sel: {Image|endswith: '\cmd.exe'}`, ev{"Image": `C:\WINDOWS\CMD.EXE`}, true},
		{"endswith miss", `sel: {Image|endswith: '\cmd.exe'}`, ev{"Image": `C:\x\notcmd.exe`}, false},
		{"contains with inner wildcard", `sel: {f|contains: 'a*z'}`, ev{"f": "xxaYYzxx"}, true},
		{"value list is or", `sel: {f|endswith: ['.exe', '.dll']}`, ev{"f": "x.DLL"}, true},
		{"contains all", `sel: {f|contains|all: ['-nop', '-enc']}`, ev{"f": "ps -enc x -nop"}, true},
		{"contains all missing one", `sel: {f|contains|all: ['-nop', '-enc']}`, ev{"f": "ps -enc x"}, false},
		{"cased match", `sel: {f|cased: 'Foo'}`, ev{"f": "Foo"}, true},
		{"cased miss", `sel: {f|cased: 'Foo'}`, ev{"f": "foo"}, false},
		{"cased contains", `sel: {f|contains|cased: 'Bar'}`, ev{"f": "xBarx"}, true},
		{"cased contains miss", `sel: {f|contains|cased: 'Bar'}`, ev{"f": "xbarx"}, false},
		{"neq differs", `sel: {f|neq: 'x'}`, ev{"f": "y"}, true},
		{"neq equal", `sel: {f|neq: 'x'}`, ev{"f": "X"}, false},
		{"neq absent", `sel: {f|neq: 'x'}`, ev{}, true},
		{"neq list none", `sel: {f|neq: ['a', 'b']}`, ev{"f": "c"}, true},
		{"neq list one", `sel: {f|neq: ['a', 'b']}`, ev{"f": "b"}, false},
		{"neq number", `sel: {f|neq: 5}`, ev{"f": 5.0}, false},
		{"windash dash", `sel: {f|windash|contains: ' -enc '}`, ev{"f": "powershell -enc AAA"}, true},
		{"windash slash", `sel: {f|windash|contains: ' -enc '}`, ev{"f": "powershell /enc AAA"}, true},
		{"windash en dash", `sel: {f|windash|contains: ' -enc '}`, ev{"f": "powershell –enc AAA"}, true},
		{"windash em dash", `sel: {f|windash|contains: ' -enc '}`, ev{"f": "powershell —enc AAA"}, true},
		{"windash horizontal bar", `sel: {f|windash|contains: ' -enc '}`, ev{"f": "powershell ―enc AAA"}, true},
		{"windash other char", `sel: {f|windash|contains: ' -enc '}`, ev{"f": "powershell +enc AAA"}, false},
		{"windash contains order", `sel: {f|contains|windash: '/c '}`, ev{"f": "cmd -c whoami"}, true},
		{"windash only flag dashes", `sel: {f|windash|contains: 'foo-bar'}`, ev{"f": "foo/bar"}, false},
		{"windash two flags", `sel: {f|windash|contains: '-a -b'}`, ev{"f": "x /a –b"}, true},
	})
}

func TestNullEmptyExists(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		{"null matches absent", `sel: {f: null}`, ev{}, true},
		{"null matches null", `sel: {f: null}`, ev{"f": nil}, true},
		{"null not empty", `sel: {f: null}`, ev{"f": ""}, false},
		{"null not value", `sel: {f: null}`, ev{"f": "x"}, false},
		{"empty matches empty", `sel: {f: ''}`, ev{"f": ""}, true},
		{"empty not absent", `sel: {f: ''}`, ev{}, false},
		{"empty not null", `sel: {f: ''}`, ev{"f": nil}, false},
		{"empty not value", `sel: {f: ''}`, ev{"f": "x"}, false},
		{"not null via filter", "sel: {a: x}\nfilter: {f: null}\ncondition: sel and not filter", ev{"a": "x", "f": "set"}, true},
		{"not null via filter absent", "sel: {a: x}\nfilter: {f: null}\ncondition: sel and not filter", ev{"a": "x"}, false},
		{"exists true", `sel: {f|exists: true}`, ev{"f": ""}, true},
		{"exists true null", `sel: {f|exists: true}`, ev{"f": nil}, true},
		{"exists true absent", `sel: {f|exists: true}`, ev{}, false},
		{"exists false absent", `sel: {f|exists: false}`, ev{}, true},
		{"exists false present", `sel: {f|exists: false}`, ev{"f": "x"}, false},
		{"exists nested object", `sel: {a.b|exists: true}`, ev{"a": ev{"b": ev{"c": 1.0}}}, true},
	})
}

func TestTypedValues(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		{"number matches number", `sel: {EventID: 4624}`, ev{"EventID": 4624.0}, true},
		{"number matches string", `sel: {EventID: 4624}`, ev{"EventID": "4624"}, true},
		{"number miss", `sel: {EventID: 4624}`, ev{"EventID": 4625.0}, false},
		{"number list", `sel: {EventID: [4624, 4625]}`, ev{"EventID": 4625.0}, true},
		{"string matches number", `sel: {EventID: '4624'}`, ev{"EventID": 4624.0}, true},
		{"hex stays text", `sel: {Opt: '0x40810000'}`, ev{"Opt": "0x40810000"}, true},
		{"unquoted hex number", `sel: {Opt: 0x17}`, ev{"Opt": "0x17"}, true},
		{"unquoted hex numeric", `sel: {Opt: 0x17}`, ev{"Opt": 23.0}, true},
		{"contains on number", `sel: {EventID|contains: 46}`, ev{"EventID": 4624.0}, true},
		{"bool true", `sel: {f: true}`, ev{"f": true}, true},
		{"bool false miss", `sel: {f: true}`, ev{"f": false}, false},
		{"bool string", `sel: {f: true}`, ev{"f": "True"}, true},
		{"string vs bool event", `sel: {f: 'true'}`, ev{"f": true}, true},
		{"lt", `sel: {n|lt: 10}`, ev{"n": 9.0}, true},
		{"lt equal", `sel: {n|lt: 10}`, ev{"n": 10.0}, false},
		{"lte equal", `sel: {n|lte: 10}`, ev{"n": 10.0}, true},
		{"gt", `sel: {n|gt: 10}`, ev{"n": 10.5}, true},
		{"gt miss", `sel: {n|gt: 10}`, ev{"n": 3.0}, false},
		{"gte string event", `sel: {n|gte: 10}`, ev{"n": "10"}, true},
		{"gte non-numeric", `sel: {n|gte: 10}`, ev{"n": "ten"}, false},
		{"event string list any", `sel: {tags: b}`, ev{"tags": []string{"a", "B"}}, true},
		{"event string list none", `sel: {tags: c}`, ev{"tags": []string{"a", "b"}}, false},
		{"event list any", `sel: {ports: 443}`, ev{"ports": []any{80.0, 443.0}}, true},
		{"event list all", `sel: {tags|all: [a, b]}`, ev{"tags": []any{"a", "b", "c"}}, true},
		{"event list all missing", `sel: {tags|all: [a, d]}`, ev{"tags": []any{"a", "b"}}, false},
		{"dotted path", `sel: {actor.user: bob}`, ev{"actor": ev{"user": "Bob"}}, true},
	})
}

func TestTimeModifiers(t *testing.T) {
	ts := "2024-03-05T08:15:30Z"
	runSemCases(t, Config{}, []semCase{
		{"hour", `sel: {ts|hour: 8}`, ev{"ts": ts}, true},
		{"hour miss", `sel: {ts|hour: 9}`, ev{"ts": ts}, false},
		{"minute", `sel: {ts|minute: 15}`, ev{"ts": ts}, true},
		{"day", `sel: {ts|day: 5}`, ev{"ts": ts}, true},
		{"week", `sel: {ts|week: 10}`, ev{"ts": ts}, true},
		{"month", `sel: {ts|month: 3}`, ev{"ts": ts}, true},
		{"year", `sel: {ts|year: 2024}`, ev{"ts": ts}, true},
		{"hour lt", `sel: {ts|hour|lt: 9}`, ev{"ts": ts}, true},
		{"hour gte miss", `sel: {ts|hour|gte: 9}`, ev{"ts": ts}, false},
		{"space layout", `sel: {ts|hour: 23}`, ev{"ts": "2024-03-05 23:01:02"}, true},
		{"epoch seconds", `sel: {ts|year: 2024}`, ev{"ts": 1709626530.0}, true},
		{"epoch millis", `sel: {ts|month: 3}`, ev{"ts": 1709626530000.0}, true},
		{"not a time", `sel: {ts|hour: 8}`, ev{"ts": "yesterday"}, false},
	})
}

func TestCIDR(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		{"v4 in", `sel: {ip|cidr: 10.0.0.0/8}`, ev{"ip": "10.1.2.3"}, true},
		{"v4 out", `sel: {ip|cidr: 10.0.0.0/8}`, ev{"ip": "11.0.0.1"}, false},
		{"v4 list", `sel: {ip|cidr: ['192.168.0.0/16', '172.16.0.0/12']}`, ev{"ip": "172.31.255.255"}, true},
		{"v4 /32 bare", `sel: {ip|cidr: 1.2.3.4}`, ev{"ip": "1.2.3.4"}, true},
		{"v4 mapped v6 event", `sel: {ip|cidr: 10.0.0.0/8}`, ev{"ip": "::ffff:10.9.8.7"}, true},
		{"v6 in", `sel: {ip|cidr: '2001:db8::/32'}`, ev{"ip": "2001:DB8::1"}, true},
		{"v6 out", `sel: {ip|cidr: '2001:db8::/32'}`, ev{"ip": "2001:db9::1"}, false},
		{"v6 link local", `sel: {ip|cidr: 'fe80::/10'}`, ev{"ip": "fe80::1"}, true},
		{"v4 rule v6 event", `sel: {ip|cidr: 10.0.0.0/8}`, ev{"ip": "2001:db8::1"}, false},
		{"not an ip", `sel: {ip|cidr: 10.0.0.0/8}`, ev{"ip": "10.x"}, false},
		{"unmasked prefix", `sel: {ip|cidr: 10.1.2.3/8}`, ev{"ip": "10.200.0.1"}, true},
	})
}

func TestRegex(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		{"re", `sel: {f|re: '^ab+c$'}`, ev{"f": "abbc"}, true},
		{"re case-sensitive", `sel: {f|re: '^ab+c$'}`, ev{"f": "ABBC"}, false},
		{"re i", `sel: {f|re|i: '^ab+c$'}`, ev{"f": "ABBC"}, true},
		{"re inline i", `sel: {f|re: '(?i)^ab+c$'}`, ev{"f": "ABBC"}, true},
		{"re unanchored", `sel: {f|re: 'b+'}`, ev{"f": "abbc"}, true},
		{"re no m", `sel: {f|re: '^foo$'}`, ev{"f": "x\nfoo\ny"}, false},
		{"re m", `sel: {f|re|m: '^foo$'}`, ev{"f": "x\nfoo\ny"}, true},
		{"re no s", `sel: {f|re: 'a.b'}`, ev{"f": "a\nb"}, false},
		{"re s", `sel: {f|re|s: 'a.b'}`, ev{"f": "a\nb"}, true},
		{"re flags combined", `sel: {f|re|i|s: 'A.B'}`, ev{"f": "a\nb"}, true},
		{"re on number", `sel: {f|re: '^46\d\d$'}`, ev{"f": 4624.0}, true},
	})
}

func TestEncodingModifiers(t *testing.T) {
	var cases []semCase
	// base64offset must find the value wherever it sits in an encoded blob.
	for _, prefix := range []string{"", "a", "ab", "abc", "abcd"} {
		for _, suffix := range []string{"", "x", "xy", "xyz"} {
			cases = append(cases, semCase{
				"base64offset " + prefix + "|" + suffix,
				`sel: {f|base64offset|contains: 'http://'}`,
				ev{"f": b64(prefix + "http://" + suffix)}, true,
			})
			cases = append(cases, semCase{
				"wide base64offset " + prefix + "|" + suffix,
				`sel: {f|wide|base64offset|contains: 'cmd /c'}`,
				ev{"f": b64(utf16le(prefix + "cmd /c" + suffix))}, true,
			})
		}
	}
	cases = append(cases,
		semCase{"base64offset miss", `sel: {f|base64offset|contains: 'http://'}`, ev{"f": b64("xxhttps:/xx")}, false},
		semCase{"base64", `sel: {f|base64: 'hello'}`, ev{"f": "aGVsbG8="}, true},
		semCase{"base64 is exact", `sel: {f|base64: 'hello'}`, ev{"f": "xaGVsbG8="}, false},
		semCase{"base64 contains", `sel: {f|base64|contains: 'hello'}`, ev{"f": "xxaGVsbG8=yy"}, true},
		semCase{"utf16le", `sel: {f|utf16le|contains: 'cmd'}`, ev{"f": "x" + utf16le("cmd") + "y"}, true},
		semCase{"utf16le not ascii", `sel: {f|utf16le|contains: 'cmd'}`, ev{"f": "cmd"}, false},
		semCase{"wide alias", `sel: {f|wide|contains: 'cmd'}`, ev{"f": utf16le("run cmd")}, true},
		semCase{"utf16be", `sel: {f|utf16be|contains: 'cmd'}`, ev{"f": utf16be("run cmd")}, true},
		semCase{"utf16be not le", `sel: {f|utf16be: 'cmd'}`, ev{"f": utf16le("cmd")}, false},
		semCase{"utf16 bom base64", `sel: {f|utf16|base64: 'cmd'}`, ev{"f": b64("\xff\xfe" + utf16le("cmd"))}, true},
		semCase{"utf16le base64", `sel: {f|utf16le|base64: 'cmd'}`, ev{"f": "YwBtAGQA"}, true},
	)
	runSemCases(t, Config{}, cases)
}

func TestFieldRefAndExpand(t *testing.T) {
	runSemCases(t, Config{Placeholders: map[string][]string{
		"Admins":  {"root", "adm_*"},
		"Domains": {"corp", "lab"},
	}}, []semCase{
		{"fieldref equal", `sel: {a|fieldref: b}`, ev{"a": "X", "b": "x"}, true},
		{"fieldref differ", `sel: {a|fieldref: b}`, ev{"a": "x", "b": "y"}, false},
		{"fieldref missing", `sel: {a|fieldref: b}`, ev{"a": "x"}, false},
		{"fieldref contains", `sel: {a|fieldref|contains: b}`, ev{"a": "xxYYxx", "b": "yy"}, true},
		{"fieldref startswith", `sel: {a|fieldref|startswith: b}`, ev{"a": "abc", "b": "ab"}, true},
		{"fieldref startswith miss", `sel: {a|fieldref|startswith: b}`, ev{"a": "abc", "b": "bc"}, false},
		{"fieldref endswith", `sel: {a|fieldref|endswith: b}`, ev{"a": "abc", "b": "bc"}, true},
		{"fieldref cased", `sel: {a|fieldref|cased: b}`, ev{"a": "X", "b": "x"}, false},
		{"fieldref number", `sel: {a|fieldref: b}`, ev{"a": 5.0, "b": "5"}, true},
		{"fieldref neq", `sel: {a|fieldref|neq: b}`, ev{"a": "x", "b": "y"}, true},
		{"expand literal", `sel: {u|expand: '%Admins%'}`, ev{"u": "ROOT"}, true},
		{"expand wildcard value", `sel: {u|expand: '%Admins%'}`, ev{"u": "adm_bob"}, true},
		{"expand miss", `sel: {u|expand: '%Admins%'}`, ev{"u": "bob"}, false},
		{"expand product", `sel: {u|expand: '%Domains%\\%Admins%'}`, ev{"u": `lab\root`}, true},
		{"expand escaped second", `sel: {u|expand: '%Domains%\%Admins%'}`, ev{"u": `lab%Admins%`}, true},
		{"expand escaped percent", `sel: {u|expand: '\%Admins%'}`, ev{"u": `%Admins%`}, true},
		{"no expand is literal", `sel: {u: '%Admins%'}`, ev{"u": `%admins%`}, true},
	})
}

func TestKeywords(t *testing.T) {
	runSemCases(t, Config{}, []semCase{
		{"keyword list or", "sel:\n    - 'event::clear'\n    - 'event::drop'", ev{"msg": "mimikatz EVENT::DROP done"}, true},
		{"keyword list miss", "sel:\n    - 'event::clear'\n    - 'event::drop'", ev{"msg": "nothing"}, false},
		{"keyword nested", "sel:\n    - 'secret'", ev{"a": ev{"b": []any{"x", "top SECRET"}}}, true},
		{"keyword bare string", "sel: 'needle'", ev{"a": "haystack needle"}, true},
		{"keyword all", "sel:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '", ev{"a": "Set-OabVirtualDirectory", "b": "x -externalurl y"}, true},
		{"keyword all missing", "sel:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '", ev{"a": "Set-OabVirtualDirectory"}, false},
		{"keyword wildcard", "sel:\n    - 'a*z'", ev{"a": "xxAyyZxx"}, true},
		{"keyword number", "sel:\n    - 6", ev{"a": "init 6"}, true},
		{"keyword cased", "sel:\n    '|cased':\n        - 'Foo'", ev{"a": "foo"}, false},
	})
}

func TestConditions(t *testing.T) {
	det := `selection_a: {a: 1}
selection_b: {b: 1}
filter_x: {x: 1}
_hidden: {h: 1}
`
	cases := []struct {
		cond string
		ev   ev
		want bool
	}{
		{"selection_a and selection_b", ev{"a": "1", "b": "1"}, true},
		{"selection_a and selection_b", ev{"a": "1"}, false},
		{"selection_a or selection_b", ev{"b": "1"}, true},
		{"not selection_a", ev{}, true},
		{"not selection_a", ev{"a": "1"}, false},
		// Precedence: or < and < not.
		{"selection_a or selection_b and filter_x", ev{"a": "1"}, true},
		{"selection_a or selection_b and filter_x", ev{"b": "1"}, false},
		{"(selection_a or selection_b) and filter_x", ev{"a": "1"}, false},
		{"not selection_a and selection_b", ev{"b": "1"}, true},
		{"not selection_a and selection_b", ev{"a": "1", "b": "1"}, false},
		{"not (selection_a and selection_b)", ev{"a": "1"}, true},
		{"not not selection_a", ev{"a": "1"}, true},
		{"1 of selection_*", ev{"b": "1"}, true},
		{"any of selection_*", ev{"b": "1"}, true},
		{"all of selection_*", ev{"b": "1"}, false},
		{"all of selection_*", ev{"a": "1", "b": "1"}, true},
		{"1 of selection_* and not 1 of filter_*", ev{"a": "1", "x": "1"}, false},
		{"1 of selection_* and not 1 of filter_*", ev{"a": "1"}, true},
		{"1 of them", ev{"x": "1"}, true},
		// `them` skips _hidden.
		{"1 of them", ev{"h": "1"}, false},
		{"all of them", ev{"a": "1", "b": "1", "x": "1"}, true},
		{"_hidden", ev{"h": "1"}, true},
		{"1 of sel*_?", ev{"a": "1"}, true},
		{"1 of selection_a", ev{"a": "1"}, true},
		{"selection_a AND selection_b", ev{"a": "1", "b": "1"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.cond, func(t *testing.T) {
			rs := mustCompile(t, Config{}, ruleDoc("c", "", det+"condition: "+tc.cond))
			got := len(rs.Match(fields.Map{Doc: tc.ev}, nil)) == 1
			if got != tc.want {
				t.Fatalf("%s on %v = %v, want %v", tc.cond, tc.ev, got, tc.want)
			}
		})
	}
	t.Run("condition list is or", func(t *testing.T) {
		rs := mustCompile(t, Config{}, ruleDoc("c", "", det+"condition:\n    - selection_a\n    - selection_b"))
		if len(rs.Match(fields.Map{Doc: ev{"b": "1"}}, nil)) != 1 {
			t.Fatal("second condition of the list should match")
		}
		if len(rs.Match(fields.Map{Doc: ev{"x": "1"}}, nil)) != 0 {
			t.Fatal("no condition should match")
		}
	})
	t.Run("list of maps is or", func(t *testing.T) {
		rs := mustCompile(t, Config{}, ruleDoc("c", "", "sel:\n    - {a: 1, b: 1}\n    - {c: 1}\ncondition: sel"))
		for _, tc := range []struct {
			ev   ev
			want bool
		}{{ev{"a": "1", "b": "1"}, true}, {ev{"a": "1"}, false}, {ev{"c": "1"}, true}} {
			if got := len(rs.Match(fields.Map{Doc: tc.ev}, nil)) == 1; got != tc.want {
				t.Errorf("%v: got %v want %v", tc.ev, got, tc.want)
			}
		}
	})
}

func TestFilters(t *testing.T) {
	ruleA := ruleDoc("rule-a", "product: windows\ncategory: process_creation", "selection: {Image|endswith: '\\rar.exe'}\ncondition: selection")
	ruleB := ruleDoc("rule-b", "product: windows\ncategory: process_creation", "selection: {Image|endswith: '\\7z.exe'}\ncondition: selection")
	ruleC := ruleDoc("rule-c", "product: linux", "selection: {Image|endswith: '/tar'}\ncondition: selection")
	filterByID := `title: Filter admins
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - rule-a
    selection:
        User|startswith: 'adm_'
    condition: not selection
`
	filterAny := `title: Filter admins everywhere on windows
logsource:
    product: windows
filter:
    selection:
        User|startswith: 'adm_'
    condition: not selection
`
	win := fields.Logsource{Product: "windows", Category: "process_creation"}
	cases := []struct {
		name   string
		filter string
		ev     *flatEvent
		want   []string
	}{
		{"by id keeps non admin", filterByID, flat(win, "Image", `C:\rar.exe`, "User", "bob"), []string{"rule-a"}},
		{"by id drops admin", filterByID, flat(win, "Image", `C:\rar.exe`, "User", "adm_bob"), nil},
		{"by id leaves others", filterByID, flat(win, "Image", `C:\7z.exe`, "User", "adm_bob"), []string{"rule-b"}},
		{"by logsource drops a", filterAny, flat(win, "Image", `C:\rar.exe`, "User", "adm_x"), nil},
		{"by logsource drops b", filterAny, flat(win, "Image", `C:\7z.exe`, "User", "adm_x"), nil},
		{"by logsource not linux", filterAny, flat(fields.Logsource{}, "Image", `/bin/tar`, "User", "adm_x"), []string{"rule-c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := mustCompile(t, Config{}, ruleA, ruleB, ruleC, tc.filter)
			got := ids(rs.Match(tc.ev, nil))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLogsourceRouting(t *testing.T) {
	rules := []string{
		ruleDoc("any", "", "sel: {f: x}\ncondition: sel"),
		ruleDoc("win", "product: windows", "sel: {f: x}\ncondition: sel"),
		ruleDoc("winproc", "product: windows\ncategory: process_creation", "sel: {f: x}\ncondition: sel"),
		ruleDoc("linux", "product: linux", "sel: {f: x}\ncondition: sel"),
		ruleDoc("svc", "product: windows\nservice: security", "sel: {f: x}\ncondition: sel"),
	}
	rs := mustCompile(t, Config{}, rules...)
	cases := []struct {
		ls   fields.Logsource
		want string
	}{
		{fields.Logsource{}, "any,win,winproc,linux,svc"},
		{fields.Logsource{Product: "windows"}, "any,win,winproc,svc"},
		{fields.Logsource{Product: "Windows", Category: "process_creation"}, "any,win,winproc,svc"},
		{fields.Logsource{Product: "windows", Category: "file_event"}, "any,win,svc"},
		{fields.Logsource{Product: "windows", Service: "security"}, "any,win,winproc,svc"},
		{fields.Logsource{Product: "windows", Service: "system"}, "any,win,winproc"},
		{fields.Logsource{Product: "linux"}, "any,linux"},
		{fields.Logsource{Category: "process_creation"}, "any,win,winproc,linux,svc"},
	}
	for _, tc := range cases {
		for i := 0; i < 2; i++ { // second round hits the route cache
			got := strings.Join(ids(rs.Match(flat(tc.ls, "f", "x"), nil)), ",")
			if got != tc.want {
				t.Errorf("%+v: got %s, want %s", tc.ls, got, tc.want)
			}
		}
	}
}

func TestFieldAliases(t *testing.T) {
	rs := mustCompile(t, Config{FieldAliases: map[string]string{"User": "actor.user"}},
		ruleDoc("r", "", "sel: {User: bob}\ncondition: sel"))
	if len(rs.Match(fields.Map{Doc: ev{"actor": ev{"user": "BOB"}}}, nil)) != 1 {
		t.Fatal("alias should map User to actor.user")
	}
	if len(rs.Match(fields.Map{Doc: ev{"User": "bob"}}, nil)) != 0 {
		t.Fatal("aliased field should not be looked up verbatim")
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, det, want string
	}{
		{"unresolved placeholder", "sel: {u|expand: '%Nope%'}\ncondition: sel", "test.yml:4:11: field \"u|expand\": unresolved placeholder %Nope%"},
		{"bad regexp", "sel: {u|re: '(?<=x)'}\ncondition: sel", "invalid regular expression"},
		{"bad cidr", "sel: {u|cidr: '10.0.0.0/99'}\ncondition: sel", "invalid cidr"},
		{"cmp not number", "sel: {u|gt: abc}\ncondition: sel", "comparison modifier needs a number"},
		{"exists not bool", "sel: {u|exists: yes please}\ncondition: sel", "exists needs a single boolean"},
		{"base64 wildcard", "sel: {u|base64: 'a*'}\ncondition: sel", "base64 cannot encode a value with wildcards"},
		{"re with contains", "sel: {u|re|contains: 'a'}\ncondition: sel", "cannot be combined"},
		{"re flag alone", "sel: {u|i: 'a'}\ncondition: sel", "only valid after 're'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coll, err := sigma.ParseBytes([]byte(ruleDoc("bad", "", tc.det)+"---\n"+ruleDoc("good", "", "sel: {a: b}\ncondition: sel")), "test.yml")
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			rs, errs := CompileCollection(coll, Config{})
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errors = %v, want one containing %q", errs, tc.want)
			}
			if rs.Len() != 1 || rs.Rules()[0].ID != "good" {
				t.Fatalf("the good rule should still compile, got %v", ids(rs.Rules()))
			}
		})
	}
}

func TestRuleMetadata(t *testing.T) {
	doc := `title: Meta test
id: 0d1a2b3c-0000-4000-8000-000000000001
status: test
level: high
description: describes
author: a, b
tags:
    - attack.execution
    - attack.t1059
falsepositives:
    - admins
references:
    - https://example.com
logsource:
    product: windows
    category: process_creation
detection:
    sel: {a: b}
    condition: sel
`
	rs := mustCompile(t, Config{}, doc)
	r := rs.Rules()[0]
	if r.ID != "0d1a2b3c-0000-4000-8000-000000000001" || r.Title != "Meta test" || r.Level != "high" ||
		r.Status != "test" || r.Description != "describes" || len(r.Tags) != 2 || r.Tags[1] != "attack.t1059" ||
		r.FalsePositives[0] != "admins" || r.References[0] != "https://example.com" ||
		r.Logsource.Category != "process_creation" || r.Path != "test.yml" || r.Sigma.Pos.Line != 1 {
		t.Fatalf("metadata not carried over: %+v", r)
	}
}
