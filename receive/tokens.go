package receive

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/tripline/tripline/tokenfile"
)

// Token is one sender: a webhook or batch poster of one MSP. Only the
// SHA-256 of its secret is kept.
type Token struct {
	Name string
	// MSP is the msp of everything posted with the token: the caller
	// cannot name another.
	MSP string
}

// Tokens is the set of sender tokens, read from a file.
type Tokens struct {
	entries []tokenfile.Entry
	tokens  []Token // aligned with entries
}

// mspRe keeps the msp header and key to what registry IDs look like.
var mspRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ParseTokens reads a tokens file (package tokenfile): one token a line,
//
//	name:sha256hex:msp
//
// blank lines and lines starting with # ignored. The file holds hashes
// only (NewToken makes a line), so a leaked file leaks no token. A token
// is bound to exactly one MSP. Errors name the file and line, never a
// value that might be a secret.
func ParseTokens(data []byte, file string) (*Tokens, error) {
	entries, err := tokenfile.Parse(data, file, tokenfile.Layout{
		Usage: "name:sha256hex:msp", MinFields: 1, MaxFields: 1, Duplicate: "one token, one MSP",
		Check: func(e *tokenfile.Entry) error {
			if !mspRe.MatchString(e.Fields[0]) {
				return fmt.Errorf("msp %q: letters, digits and ._- only, at most 128", e.Fields[0])
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	ts := &Tokens{entries: entries, tokens: make([]Token, len(entries))}
	for i, e := range entries {
		ts.tokens[i] = Token{Name: e.Name, MSP: e.Fields[0]}
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
func (ts *Tokens) Len() int {
	if ts == nil {
		return 0
	}
	return len(ts.tokens)
}

// Lookup returns the token whose hash is secret's SHA-256, or nil, in
// constant time (tokenfile.Lookup).
func (ts *Tokens) Lookup(secret string) *Token {
	if ts == nil {
		return nil
	}
	if i := tokenfile.Lookup(ts.entries, secret); i >= 0 {
		return &ts.tokens[i]
	}
	return nil
}

// NewToken makes a random token (256 bits, URL-safe base64) and the
// tokens-file line that admits it for msp.
func NewToken(name, msp string) (secret, line string, err error) {
	if _, err := ParseTokens([]byte(name+":"+strings.Repeat("0", 64)+":"+msp), "token"); err != nil {
		return "", "", err
	}
	secret, hash, err := tokenfile.New("trr_")
	if err != nil {
		return "", "", err
	}
	return secret, name + ":" + hash + ":" + msp, nil
}
