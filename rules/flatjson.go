package rules

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeFlatObject decodes a JSON object whose values are all strings,
// numbers, booleans or null — what log shippers write for Windows events —
// into the map encoding/json would produce with UseNumber, at a fraction
// of its cost. ok is false for anything else (nested values, \u escapes,
// invalid UTF-8, malformed input, trailing bytes): the caller then decodes
// with encoding/json, so results and error messages are its own.
func decodeFlatObject(raw []byte) (doc map[string]any, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	doc = make(map[string]any, 24)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return doc, skipSpace(raw, i+1) == len(raw)
	}
	var buf []byte
	for {
		if i >= len(raw) || raw[i] != '"' {
			return nil, false
		}
		var key string
		key, i, buf, ok = flatString(raw, i+1, buf)
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
		var v any
		switch c := raw[i]; {
		case c == '"':
			v, i, buf, ok = flatString(raw, i+1, buf)
		case c == '-' || (c >= '0' && c <= '9'):
			v, i, ok = flatNumber(raw, i)
		case hasWord(raw, i, "true"):
			v, i = true, i+4
		case hasWord(raw, i, "false"):
			v, i = false, i+5
		case hasWord(raw, i, "null"):
			v, i = nil, i+4
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
		doc[key] = v
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return doc, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
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

// flatString reads a string whose opening quote is before i; buf is
// scratch space for unescaping, returned for reuse.
func flatString(raw []byte, i int, buf []byte) (string, int, []byte, bool) {
	start := i
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '"':
			s := raw[start:i]
			if !utf8.Valid(s) {
				return "", 0, buf, false
			}
			return string(s), i + 1, buf, true
		case c == '\\':
			return flatEscaped(raw, start, buf)
		case c < 0x20:
			return "", 0, buf, false
		}
		i++
	}
	return "", 0, buf, false
}

// flatEscaped reads a string with escapes starting at start.
func flatEscaped(raw []byte, start int, buf []byte) (string, int, []byte, bool) {
	buf = buf[:0]
	for i := start; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", 0, buf, false
			}
			return string(buf), i + 1, buf, true
		case c < 0x20:
			return "", 0, buf, false
		case c != '\\':
			buf = append(buf, c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", 0, buf, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			buf = append(buf, raw[i])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		default: // \u (surrogates and all) is left to encoding/json
			return "", 0, buf, false
		}
	}
	return "", 0, buf, false
}

// flatNumber reads a number as JSON's grammar has it.
func flatNumber(raw []byte, i int) (json.Number, int, bool) {
	start := i
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
		return "", 0, false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if !digits() {
			return "", 0, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if !digits() {
			return "", 0, false
		}
	}
	return json.Number(raw[start:i]), i, true
}
