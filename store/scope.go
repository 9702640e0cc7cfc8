package store

import (
	"errors"
	"fmt"
)

// Scope is which MSPs' rows a caller may see and change. Every triage
// query takes one, so that an MSP-bound caller (an MSP-scoped API token)
// never sees another MSP's alerts, whatever filter it sends. A scope may
// narrow further to one tenant of one MSP (a client's viewer): it sees
// that tenant's alerts, their actions and detections, the incidents that
// involve the tenant, and no silences (they are per MSP). The zero Scope
// sees nothing: forgetting to set it fails closed.
type Scope struct {
	msp    string
	tenant string
	all    bool
}

// AllMSPs is the scope of an operator who sees every MSP.
func AllMSPs() Scope { return Scope{all: true} }

// OnlyMSP is the scope of a caller bound to msp.
func OnlyMSP(msp string) Scope { return Scope{msp: msp} }

// OnlyTenant is the scope of a caller bound to one tenant of msp.
func OnlyTenant(msp, tenant string) Scope {
	if tenant == "" {
		return OnlyMSP(msp)
	}
	return Scope{msp: msp, tenant: tenant}
}

// MSP is the MSP the scope is bound to, "" when it sees all.
func (s Scope) MSP() string { return s.msp }

// Tenant is the tenant the scope is bound to, "" when none.
func (s Scope) Tenant() string { return s.tenant }

// All reports whether the scope sees every MSP.
func (s Scope) All() bool { return s.all }

// Allows reports whether the scope covers all of msp's rows (a tenant
// scope covers none of them whole).
func (s Scope) Allows(msp string) bool {
	return s.all || (s.msp != "" && s.msp == msp && s.tenant == "")
}

// AllowsAlert reports whether the scope may see an alert of msp and
// tenant.
func (s Scope) AllowsAlert(msp, tenant string) bool {
	return s.all || (s.msp != "" && s.msp == msp && (s.tenant == "" || s.tenant == tenant))
}

func (s Scope) String() string {
	switch {
	case s.all:
		return "all MSPs"
	case s.tenant != "":
		return fmt.Sprintf("msp %q tenant %q", s.msp, s.tenant)
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

// where returns the condition that confines a query of a table with an
// msp column to the scope, and its arguments. tenantCond is the condition
// a tenant scope adds, with one ? for the tenant ("tenant = ?",
// "has(tenants, ?)"); "" means the table has nothing per tenant, and a
// tenant scope sees none of its rows.
func (s Scope) where(tenantCond string) (string, []any, error) {
	switch {
	case s.all:
		return "1", nil, nil
	case s.msp == "":
		return "", nil, errNoScope
	case s.tenant == "":
		return "msp = ?", []any{s.msp}, nil
	case tenantCond == "":
		return "0", nil, nil
	}
	return "msp = ? AND " + tenantCond, []any{s.msp, s.tenant}, nil
}
