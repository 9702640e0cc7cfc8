package fields

import (
	"encoding/json"
	"strings"
)

// Map adapts a decoded JSON object (as produced by encoding/json with
// UseNumber or plain float64 numbers) to Source. Rules evaluated offline on
// arbitrary JSON see events through it; its Logsource is the zero value
// unless Source is set.
type Map struct {
	Doc    map[string]any
	Source Logsource
}

// Lookup resolves path first as a literal key (Sigma field names may contain
// dots), then segment by segment.
func (m Map) Lookup(path string) Value {
	if v, ok := m.Doc[path]; ok {
		return FromAny(v)
	}
	var cur any = m.Doc
	for path != "" {
		obj, ok := cur.(map[string]any)
		if !ok {
			return Value{}
		}
		seg := path
		rest := ""
		if i := strings.IndexByte(path, '.'); i >= 0 {
			seg, rest = path[:i], path[i+1:]
		}
		// A remaining suffix may itself be a dotted key at this level.
		if rest != "" {
			if v, ok := obj[path]; ok {
				return FromAny(v)
			}
		}
		cur, ok = obj[seg]
		if !ok {
			return Value{}
		}
		path = rest
	}
	return FromAny(cur)
}

// EachString walks every string in the document.
func (m Map) EachString(fn func(string) bool) { eachString(m.Doc, fn) }

// Logsource returns the configured source (zero when unknown).
func (m Map) Logsource() Logsource { return m.Source }

func eachString(v any, fn func(string) bool) bool {
	switch t := v.(type) {
	case string:
		return fn(t)
	case map[string]any:
		for _, x := range t {
			if !eachString(x, fn) {
				return false
			}
		}
	case []any:
		for _, x := range t {
			if !eachString(x, fn) {
				return false
			}
		}
	}
	return true
}

// FromAny converts a value decoded by encoding/json into a Value.
func FromAny(v any) Value {
	switch t := v.(type) {
	case nil:
		return Value{Kind: Null}
	case string:
		return Value{Kind: String, Str: t}
	case bool:
		return Value{Kind: Bool, Bool: t}
	case float64:
		return Value{Kind: Number, Num: t}
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return Value{Kind: String, Str: t.String()}
		}
		return Value{Kind: Number, Num: f, Str: t.String()}
	case int:
		return Value{Kind: Number, Num: float64(t)}
	case int64:
		return Value{Kind: Number, Num: float64(t)}
	case []string:
		return Value{Kind: Strings, Strs: t}
	case []any:
		out := Value{Kind: List, List: make([]Value, len(t))}
		for i, x := range t {
			out.List[i] = FromAny(x)
		}
		return out
	case map[string]any:
		return Value{Kind: Object}
	}
	return Value{}
}
