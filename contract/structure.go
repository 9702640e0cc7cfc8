package contract

import (
	"bytes"
	"hash/maphash"
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
	var big map[int]map[uint64]keySpan
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
				if duplicateKey(raw, keys[levelStart[depth]:], k, depth, &big) {
					return reject(ReasonDuplicateKey, "", "key %s appears twice in one object", strconv.Quote(truncateKey(keyText(raw, k))))
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

// duplicateKey reports whether an earlier key of the same object (prev)
// is equal to k. Past linearKeys keys, the object's
// keys go into a set of their hashes (maphash, randomly seeded, so a
// producer cannot aim for collisions; a hash match is confirmed on the
// text), which costs no allocation per key.
func duplicateKey(raw []byte, prev []keySpan, k keySpan, depth int, big *map[int]map[uint64]keySpan) bool {
	if len(prev) < linearKeys {
		for _, p := range prev {
			if sameKey(raw, p, k) {
				return true
			}
		}
		return false
	}
	if *big == nil {
		*big = map[int]map[uint64]keySpan{}
	}
	set := (*big)[depth]
	if set == nil {
		set = make(map[uint64]keySpan, 2*len(prev))
		for _, p := range prev {
			set[keyHash(raw, p)] = p
		}
		(*big)[depth] = set
	}
	h := keyHash(raw, k)
	if p, ok := set[h]; ok && sameKey(raw, p, k) {
		return true
	}
	set[h] = k
	return false
}

var keySeed = maphash.MakeSeed()

func keyHash(raw []byte, k keySpan) uint64 {
	if k.escaped {
		return maphash.String(keySeed, keyText(raw, k))
	}
	return maphash.Bytes(keySeed, raw[k.start:k.end])
}

func sameKey(raw []byte, a, b keySpan) bool {
	if a.escaped || b.escaped {
		return keyText(raw, a) == keyText(raw, b)
	}
	return bytes.Equal(raw[a.start:a.end], raw[b.start:b.end])
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
// Short strings (most keys and values) are scanned byte by byte; the rest
// of a long one with the vectorised IndexByte, which keeps large values
// (the bulk of a large message) cheap to skip.
func scanString(raw []byte, i int) (int, bool) {
	escaped := false
	for end := min(len(raw), i+32); i < end; i++ {
		switch raw[i] {
		case '"':
			return i, escaped
		case '\\':
			escaped = true
			i++ // the escaped character
		}
	}
	for from := i; from < len(raw); {
		j := bytes.IndexByte(raw[from:], '"')
		if j < 0 {
			return -1, escaped
		}
		q := from + j
		if !escaped && bytes.IndexByte(raw[from:q], '\\') >= 0 {
			escaped = true
		}
		// The quote is escaped when an odd number of backslashes precede
		// it (from is never inside an escape sequence).
		n := 0
		for k := q - 1; k >= from && raw[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q, escaped
		}
		from = q + 1
	}
	return -1, escaped
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}
