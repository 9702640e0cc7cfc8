package contract

import (
	"bytes"
	stdjson "encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// BenchmarkCheckStructure is the cost of the duplicate-key, depth and
// keys-per-object pass alone, on a typical event and on a 600 KiB one.
func BenchmarkCheckStructure(b *testing.B) {
	for _, bc := range []struct {
		name string
		raw  string
	}{
		{"push", validPush},
		{"600KiB-blob", `{"event_type":"session.start","msp":"m","attributes":{"blob":"` + strings.Repeat("A", 600<<10) + `"}}`},
		{"attributes-40", loginWithAttributes(40)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw := []byte(bc.raw)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if rej := checkStructure(raw); rej != nil {
					b.Fatal(rej)
				}
			}
		})
	}
}

// referenceStructure is checkStructure written the slow, obvious way with
// encoding/json's tokenizer: the first violation in document order.
func referenceStructure(raw []byte) Reason {
	dec := stdjson.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type level struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case stdjson.Delim:
			if t == '{' || t == '[' {
				if len(stack) == MaxDepth {
					return ReasonLimitExceeded
				}
				if top != nil && top.object {
					top.expectKey = true
				}
				stack = append(stack, &level{object: t == '{', expectKey: t == '{', keys: map[string]bool{}})
				continue
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return ""
			}
		case string:
			if top != nil && top.object && top.expectKey {
				if len(top.keys) >= MaxObjectKeys {
					return ReasonLimitExceeded
				}
				if top.keys[t] {
					return ReasonDuplicateKey
				}
				top.keys[t] = true
				top.expectKey = false
				continue
			}
			if top != nil && top.object {
				top.expectKey = true
			}
		default:
			if top != nil && top.object {
				top.expectKey = true
			}
		}
	}
}

// FuzzCheckStructure: on valid JSON objects, the one-pass scanner finds
// exactly the duplicate keys, depth and key-count violations that a
// tokenizer finds, the first one first.
func FuzzCheckStructure(f *testing.F) {
	for _, seed := range []string{
		validPush,
		`{"a":1,"a":2}`,
		`{"a":{"b":1},"c":{"b":2},"a\u0062":3,"ab":4}`,
		`{"k\"":1,"k\\":2,"k":3,"x":["a","a",{"a":1,"a":2}]}`,
		`{"a":"` + strings.Repeat("\\\\", 30) + `","a":1}`,
		`{"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`,
		loginWithAttributes(20),
		strings.Replace(loginWithAttributes(20), `"k19"`, `"k3"`, 1),
		`{"\ud83d\ude00":1,"😀":2}`,
		`{"a\/b":1,"a/b":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		trimmed := bytes.TrimSpace(raw)
		if !stdjson.Valid(trimmed) || len(trimmed) == 0 || trimmed[0] != '{' || !utf8.Valid(trimmed) {
			return
		}
		want := referenceStructure(trimmed)
		var got Reason
		if rej := checkStructure(trimmed); rej != nil {
			got = rej.Reason
		}
		if got != want {
			t.Fatalf("checkStructure = %q, reference %q for %q", got, want, trimmed)
		}
	})
}
