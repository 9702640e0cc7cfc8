package engine

import (
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// isLower reports whether lowerString(s) == s, without allocating. Most
// event strings need no folding at all, so this saves the copy.
func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return isLowerSlow(s[i:])
		}
		if 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

func isLowerSlow(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && size == 1) && foldRune(r) != r {
			return false
		}
		i += size
	}
	return true
}

// appendLower appends the case-folded form of s. It folds per rune (ASCII
// fast path) and copies invalid UTF-8 bytes verbatim, so needles and
// haystacks folded by it stay comparable byte for byte and folding
// distributes over concatenation (a substring of s folds to a substring of
// the folded s).
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return appendLowerSlow(dst, s[i:])
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func appendLowerSlow(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, foldRune(r))
		}
		i += size
	}
	return dst
}

// lowerString is the allocating form, used at compile time only.
func lowerString(s string) string {
	if isLower(s) {
		return s
	}
	return string(appendLower(nil, s))
}

// bytesString views b as a string without copying. Callers guarantee b's
// backing array is not written while the string is in use (scratch buffers
// are only rewritten for the next event).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// foldRune lower-cases r, additionally mapping the long s (U+017F) to 's'.
// With that, every rune that Unicode simple folding equates with an ASCII
// letter folds to that letter (the Kelvin sign already lower-cases to 'k'),
// so an ASCII needle taken from a case-insensitive regexp is always found
// in the folded input when the regexp matches.
func foldRune(r rune) rune {
	if r == '\u017f' {
		return 's'
	}
	return unicode.ToLower(r)
}
