package adapt

import (
	"net/netip"
	"strings"
	"testing"
	"unsafe"
)

// TestSlugInArena holds the arena's slug to slug, ASCII or not.
func TestSlugInArena(t *testing.T) {
	r := (&arena{}).rec(nil, "")
	for _, s := range []string{
		"", "Kaseya VSA", "  Microsoft Defender for Endpoint ", "--N-able  N-central--", "a.b_c-d",
		"KELVIN \u212a", "Éditeur", strings.Repeat("Long Name ", 10), "!!!", "x!",
	} {
		if got, want := r.slug(s), slug(s); got != want {
			t.Errorf("slug(%q) in the arena = %q, want %q", s, got, want)
		}
	}
}

// TestIP holds ip, which parses an address with a port first, to reading
// the address alone first (what it did before), and to canonical text.
func TestIP(t *testing.T) {
	old := func(s string) string {
		s = strings.TrimSpace(s)
		if a, err := netip.ParseAddr(s); err == nil {
			return a.Unmap().String()
		}
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap().String()
		}
		return ""
	}
	for _, s := range []string{
		"203.0.113.7", " 203.0.113.7 ", "203.0.113.7:51234", "[2001:db8::1]:443", "2001:DB8::0:1",
		"::ffff:203.0.113.7", "[::ffff:203.0.113.7]:80", "unknown", "-", "1.2.3.4:99999", "fe80::1%eth0",
		"[fe80::1%eth0]:22", ":", "[", "1.2.3.4:", "a:b",
		"0.0.0.0", "255.255.255.255", "1.2.3.256", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5", "1..3.4",
		".1.2.3", "1.2.3.", "1.2.3.4a", "१.2.3.4", "1.2.3.0400", "0000.0.0.0", "192.168.100.200",
	} {
		m := map[string]string{}
		if got, want := ip(s, &attrs{m: m}, "k"), old(s); got != want || (want == "") != (m["k"] != "") {
			t.Errorf("ip(%q) = %q (attrs %v), want %q", s, got, m, old(s))
		}
	}
}

// TestLowerInArena holds the arena's lower to strings.ToLower.
func TestLowerInArena(t *testing.T) {
	r := (&arena{}).rec(nil, "")
	for _, parts := range [][]string{{"User", "/", "LOGIN"}, {}, {"JOB/Deploy"}, {"\u212aelvin", "/", "X"}, {"Éditeur"}} {
		if got, want := r.lower(parts...), strings.ToLower(strings.Join(parts, "")); got != want {
			t.Errorf("lower(%q) = %q, want %q", parts, got, want)
		}
	}
}

// TestOwn: a string in the input or the arena's text is copied, any
// other is not.
func TestOwn(t *testing.T) {
	a := &arena{}
	raw := []byte(`{"why":"a reason"}`)
	inRaw := unsafe.String(&raw[8], 8)
	inText := a.join("made ", "here")
	other := strings.Repeat("x", 3)
	for _, c := range []struct {
		s    string
		copy bool
	}{{inRaw, true}, {inText, true}, {other, false}, {"constant", false}} {
		got := a.own(c.s, raw)
		copied := unsafe.StringData(got) != unsafe.StringData(c.s)
		if got != c.s || copied != c.copy {
			t.Errorf("own(%q) = %q, copied %v, want copied %v", c.s, got, copied, c.copy)
		}
	}
}
