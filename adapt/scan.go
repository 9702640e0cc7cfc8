package adapt

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A small validating JSON scanner: an object becomes its keys and the raw
// bytes of their values, without building maps or copying values. It is
// what makes the adapters fast (decoding into map[string]json.RawMessage
// spent most of the time in reflection and allocation); values are read
// only when an adapter asks for them.

// kv is one member of an object: its key (unescaped) and raw value, both
// substrings of the record's text unless the key had escapes.
type kv struct {
	k string
	v string
}

// maxDepth bounds nesting, so that hostile input cannot exhaust the stack.
const maxDepth = 200

type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func errAt(off int, format string, args ...any) error {
	return &scanError{off: off, msg: fmt.Sprintf(format, args...)}
}

func ws(b string, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// parseObject reads b, which must hold exactly one JSON object (and
// whitespace), into its members. A key that appears twice is an error.
func parseObject(b string, dst []kv) ([]kv, error) {
	i := ws(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errAt(i, "expected an object")
	}
	out, end, err := members(b, i, dst, 0)
	if err != nil {
		return nil, err
	}
	if j := ws(b, end); j != len(b) {
		return nil, errAt(j, "data after the value")
	}
	if err := dupKeys(out); err != nil {
		return nil, err
	}
	return out, nil
}

// dupKeys reports a key that appears twice among an object's members.
func dupKeys(out []kv) error {
	for x := 1; x < len(out); x++ {
		for y := 0; y < x; y++ {
			if out[x].k == out[y].k {
				return errAt(0, "key %q appears twice", short(out[x].k))
			}
		}
		if x > 64 { // large objects: a set instead of pairs
			seen := make(map[string]struct{}, len(out))
			for _, m := range out {
				if _, dup := seen[m.k]; dup {
					return errAt(0, "key %q appears twice", short(m.k))
				}
				seen[m.k] = struct{}{}
			}
			break
		}
	}
	return nil
}

// parseArray reads b, which must hold exactly one JSON array, into the raw
// text of its elements, appended to dst.
func parseArray(b string, dst []string) ([]string, error) {
	i := ws(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, errAt(i, "expected an array")
	}
	out := dst
	i = ws(b, i+1)
	if i < len(b) && b[i] == ']' {
		if j := ws(b, i+1); j != len(b) {
			return nil, errAt(j, "data after the value")
		}
		return out, nil
	}
	for {
		start := i
		end, err := value(b, i, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, b[start:end])
		i = ws(b, end)
		if i >= len(b) {
			return nil, errAt(i, "unexpected end of input")
		}
		if b[i] == ']' {
			break
		}
		if b[i] != ',' {
			return nil, errAt(i, "expected ',' or ']'")
		}
		i = ws(b, i+1)
	}
	if j := ws(b, i+1); j != len(b) {
		return nil, errAt(j, "data after the value")
	}
	return out, nil
}

// members reads the object starting at b[i] == '{'.
func members(b string, i int, dst []kv, depth int) ([]kv, int, error) {
	if dst == nil {
		dst = make([]kv, 0, 8)
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, 0, errAt(i, "expected a key")
		}
		kend, err := stringEnd(b, i)
		if err != nil {
			return nil, 0, err
		}
		key := unquote(b[i:kend])
		i = ws(b, kend)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, errAt(i, "expected ':'")
		}
		i = ws(b, i+1)
		start := i
		end, err := value(b, i, depth+1)
		if err != nil {
			return nil, 0, err
		}
		dst = append(dst, kv{key, b[start:end]})
		i = ws(b, end)
		if i >= len(b) {
			return nil, 0, errAt(i, "unexpected end of input")
		}
		if b[i] == '}' {
			return dst, i + 1, nil
		}
		if b[i] != ',' {
			return nil, 0, errAt(i, "expected ',' or '}'")
		}
		i = ws(b, i+1)
	}
}

// value validates the value at b[i] and returns where it ends.
func value(b string, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errAt(i, "nesting deeper than %d", maxDepth)
	}
	if i >= len(b) {
		return 0, errAt(i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		return stringEnd(b, i)
	case c == '{':
		i = ws(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, errAt(i, "expected a key")
			}
			end, err := stringEnd(b, i)
			if err != nil {
				return 0, err
			}
			i = ws(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, errAt(i, "expected ':'")
			}
			if i, err = value(b, ws(b, i+1), depth+1); err != nil {
				return 0, err
			}
			i = ws(b, i)
			if i >= len(b) {
				return 0, errAt(i, "unexpected end of input")
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errAt(i, "expected ',' or '}'")
			}
			i = ws(b, i+1)
		}
	case c == '[':
		i = ws(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = value(b, i, depth+1); err != nil {
				return 0, err
			}
			i = ws(b, i)
			if i >= len(b) {
				return 0, errAt(i, "unexpected end of input")
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errAt(i, "expected ',' or ']'")
			}
			i = ws(b, i+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return number(b, i)
	}
	return 0, errAt(i, "invalid character %q", b[i])
}

func literal(b string, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || b[i:i+len(lit)] != lit {
		return 0, errAt(i, "invalid literal")
	}
	return i + len(lit), nil
}

func number(b string, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return 0, errAt(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, errAt(start, "invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, errAt(start, "invalid number")
		}
	}
	return i, nil
}

// stringEnd validates the string starting at b[i] == '"' and returns the
// offset after its closing quote. The input is valid UTF-8 (checked once).
func stringEnd(b string, i int) (int, error) {
	start := i
	i++
	for i < len(b) {
		if i+8 <= len(b) {
			// Eight bytes at a time to the first that is a quote, a
			// backslash or a control byte (SWAR, as in plain8: the
			// lowest byte flagged is always one of them).
			const lo, hi = 0x0101010101010101, 0x8080808080808080
			x := word(b, i)
			q, e := x^('"'*lo), x^('\\'*lo)
			t := ((x-0x20*lo)&^x | (q-lo)&^q | (e-lo)&^e) & hi
			if t == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(t) >> 3
		}
		c := b[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return 0, errAt(i, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return 0, errAt(i, "invalid \\u escape")
				}
				i += 6
			default:
				return 0, errAt(i, "invalid escape")
			}
		case c < 0x20:
			return 0, errAt(i, "control character in string")
		default:
			i++
		}
	}
	return 0, errAt(start, "unterminated string")
}

func isHex4(b string) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}

// unquote decodes a validated JSON string (with its quotes). Without
// escapes it is a substring of q, which allocates nothing: the events'
// fields may alias the input (see run and Out). Lone
// surrogates become U+FFFD, as encoding/json does.
func unquote(q string) string {
	s := q[1 : len(q)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	// Escapes only shrink the text: one allocation of len(s) holds it.
	return string(appendUnquoted(make([]byte, 0, len(s)), s))
}

// appendUnquoted appends s, the text of a validated JSON string between
// its quotes, decoded.
func appendUnquoted(dst []byte, s string) []byte {
	esc := strings.IndexByte(s, '\\')
	if esc < 0 {
		return append(dst, s...)
	}
	out := append(dst, s[:esc]...)
	for i := esc; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(s[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(s[i+2:i+6]))); r2 != utf8.RuneError {
						out = utf8.AppendRune(out, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, s[i+1])
		}
		i += 2
	}
	return out
}

func hex4(b string) uint64 {
	n, _ := strconv.ParseUint(b, 16, 32)
	return n
}

var errNotObject = errors.New("record is not a JSON object")

// compact is v, a validated JSON value, without the whitespace between its
// tokens, as encoding/json.Compact writes it: v itself when it has none.
func compact(v string) string {
	for i, in := 0, false; i < len(v); i++ {
		switch c := v[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			var b strings.Builder
			b.Grow(len(v) - 1)
			b.WriteString(v[:i])
			for ; i < len(v); i++ {
				switch c := v[i]; {
				case in && c == '\\':
					b.WriteByte(c)
					i++
					b.WriteByte(v[i])
					continue
				case c == '"':
					in = !in
				case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
					continue
				}
				b.WriteByte(v[i])
			}
			return b.String()
		}
	}
	return v
}

// plain is the bytes a string holds as they are: not a quote, a backslash
// or a control character. Read only.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// The members of values already validated (the whole input is, by
// parseObject or parseArray, before any record is read) are split without
// validating them again: a record's nested objects used to be scanned
// once per level.

// split reads the members of b, one valid JSON object. A key that appears
// twice is an error, as in parseObject.
func split(b string, dst []kv) ([]kv, error) {
	if dst == nil {
		dst = make([]kv, 0, 8)
	}
	i := ws(b, ws(b, 0)+1)
	if b[i] == '}' {
		return dst, nil
	}
	for {
		kend, escaped := skipString(b, i)
		key := b[i+1 : kend-1]
		if escaped {
			key = unquote(b[i:kend])
		}
		i = ws(b, ws(b, kend)+1) // past ':'
		end := skip(b, i)
		dst = append(dst, kv{key, b[i:end]})
		i = ws(b, end)
		if b[i] == '}' {
			break
		}
		i = ws(b, i+1) // past ','
	}
	if err := dupKeys(dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// splitArray reads the elements of b, one valid JSON array, appended to
// dst.
func splitArray(b string, dst []string) []string {
	i := ws(b, ws(b, 0)+1)
	if b[i] == ']' {
		return dst
	}
	for {
		end := skip(b, i)
		dst = append(dst, b[i:end])
		i = ws(b, end)
		if b[i] == ']' {
			return dst
		}
		i = ws(b, i+1)
	}
}

// skip returns where the valid JSON value at b[i] ends.
func skip(b string, i int) int {
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i, _ = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the offset after the valid JSON string at b[i],
// and whether it has escapes: eight bytes at a time to the next quote or
// backslash (most strings are short: a call to IndexByte each, and
// another to look for a backslash in a key, cost more).
func skipString(b string, i int) (end int, escaped bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i++
	for {
		if i+8 <= len(b) {
			x := word(b, i)
			q, e := x^('"'*lo), x^('\\'*lo)
			if t := ((q-lo)&^q | (e-lo)&^e) & hi; t == 0 {
				i += 8
				continue
			} else {
				i += bits.TrailingZeros64(t) >> 3
			}
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			// A string with escapes often has many (JSON inside a
			// string): from here on, to each quote and back over the
			// backslashes before it.
			return skipEscaped(b, i), true
		default:
			i++
		}
	}
}

// skipEscaped returns the offset after the valid JSON string that b[i]
// is inside of.
func skipEscaped(b string, i int) int {
	for {
		i += strings.IndexByte(b[i:], '"')
		// Escaped if preceded by an odd number of backslashes (the
		// opening quote stops the count).
		n := 0
		for b[i-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
}
