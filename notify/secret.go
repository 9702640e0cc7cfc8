package notify

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// SecretRef names where a secret is: env:NAME or file:/path. Config files
// never hold secrets themselves, so they can be reviewed and committed,
// and the value never shows up in logs, errors or metrics: only the
// reference does.
type SecretRef struct {
	Env  string
	Path string
	// File, Line and What locate the reference in the config, for errors.
	File string
	Line int
	What string
}

// ParseSecretRef parses env:NAME or file:/path. Its error never quotes s,
// which may be a secret pasted where a reference belongs.
func ParseSecretRef(s string) (*SecretRef, error) {
	switch {
	case strings.HasPrefix(s, "env:"):
		name := strings.TrimPrefix(s, "env:")
		if name == "" || strings.ContainsAny(name, " =\t") {
			return nil, errors.New("env: needs a variable name (env:NAME)")
		}
		return &SecretRef{Env: name}, nil
	case strings.HasPrefix(s, "file:"):
		path := strings.TrimPrefix(s, "file:")
		if !strings.HasPrefix(path, "/") {
			return nil, errors.New("file: needs an absolute path (file:/run/secrets/NAME)")
		}
		return &SecretRef{Path: path}, nil
	}
	return nil, errors.New("must be a reference, env:NAME or file:/path, not the secret itself")
}

// String is the reference, never the value.
func (r *SecretRef) String() string {
	if r.Env != "" {
		return "env:" + r.Env
	}
	return "file:" + r.Path
}

func (r *SecretRef) where() string {
	if r.Line > 0 {
		return fmt.Sprintf("%s:%d: %s (%s)", r.File, r.Line, r.What, r)
	}
	return fmt.Sprintf("%s (%s)", r.What, r)
}

// Resolve reads the secret. Its errors name the reference and where it is
// in the config, never the value.
func (r *SecretRef) Resolve() (string, error) {
	if r.Env != "" {
		v, ok := os.LookupEnv(r.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: variable %s is not set", r.where(), r.Env)
		}
		return v, nil
	}
	b, err := os.ReadFile(r.Path)
	if err != nil {
		// The path is not secret; the content would be.
		return "", fmt.Errorf("%s: %w", r.where(), err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s: the file is empty", r.where())
	}
	return v, nil
}

// secrets collects every resolved value of a config, so that errors from
// receivers (an HTTP client error quotes the URL, and Slack's URL is the
// credential) can be scrubbed before they are logged or stored.
type secrets []string

func (s secrets) redact(msg string) string {
	for _, v := range s {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "[secret]")
		}
	}
	return msg
}
