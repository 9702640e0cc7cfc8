package report

import (
	"strings"
	"testing"
)

func TestFileName(t *testing.T) {
	if got := FileName("msp-northwind", "county-elections-ks", "2026-11", "pdf"); got != "msp-northwind_county-elections-ks_2026-11.pdf" {
		t.Errorf("plain names: %q", got)
	}
	seen := map[string]string{}
	for _, tenant := range []string{"../../etc/passwd", "a/b", "a_b", "a b", ".hidden", "", strings.Repeat("x", 300), "x\x00y"} {
		got := FileName("m", tenant, "2026-11", "html")
		if strings.ContainsAny(got, "/\\\x00 ") || strings.HasPrefix(got, ".") || len(got) > 120 {
			t.Errorf("tenant %q: unsafe file name %q", tenant, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("tenants %q and %q share %q", prev, tenant, got)
		}
		seen[got] = tenant
	}
}
