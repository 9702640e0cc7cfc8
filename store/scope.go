package store

import (
	"errors"
	"fmt"
)

// Scope is which MSPs' rows a caller may see and change. Every triage
// query takes one, so that an MSP-bound caller (an MSP-scoped API token)
// never sees another MSP's alerts, whatever filter it sends. The zero
// Scope sees nothing: forgetting to set it fails closed.
type Scope struct {
	msp string
	all bool
}

// AllMSPs is the scope of an operator who sees every MSP.
func AllMSPs() Scope { return Scope{all: true} }

// OnlyMSP is the scope of a caller bound to msp.
func OnlyMSP(msp string) Scope { return Scope{msp: msp} }

// MSP is the MSP the scope is bound to, "" when it sees all.
func (s Scope) MSP() string { return s.msp }

// All reports whether the scope sees every MSP.
func (s Scope) All() bool { return s.all }

// Allows reports whether the scope may see rows of msp.
func (s Scope) Allows(msp string) bool { return s.all || (s.msp != "" && s.msp == msp) }

func (s Scope) String() string {
	if s.all {
		return "all MSPs"
	}
	return fmt.Sprintf("msp %q", s.msp)
}

// ErrNotFound is returned for an alert, incident or silence that does not
// exist or that the scope may not see (the two are not told apart, so a
// scoped caller cannot probe for other MSPs' IDs).
var ErrNotFound = errors.New("not found")

// ErrForbidden is returned when a scoped caller writes a row of another MSP.
var ErrForbidden = errors.New("outside the caller's MSP scope")

var errNoScope = errors.New("internal: query without an MSP scope")

// where returns the condition on column col that confines a query to the
// scope, and its argument.
func (s Scope) where(col string) (string, []any, error) {
	switch {
	case s.all:
		return "1", nil, nil
	case s.msp != "":
		return col + " = ?", []any{s.msp}, nil
	}
	return "", nil, errNoScope
}
