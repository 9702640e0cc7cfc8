package engine

import (
	"testing"

	"github.com/tripline/tripline/fields"
)

// BenchmarkTimePart matches a time-part rule against timestamps written in
// different offsets: Z, a whole-hour offset, and a half-hour one (which
// time.Parse gives a freshly allocated zone).
func BenchmarkTimePart(b *testing.B) {
	for _, part := range []string{"hour", "weekday"} {
		rs := mustCompile(b, Config{}, ruleDoc("tp-"+part, "", "night:\n    time_local|"+part+"|gte: 20\ncondition: night"))
		for _, tc := range []struct{ name, ts string }{
			{"Z", "2026-11-22T10:10:00Z"},
			{"-07:00", "2026-11-22T03:10:00-07:00"},
			{"+05:30", "2026-11-22T15:40:00.25+05:30"},
		} {
			b.Run(part+"/"+tc.name, func(b *testing.B) {
				ev := flat(fields.Logsource{}, "time_local", tc.ts)
				m := rs.NewMatcher()
				var dst []*Rule
				b.ReportAllocs()
				for b.Loop() {
					dst = m.Match(ev, dst[:0])
				}
			})
		}
	}
}
