package receive

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
	"os"
	"regexp"
	"strings"
)

// Token is one sender: a webhook or batch poster of one MSP. Only the
// SHA-256 of its secret is kept.
type Token struct {
	Name string
	// MSP is the msp of everything posted with the token: the caller
	// cannot name another.
	MSP  string
	hash [sha256.Size]byte
}

// Tokens is the set of sender tokens, read from a file.
type Tokens struct {
	tokens []Token
}

var (
	tokenNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	// mspRe keeps the msp header and key to what registry IDs look like.
	mspRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ParseTokens reads a tokens file: one token a line,
//
//	name:sha256hex:msp
//
// blank lines and lines starting with # ignored. The file holds hashes
// only (NewToken makes a line), so a leaked file leaks no token. A token
// is bound to exactly one MSP. Errors name the file and line, never a
// value that might be a secret.
func ParseTokens(data []byte, file string) (*Tokens, error) {
	var (
		ts     Tokens
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
		if len(parts) != 3 {
			fail("want name:sha256hex:msp")
			continue
		}
		t := Token{Name: parts[0], MSP: parts[2]}
		if !tokenNameRe.MatchString(t.Name) {
			fail("token name: letters, digits and ._@- only, at most 64")
			continue
		}
		if names[t.Name] {
			fail("token name %q appears twice", t.Name)
			continue
		}
		names[t.Name] = true
		h, err := hex.DecodeString(parts[1])
		if err != nil || len(h) != sha256.Size {
			// Not the value: it might be a pasted token rather than its hash.
			fail("token %s: the second field must be the 64-hex-digit SHA-256 of the token", t.Name)
			continue
		}
		copy(t.hash[:], h)
		if hashes[t.hash] {
			fail("token %s: the same hash as another token (one token, one MSP)", t.Name)
			continue
		}
		hashes[t.hash] = true
		if !mspRe.MatchString(t.MSP) {
			fail("token %s: msp %q: letters, digits and ._- only, at most 128", t.Name, t.MSP)
			continue
		}
		ts.tokens = append(ts.tokens, t)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", file, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(ts.tokens) == 0 {
		return nil, fmt.Errorf("%s: no tokens", file)
	}
	return &ts, nil
}

// LoadTokens reads and parses a tokens file.
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return ParseTokens(data, path)
}

// Len is the number of tokens.
func (ts *Tokens) Len() int {
	if ts == nil {
		return 0
	}
	return len(ts.tokens)
}

// Lookup returns the token whose hash is secret's SHA-256, or nil. Every
// stored hash is compared in constant time, so the time taken says nothing
// about which hash (or how much of one) matched.
func (ts *Tokens) Lookup(secret string) *Token {
	if ts == nil || secret == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(secret))
	var found *Token
	for i := range ts.tokens {
		if subtle.ConstantTimeCompare(sum[:], ts.tokens[i].hash[:]) == 1 {
			found = &ts.tokens[i]
		}
	}
	return found
}

// NewToken makes a random token (256 bits, URL-safe base64) and the
// tokens-file line that admits it for msp.
func NewToken(name, msp string) (secret, line string, err error) {
	if _, err := ParseTokens([]byte(name+":"+strings.Repeat("0", 64)+":"+msp), "token"); err != nil {
		return "", "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	secret = "trr_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, name + ":" + hex.EncodeToString(sum[:]) + ":" + msp, nil
}
