package contract

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/goccy/go-json"
)

// Structural limits of a message, checked by one pass over its bytes before
// the JSON decoder runs (docs/limits.md).
const (
	// MaxDepth bounds how deeply objects and arrays nest. The contract
	// itself needs three levels; the rest is headroom for fields outside it,
	// which are kept as JSON text in attributes.
	MaxDepth = 32
	// MaxObjectKeys bounds the keys of any one JSON object.
	MaxObjectKeys = 1000
)

// keySpan is one object key as it appears in the raw bytes (without quotes).
type keySpan struct {
	start, end int32
	escaped    bool
}

// checkStructure rejects duplicate object keys, nesting deeper than
// MaxDepth and objects with more than MaxObjectKeys keys. Duplicate keys
// are poison: the JSON decoder keeps the last one, other consumers (jq,
// Python, a SIEM) may keep the first, so two readers of one message would
// see different MSPs or users.
//
// raw is valid UTF-8 and starts with '{'. Syntax errors are left to the
// decoder, which reports them better: on anything unexpected this returns
// nil and lets decoding fail.
func checkStructure(raw []byte) *RejectError {
	// Keys of the open objects, innermost last; levelStart[d] is where the
	// keys of the object at depth d begin. Small fixed arrays keep the
	// common case (a few dozen keys, three levels) free of allocations.
	var keyBuf [64]keySpan
	keys := keyBuf[:0]
	var levelStart [MaxDepth + 1]int
	var isObject [MaxDepth + 1]bool
	// big holds the keys of objects too large for a linear scan, by depth.
	var big map[int]map[string]struct{}
	depth := 0
	expectKey := false

	for i := 0; i < len(raw); {
		c := raw[i]
		switch c {
		case ' ', '\t', '\n', '\r', ',', ':':
			if c == ',' && depth > 0 && isObject[depth] {
				expectKey = true
			}
			i++
		case '{', '[':
			if depth == MaxDepth {
				return reject(ReasonLimitExceeded, "", "JSON nests deeper than %d levels", MaxDepth)
			}
			depth++
			isObject[depth] = c == '{'
			levelStart[depth] = len(keys)
			expectKey = c == '{'
			i++
		case '}', ']':
			if depth == 0 {
				return nil
			}
			if big != nil {
				delete(big, depth)
			}
			keys = keys[:levelStart[depth]]
			depth--
			expectKey = false
			i++
			if depth == 0 {
				return nil // the decoder reports trailing data
			}
		case '"':
			end, escaped := scanString(raw, i+1)
			if end < 0 {
				return nil
			}
			if expectKey && depth > 0 && isObject[depth] {
				k := keySpan{start: int32(i + 1), end: int32(end), escaped: escaped}
				n := len(keys) - levelStart[depth]
				if n >= MaxObjectKeys {
					return reject(ReasonLimitExceeded, "", "a JSON object has more than %d keys", MaxObjectKeys)
				}
				if dup := duplicateKey(raw, keys[levelStart[depth]:], k, depth, &big); dup != "" {
					return reject(ReasonDuplicateKey, "", "key %s appears twice in one object", strconv.Quote(truncateKey(dup)))
				}
				keys = append(keys, k)
				expectKey = false
			}
			i = end + 1
		default:
			// A number or literal: skip to the next delimiter.
			for i < len(raw) && !isDelimiter(raw[i]) {
				i++
			}
		}
	}
	return nil
}

// linearKeys is how many keys an object may have before duplicates are
// found through a map rather than by comparing with each earlier key.
const linearKeys = 16

// duplicateKey returns k's text when an earlier key of the same object
// (prev) is equal to it, "" otherwise.
func duplicateKey(raw []byte, prev []keySpan, k keySpan, depth int, big *map[int]map[string]struct{}) string {
	if len(prev) < linearKeys {
		for _, p := range prev {
			if p.escaped || k.escaped {
				if keyText(raw, p) == keyText(raw, k) {
					return keyText(raw, k)
				}
				continue
			}
			if bytes.Equal(raw[p.start:p.end], raw[k.start:k.end]) {
				return string(raw[k.start:k.end])
			}
		}
		return ""
	}
	if *big == nil {
		*big = map[int]map[string]struct{}{}
	}
	set := (*big)[depth]
	if set == nil {
		set = make(map[string]struct{}, 2*len(prev))
		for _, p := range prev {
			set[keyText(raw, p)] = struct{}{}
		}
		(*big)[depth] = set
	}
	text := keyText(raw, k)
	if _, ok := set[text]; ok {
		return text
	}
	set[text] = struct{}{}
	return ""
}

// keyText is a key's value: escapes resolved, so "m\u0073p" equals "msp".
func keyText(raw []byte, k keySpan) string {
	if !k.escaped {
		return string(raw[k.start:k.end])
	}
	var v string
	if json.Unmarshal(raw[k.start-1:k.end+1], &v) == nil {
		return v
	}
	return string(raw[k.start:k.end]) // the decoder reports the bad escape
}

func truncateKey(k string) string {
	const max = 64
	if len(k) <= max {
		return k
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + "…"
}

// scanString returns the index of the quote closing the string whose
// contents start at i, and whether it holds escapes; -1 when unterminated.
// IndexByte is vectorised, which keeps long values (the bulk of a large
// message) cheap to skip.
func scanString(raw []byte, i int) (int, bool) {
	start := i
	for {
		j := bytes.IndexByte(raw[i:], '"')
		if j < 0 {
			return -1, false
		}
		i += j
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := i - 1; k >= start && raw[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i, bytes.IndexByte(raw[start:i], '\\') >= 0
		}
		i++
	}
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}
