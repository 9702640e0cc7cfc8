package api

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

	"github.com/tripline/tripline/store"
)

// Roles a token can have.
const (
	// RoleViewer may read alerts, incidents and silences.
	RoleViewer = "viewer"
	// RoleAnalyst may also triage alerts and create and expire silences.
	RoleAnalyst = "analyst"
)

// Token is one API caller. Only the SHA-256 of its secret is kept.
type Token struct {
	// Name identifies the caller: it is the actor of its triage actions
	// and the author of its silences.
	Name string
	Role string
	// MSP binds the token to one MSP; empty sees every MSP.
	MSP string
	// Tenant narrows an MSP-bound token to one tenant of it (a client's
	// view: its alerts and incidents, no silences).
	Tenant string
	hash   [sha256.Size]byte
}

// Scope is the store scope of the token.
func (t *Token) Scope() store.Scope {
	if t.MSP == "" {
		return store.AllMSPs()
	}
	return store.OnlyTenant(t.MSP, t.Tenant)
}

// CanWrite reports whether the token may change things.
func (t *Token) CanWrite() bool { return t.Role == RoleAnalyst }

// Tokens is the set of API tokens, read from a file.
type Tokens struct {
	tokens []Token
}

var tokenNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseTokens reads a tokens file: one token a line,
//
//	name:sha256hex:role[:msp[:tenant]]
//
// with role viewer or analyst; blank lines and lines starting with # are
// ignored. The file holds hashes only (see NewToken), so a leaked file
// does not leak tokens. Errors name the file and line.
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
		if len(parts) < 3 || len(parts) > 5 {
			fail("want name:sha256hex:role[:msp[:tenant]]")
			continue
		}
		t := Token{Name: parts[0], Role: parts[2]}
		if len(parts) >= 4 {
			t.MSP = parts[3]
		}
		if len(parts) == 5 {
			t.Tenant = parts[4]
		}
		if !tokenNameRe.MatchString(t.Name) {
			fail("token name %q: letters, digits and ._@- only, at most 64", t.Name)
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
			fail("token %s: the same hash as another token (one token, one name)", t.Name)
			continue
		}
		hashes[t.hash] = true
		if t.Role != RoleViewer && t.Role != RoleAnalyst {
			fail("token %s: role %q: want %s or %s", t.Name, t.Role, RoleViewer, RoleAnalyst)
			continue
		}
		if len(parts) >= 4 && strings.TrimSpace(t.MSP) == "" {
			fail("token %s: empty msp (leave the field out for every MSP)", t.Name)
			continue
		}
		if len(parts) == 5 && strings.TrimSpace(t.Tenant) == "" {
			fail("token %s: empty tenant (leave the field out for the whole MSP)", t.Name)
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
func (ts *Tokens) Len() int { return len(ts.tokens) }

// Lookup returns the token whose hash is secret's SHA-256, or nil. Every
// stored hash is compared, in constant time, so the time taken says
// nothing about which hash (or how much of one) matched.
func (ts *Tokens) Lookup(secret string) *Token {
	if secret == "" {
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
// tokens-file line that admits it; tenant needs msp.
func NewToken(name, role, msp, tenant string) (secret, line string, err error) {
	if tenant != "" && msp == "" {
		return "", "", fmt.Errorf("new token: a tenant needs its msp")
	}
	suffix := ""
	if msp != "" {
		suffix = ":" + msp
	}
	if tenant != "" {
		suffix += ":" + tenant
	}
	if _, err := ParseTokens([]byte(name+":"+strings.Repeat("0", 64)+":"+role+suffix), "token"); err != nil {
		return "", "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	secret = "tl_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, name + ":" + hex.EncodeToString(sum[:]) + ":" + role + suffix, nil
}
