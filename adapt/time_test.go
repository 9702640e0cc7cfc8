package adapt

import (
	"testing"
	"time"
)

// utcLayouts are the layouts that read each form utcTime reads, by
// separator and "Z".
var utcLayouts = map[[2]byte]string{
	{'T', 'Z'}: time.RFC3339Nano,
	{'T', 0}:   "2006-01-02T15:04:05.999999999",
	{' ', 0}:   "2006-01-02 15:04:05.9999999",
	{' ', 'Z'}: "2006-01-02 15:04:05Z",
}

// checkUTCTime holds utcTime to time.Parse with the layout of the form it
// read.
func checkUTCTime(t *testing.T, s string) bool {
	got, sep, z, ok := utcTime(s)
	if !ok {
		return false
	}
	key := [2]byte{sep, 0}
	if z {
		key[1] = 'Z'
	}
	want, err := time.Parse(utcLayouts[key], s)
	if err != nil || got != want {
		t.Fatalf("utcTime(%q) = %v, time.Parse(%q) = %v, %v", s, got, utcLayouts[key], want, err)
	}
	return true
}

func TestUTCTime(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"2025-11-20T13:58:40Z", true},
		{"2025-11-20T13:58:40", true},
		{"2025-11-20 13:58:40", true},
		{"2025-11-20 13:58:40Z", true},
		{"2025-11-20T13:58:40.1234567Z", true},
		{"2025-11-20T13:58:40.123456789", true},
		{"2024-02-29T00:00:00Z", true},
		{"2025-11-20 13:58:40.5Z", true},
		{"2025-02-29T00:00:00Z", false},            // not a leap year
		{"2025-11-31T00:00:00Z", false},            // November has 30 days
		{"2025-11-20T24:00:00Z", false},            // hour
		{"2025-11-20T13:60:00Z", false},            // minute
		{"2025-11-20T13:58:60Z", false},            // leap second
		{"2025-13-20T13:58:40Z", false},            // month
		{"2025-00-20T13:58:40Z", false},            // month
		{"2025-11-00T13:58:40Z", false},            // day
		{"2025-11-20T13:58:40.Z", false},           // fraction without digits
		{"2025-11-20T13:58:40.1234567890Z", false}, // ten digits: time.Parse's
		{"2025-11-20T13:58:40+02:00", false},       // offset: time.Parse's
		{"2025-11-20t13:58:40Z", false},
		{"2025-11-20T13:58:40,5Z", false},
		{"2025-11-20T1:58:40Z", false},
		{"+025-11-20T13:58:40Z", false},
		{"2025-11-20T13:58:40ZZ", false},
		{"2025-11-20T13:58", false},
	} {
		if got := checkUTCTime(t, c.s); got != c.ok {
			t.Errorf("utcTime(%q) ok = %v, want %v", c.s, got, c.ok)
		}
	}
}

func FuzzUTCTime(f *testing.F) {
	for _, s := range []string{"2025-11-20T13:58:40Z", "2025-11-20 13:58:40.123", "2024-02-29T23:59:59.999999999Z", "0000-01-01T00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkUTCTime(t, s) })
}
