package api

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/tokenfile"
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
	entries []tokenfile.Entry
	tokens  []Token // aligned with entries
}

// ParseTokens reads a tokens file (package tokenfile): one token a line,
//
//	name:sha256hex:role[:msp[:tenant]]
//
// with role viewer or analyst; blank lines and lines starting with # are
// ignored. The file holds hashes only (see NewToken), so a leaked file
// does not leak tokens. Errors name the file and line.
func ParseTokens(data []byte, file string) (*Tokens, error) {
	entries, err := tokenfile.Parse(data, file, tokenfile.Layout{
		Usage: "name:sha256hex:role[:msp[:tenant]]", MinFields: 1, MaxFields: 3, Duplicate: "one token, one name",
		Check: func(e *tokenfile.Entry) error {
			if role := e.Fields[0]; role != RoleViewer && role != RoleAnalyst {
				return fmt.Errorf("role %q: want %s or %s", role, RoleViewer, RoleAnalyst)
			}
			if len(e.Fields) >= 2 && strings.TrimSpace(e.Fields[1]) == "" {
				return errors.New("empty msp (leave the field out for every MSP)")
			}
			if len(e.Fields) == 3 && strings.TrimSpace(e.Fields[2]) == "" {
				return errors.New("empty tenant (leave the field out for the whole MSP)")
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	ts := &Tokens{entries: entries, tokens: make([]Token, len(entries))}
	for i, e := range entries {
		t := Token{Name: e.Name, Role: e.Fields[0]}
		if len(e.Fields) >= 2 {
			t.MSP = e.Fields[1]
		}
		if len(e.Fields) == 3 {
			t.Tenant = e.Fields[2]
		}
		ts.tokens[i] = t
	}
	return ts, nil
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

// Lookup returns the token whose hash is secret's SHA-256, or nil, in
// constant time (tokenfile.Lookup).
func (ts *Tokens) Lookup(secret string) *Token {
	if i := tokenfile.Lookup(ts.entries, secret); i >= 0 {
		return &ts.tokens[i]
	}
	return nil
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
	secret, hash, err := tokenfile.New("tl_")
	if err != nil {
		return "", "", err
	}
	return secret, name + ":" + hash + ":" + role + suffix, nil
}
