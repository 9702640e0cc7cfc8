package adapt

import (
	"encoding/json"
	"strings"
)

// Repairer is an adapter that can read its vendor's invalid JSON when the
// vendor writes it in a known, fixed shape. tripline receive repairs a
// body that does not parse before counting and writing its records, so
// that ingest reads valid JSON; Convert repairs too, for the other
// producers.
type Repairer interface {
	// Repair returns raw rewritten as valid JSON, and false when raw is
	// not in a shape the adapter knows how to repair.
	Repair(raw []byte) ([]byte, bool)
}

// ScreenConnect substitutes a trigger's fields into its body as they are,
// without JSON escaping (as remembered, docs/sources.md): a command in
// {Event.Data} with a quote, a backslash or a newline makes the shipped
// template's body invalid JSON. An attacker's command could rely on
// that to be dropped rather than read. The body's shape is fixed,
// though: the template's keys, in its order, every value a string. Repair
// finds the keys from both ends (the fields before Data from the start,
// those after it from the end, so that a field that holds a key's
// delimiter as text can only mislead about Data's own end, which then
// absorbs it), takes each value as literal text, and writes the record
// again as JSON with "tripline.repaired" set.

// scTemplate is the shipped template's shape, read once from the
// embedded file: its keys in order, the text before each value (`{"KEY":"`
// for the first, `","KEY":"` for the others) and the free-text field's
// position (free is 0, and keys nil, if the template did not read, which
// TestScreenConnectRepair rules out).
var scTemplate = func() (t struct {
	keys, delims []string
	free         int
}) {
	dec := json.NewDecoder(strings.NewReader(ScreenConnectTrigger))
	if _, err := dec.Token(); err != nil {
		return t
	}
	for dec.More() {
		k, err := dec.Token()
		key, ok := k.(string)
		if err != nil || !ok {
			return t
		}
		if _, err := dec.Token(); err != nil {
			return t
		}
		delim := `","` + key + `":"`
		if len(t.keys) == 0 {
			delim = `{"` + key + `":"`
		}
		if key == scFreeText {
			t.free = len(t.keys)
		}
		t.keys, t.delims = append(t.keys, key), append(t.delims, delim)
	}
	return t
}()

// scFreeText is the field read from both ends (commands and file names).
const scFreeText = "Data"

// scRepaired is the key a repaired record carries (an attribute of its
// events).
const scRepaired = "tripline.repaired"

// Repair reads a body of the shipped trigger template whose substituted
// values were not escaped.
func (screenConnect) Repair(raw []byte) ([]byte, bool) {
	t := &scTemplate
	if t.free < 1 {
		return nil, false
	}
	s := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(s, t.delims[0]) || !strings.HasSuffix(s, `"}`) || len(s) < len(t.delims[0])+2 {
		return nil, false
	}
	// values[i] is keys[i]'s text: from the start up to the free-text
	// field, then from the end back to it.
	values := make([]string, len(t.keys))
	rest := s[len(t.delims[0]) : len(s)-2]
	for i := 1; i <= t.free; i++ {
		j := strings.Index(rest, t.delims[i])
		if j < 0 {
			return nil, false
		}
		values[i-1], rest = rest[:j], rest[j+len(t.delims[i]):]
	}
	for i := len(t.keys) - 1; i > t.free; i-- {
		j := strings.LastIndex(rest, t.delims[i])
		if j < 0 {
			return nil, false
		}
		values[i], rest = rest[j+len(t.delims[i]):], rest[:j]
	}
	values[t.free] = rest
	out := make([]byte, 0, len(s)+64)
	out = append(out, '{')
	for i, k := range t.keys {
		out = appendString(out, k)
		out = append(out, ':')
		out = appendString(out, values[i])
		out = append(out, ',')
	}
	out = appendString(out, scRepaired)
	out = append(out, `:"unescaped template values"}`...)
	return out, true
}
