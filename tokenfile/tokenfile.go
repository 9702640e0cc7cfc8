// Package tokenfile reads files of hashed bearer tokens, one a line,
//
//	name:sha256hex[:field...]
//
// and checks a presented secret against them in constant time. The file
// holds only SHA-256 hashes, so a leaked file leaks no token. The API's
// tokens (name:hash:role[:msp[:tenant]]) and the receiver's
// (name:hash:msp) are two layouts of the same file; this package is the
// one parser, matcher and minter behind both.
package tokenfile

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Entry is one token of a file: its name and the fields after its hash.
type Entry struct {
	Name   string
	Fields []string
	hash   [sha256.Size]byte
}

// Layout says what follows the hash on a line.
type Layout struct {
	// Usage is the line's shape, for errors ("name:sha256hex:msp").
	Usage string
	// MinFields and MaxFields bound the fields after the hash.
	MinFields, MaxFields int
	// Check validates one entry's fields; its error (which must not quote
	// a secret) is reported at the entry's line.
	Check func(e *Entry) error
	// Duplicate says what a second token with an existing hash means,
	// for its error ("one token, one name").
	Duplicate string
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// Parse reads a tokens file laid out as l. Blank lines and lines starting
// with # are skipped. Every problem is reported with file:line, never with
// a value that might be a secret; an empty file is an error.
func Parse(data []byte, file string, l Layout) ([]Entry, error) {
	var (
		out    []Entry
		errs   []error
		names  = map[string]bool{}
		hashes = map[[sha256.Size]byte]bool{}
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s", file, n, fmt.Sprintf(format, args...)))
		}
		parts := strings.Split(line, ":")
		if len(parts) < 2+l.MinFields || len(parts) > 2+l.MaxFields {
			fail("want %s", l.Usage)
			continue
		}
		e := Entry{Name: parts[0], Fields: parts[2:]}
		if !nameRe.MatchString(e.Name) {
			fail("token name: letters, digits and ._@- only, at most 64")
			continue
		}
		if names[e.Name] {
			fail("token name %q appears twice", e.Name)
			continue
		}
		names[e.Name] = true
		h, err := hex.DecodeString(parts[1])
		if err != nil || len(h) != sha256.Size {
			// Not the value: it might be a pasted token rather than its hash.
			fail("token %s: the second field must be the 64-hex-digit SHA-256 of the token", e.Name)
			continue
		}
		copy(e.hash[:], h)
		if hashes[e.hash] {
			fail("token %s: the same hash as another token (%s)", e.Name, l.Duplicate)
			continue
		}
		hashes[e.hash] = true
		if l.Check != nil {
			if err := l.Check(&e); err != nil {
				fail("token %s: %v", e.Name, err)
				continue
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", file, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no tokens", file)
	}
	return out, nil
}

// Lookup returns the index of the entry whose hash is secret's SHA-256,
// or -1. Every stored hash is compared, in constant time, so the time
// taken says nothing about which hash (or how much of one) matched.
func Lookup(entries []Entry, secret string) int {
	if secret == "" {
		return -1
	}
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range entries {
		if subtle.ConstantTimeCompare(sum[:], entries[i].hash[:]) == 1 {
			found = i
		}
	}
	return found
}

// New makes a random token (256 bits, URL-safe base64 after prefix) and
// the hex SHA-256 a tokens file stores for it.
func New(prefix string) (secret, hashHex string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}
