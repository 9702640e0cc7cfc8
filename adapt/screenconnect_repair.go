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

// scTemplateKeys are the shipped template's keys, in order (nil if the
// embedded template did not read, which TestScreenConnectRepair rules
// out).
var scTemplateKeys = func() []string {
	var keys []string
	dec := json.NewDecoder(strings.NewReader(ScreenConnectTrigger))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		ks, ok := k.(string)
		if err != nil || !ok {
			return nil
		}
		if _, err := dec.Token(); err != nil {
			return nil
		}
		keys = append(keys, ks)
	}
	return keys
}()

// scFreeText is the field read from both ends (commands and file names).
const scFreeText = "Data"

// scRepaired is the key a repaired record carries (an attribute of its
// events).
const scRepaired = "tripline.repaired"

// Repair reads a body of the shipped trigger template whose substituted
// values were not escaped.
func (screenConnect) Repair(raw []byte) ([]byte, bool) {
	s := strings.TrimSpace(string(raw))
	keys := scTemplateKeys
	if len(keys) < 2 {
		return nil, false
	}
	open := `{"` + keys[0] + `":"`
	if !strings.HasPrefix(s, open) || !strings.HasSuffix(s, `"}`) || len(s) < len(open)+2 {
		return nil, false
	}
	body := s[len(open) : len(s)-2]
	delim := func(k string) string { return `","` + k + `":"` }
	free := -1
	for i, k := range keys {
		if k == scFreeText {
			free = i
		}
	}
	if free < 1 {
		return nil, false
	}
	// values[i] is keys[i]'s text. From the start up to the free-text
	// field, then from the end back to it.
	values := make([]string, len(keys))
	rest := body
	for i := 1; i <= free; i++ {
		j := strings.Index(rest, delim(keys[i]))
		if j < 0 {
			return nil, false
		}
		values[i-1], rest = rest[:j], rest[j+len(delim(keys[i])):]
	}
	for i := len(keys) - 1; i > free; i-- {
		j := strings.LastIndex(rest, delim(keys[i]))
		if j < 0 {
			return nil, false
		}
		values[i], rest = rest[j+len(delim(keys[i])):], rest[:j]
	}
	values[free] = rest
	out := make([]byte, 0, len(s)+64)
	out = append(out, '{')
	for i, k := range keys {
		out = appendString(out, k)
		out = append(out, ':')
		out = appendString(out, values[i])
		out = append(out, ',')
	}
	out = appendString(out, scRepaired)
	out = append(out, `:"unescaped template values"}`...)
	return out, true
}
