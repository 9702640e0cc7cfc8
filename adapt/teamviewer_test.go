package adapt

import "testing"

// TestParseSeconds: an ended TeamViewer session's Duration, as seconds or
// as a [d.]hh:mm:ss time span; anything else is refused, not guessed.
func TestParseSeconds(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1853", 1853, true},
		{"0", 0, true},
		{"00:30:53", 1853, true},
		{"00:30:53.999", 1853, true},
		{"1.02:00:00", 93600, true},
		{"26:00:00", 93600, true},
		{"-5", 0, false},
		{"00:60:00", 0, false},
		{"00:00:60", 0, false},
		{"30:53", 0, false},
		{"1.5", 0, false},
		{"PT30M", 0, false},
		{"-1.00:00:00", 0, false},
		{"00:-1:00", 0, false},
		{"", 0, false},
	} {
		got, err := parseSeconds(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSeconds(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
