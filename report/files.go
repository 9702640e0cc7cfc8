package report

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// FileName is the file --all-tenants writes a tenant's report to:
// MSP_TENANT_MONTH.FORMAT. Tenant and MSP IDs come from the MSPs' events
// and may hold anything (a slash, "..", a NUL byte), so every byte outside
// [A-Za-z0-9.-] becomes "_", and a name that had to change gets the first
// 8 hex digits of the SHA-256 of "msp\x00tenant" so that two tenants never
// share a file.
func FileName(msp, tenant, month, format string) string {
	m, mOK := safeName(msp)
	t, tOK := safeName(tenant)
	name := m + "_" + t
	if !mOK || !tOK {
		sum := sha256.Sum256([]byte(msp + "\x00" + tenant))
		name += "-" + hex.EncodeToString(sum[:4])
	}
	return name + "_" + month + "." + format
}

// safeName maps s to a file-name-safe string of at most 80 bytes; ok is
// false when it had to change s.
func safeName(s string) (string, bool) {
	var b strings.Builder
	ok := s != ""
	for i := 0; i < len(s) && b.Len() < 80; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
			ok = false
		}
	}
	if len(s) > 80 {
		ok = false
	}
	if b.Len() == 0 {
		b.WriteByte('_')
	}
	return b.String(), ok
}
