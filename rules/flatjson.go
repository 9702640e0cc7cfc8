package rules

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tripline/tripline/fields"
)

// flatEvent is a flat JSON object — every value a string, number,
// boolean or null, what log shippers write for Windows events — as the
// rules read it: the answers fields.Map gives for the map encoding/json
// (UseNumber) decodes, without the map. Its strings share two copies, of
// the line and of its unescaped strings, where the map cost a string and
// an interface per value: decoding a Sysmon line took ~50 allocations,
// most of rules eval's garbage.
type flatEvent struct {
	fields []flatField // one per distinct key: a repeated key keeps its last value
	ls     fields.Logsource
}

type flatField struct {
	key, val string // val: a string, or a number's text
	kind     fields.Kind
	b        bool
}

// get returns the field named key, or nil.
func (e *flatEvent) get(key string) *flatField {
	for i := range e.fields {
		if f := &e.fields[i]; f.key == key {
			return f
		}
	}
	return nil
}

// Lookup is fields.Map's Lookup on the object: a literal key; else, since
// no value is an object, only "key." (the segment before a dot that ends
// the path) resolves; "" is the document itself.
func (e *flatEvent) Lookup(path string) fields.Value {
	f := e.get(path)
	if f == nil {
		if path == "" {
			return fields.Value{Kind: fields.Object}
		}
		if i := strings.IndexByte(path, '.'); i == len(path)-1 {
			f = e.get(path[:i])
		}
		if f == nil {
			return fields.Value{}
		}
	}
	switch f.kind {
	case fields.String:
		return fields.Str(f.val)
	case fields.Number:
		// As fields.FromAny reads a json.Number.
		n, err := strconv.ParseFloat(f.val, 64)
		if err != nil {
			return fields.Str(f.val)
		}
		return fields.Value{Kind: fields.Number, Num: n, Str: f.val}
	case fields.Bool:
		return fields.Boolean(f.b)
	}
	return fields.Value{Kind: fields.Null}
}

// EachString calls fn with every string value (numbers are not strings).
func (e *flatEvent) EachString(fn func(string) bool) {
	for i := range e.fields {
		if f := &e.fields[i]; f.kind == fields.String && !fn(f.val) {
			return
		}
	}
}

// Logsource is the logsource the event was decoded with.
func (e *flatEvent) Logsource() fields.Logsource { return e.ls }

// span is where a key or string value of a line lies: raw[lo:hi], or
// unescaped into the decoder's buffer (esc).
type span struct {
	lo, hi int
	esc    bool
}

type flatRec struct {
	key, val span
	kind     fields.Kind
	b        bool
}

// decodeFlat decodes a flat JSON object (see flatEvent) as encoding/json
// would. ok is false for anything else (nested values, \u escapes,
// invalid UTF-8, malformed input, trailing bytes): the caller then decodes
// with encoding/json, so results and error messages are its own.
func decodeFlat(raw []byte, ls fields.Logsource) (*flatEvent, bool) {
	var recBuf [32]flatRec
	var escBuf [512]byte
	recs, esc := recBuf[:0], escBuf[:0]
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		if skipSpace(raw, i+1) != len(raw) {
			return nil, false
		}
		return &flatEvent{ls: ls}, true
	}
	var ok bool
	for {
		if i >= len(raw) || raw[i] != '"' {
			return nil, false
		}
		var r flatRec
		r.key, i, esc, ok = flatString(raw, i+1, esc)
		if !ok {
			return nil, false
		}
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		if i >= len(raw) {
			return nil, false
		}
		switch c := raw[i]; {
		case c == '"':
			r.kind = fields.String
			r.val, i, esc, ok = flatString(raw, i+1, esc)
		case c == '-' || (c >= '0' && c <= '9'):
			r.kind = fields.Number
			r.val.lo = i
			i, ok = flatNumber(raw, i)
			r.val.hi = i
		case hasWord(raw, i, "true"):
			r.kind, r.b, i = fields.Bool, true, i+4
		case hasWord(raw, i, "false"):
			r.kind, i = fields.Bool, i+5
		case hasWord(raw, i, "null"):
			r.kind, i = fields.Null, i+4
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
		recs = setRec(recs, r, raw, esc)
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			if skipSpace(raw, i+1) != len(raw) {
				return nil, false
			}
			return newFlatEvent(recs, raw, esc, ls), true
		default:
			return nil, false
		}
	}
}

// setRec adds r, or replaces the value of an earlier key it repeats (the
// last value wins, as in encoding/json's map).
func setRec(recs []flatRec, r flatRec, raw, esc []byte) []flatRec {
	key := spanBytes(r.key, raw, esc)
	for j := range recs {
		if string(spanBytes(recs[j].key, raw, esc)) == string(key) {
			recs[j].val, recs[j].kind, recs[j].b = r.val, r.kind, r.b
			return recs
		}
	}
	return append(recs, r)
}

func spanBytes(s span, raw, esc []byte) []byte {
	if s.esc {
		return esc[s.lo:s.hi]
	}
	return raw[s.lo:s.hi]
}

// newFlatEvent copies the line and the unescaped strings once each and
// slices every key and value from those copies.
func newFlatEvent(recs []flatRec, raw, esc []byte, ls fields.Logsource) *flatEvent {
	line, unesc := string(raw), string(esc)
	str := func(s span) string {
		if s.esc {
			return unesc[s.lo:s.hi]
		}
		return line[s.lo:s.hi]
	}
	e := &flatEvent{fields: make([]flatField, len(recs)), ls: ls}
	for j, r := range recs {
		f := &e.fields[j]
		f.key, f.kind, f.b = str(r.key), r.kind, r.b
		if r.kind == fields.String || r.kind == fields.Number {
			f.val = str(r.val)
		}
	}
	return e
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

func hasWord(raw []byte, i int, w string) bool {
	return len(raw)-i >= len(w) && string(raw[i:i+len(w)]) == w
}

// flatString reads a string whose opening quote is before i. A string
// with escapes is unescaped onto esc.
func flatString(raw []byte, i int, esc []byte) (span, int, []byte, bool) {
	start := i
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '"':
			if !utf8.Valid(raw[start:i]) {
				return span{}, 0, esc, false
			}
			return span{lo: start, hi: i}, i + 1, esc, true
		case c == '\\':
			return flatEscaped(raw, start, esc)
		case c < 0x20:
			return span{}, 0, esc, false
		}
		i++
	}
	return span{}, 0, esc, false
}

// flatEscaped reads a string with escapes starting at start onto esc.
func flatEscaped(raw []byte, start int, esc []byte) (span, int, []byte, bool) {
	lo := len(esc)
	for i := start; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"':
			if !utf8.Valid(esc[lo:]) {
				return span{}, 0, esc, false
			}
			return span{lo: lo, hi: len(esc), esc: true}, i + 1, esc, true
		case c < 0x20:
			return span{}, 0, esc, false
		case c != '\\':
			esc = append(esc, c)
			continue
		}
		i++
		if i >= len(raw) {
			return span{}, 0, esc, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			esc = append(esc, raw[i])
		case 'b':
			esc = append(esc, '\b')
		case 'f':
			esc = append(esc, '\f')
		case 'n':
			esc = append(esc, '\n')
		case 'r':
			esc = append(esc, '\r')
		case 't':
			esc = append(esc, '\t')
		default: // \u (surrogates and all) is left to encoding/json
			return span{}, 0, esc, false
		}
	}
	return span{}, 0, esc, false
}

// flatNumber reads a number as JSON's grammar has it.
func flatNumber(raw []byte, i int) (int, bool) {
	if raw[i] == '-' {
		i++
	}
	digits := func() bool {
		n := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		return i > n
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case !digits():
		return 0, false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	return i, true
}
