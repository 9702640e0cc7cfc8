package engine

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

// Time part modifiers read the wall clock of the timestamp as written, in
// its own offset: contract time_local carries the producer's offset, so
// time_local|hour is the local hour and time|hour (UTC) the UTC hour.
func TestTimePartInOwnOffset(t *testing.T) {
	tests := []struct {
		name string
		sel  string // the detection's selection body
		ts   string
		want bool
	}{
		{"local hour, not UTC", "time_local|hour: 3", "2026-11-22T03:10:00-07:00", true},
		{"UTC hour of the same instant", "time_local|hour: 10", "2026-11-22T03:10:00-07:00", false},
		{"UTC timestamp", "time_local|hour: 10", "2026-11-22T10:10:00Z", true},
		{"half-hour offset", "time_local|hour: 15", "2026-11-22T15:40:00.25+05:30", true},
		{"minute in a half-hour offset", "time_local|minute: 40", "2026-11-22T15:40:00+05:30", true},
		{"space separator", "time_local|hour: 23", "2026-11-22 23:59:59+01:00", true},
		{"weekday Sunday is 7", "time_local|weekday: 7", "2026-11-22T03:10:00-07:00", true},
		// 2026-11-22T03:10-07:00 is Sunday 10:10 UTC; 23:30 Saturday in
		// Los Angeles is already Sunday in UTC.
		{"weekday in its own offset", "time_local|weekday: 6", "2026-11-21T23:30:00-08:00", true},
		{"weekday by name", "time_local|weekday: [sat, sun]", "2026-11-21T23:30:00-08:00", true},
		{"weekday name, weekday", "time_local|weekday: [sat, Sun]", "2026-11-23T09:00:00-08:00", false},
		{"weekend as a comparison", "time_local|weekday|gte: 6", "2026-11-22T09:00:00+09:00", true},
		{"Monday", "time_local|weekday|gte: 6", "2026-11-23T09:00:00+09:00", false},
		{"night", "time_local|hour|lt: 6", "2026-11-23T05:59:59.999+01:00", true},
		{"bad offset is no time", "time_local|hour: 3", "2026-11-22T03:10:00+0x:00", false},
		{"not a time", "time_local|hour: 3", "03:10", false},
		{"no such day", "time_local|hour: 3", "2026-02-29T03:10:00+01:00", false},
		{"leap day", "time_local|weekday: sun", "2032-02-29T03:10:00+01:00", true},
		{"empty fraction", "time_local|hour: 3", "2026-11-22T03:10:00.+01:00", false},
		{"hour 24", "time_local|hour: 0", "2026-11-22T24:10:00+01:00", false},
		{"date only", "time_local|day: 22", "2026-11-22", true},
		{"epoch seconds", "time_local|hour: 10", "1795342200", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustCompile(t, Config{}, ruleDoc("tp", "", "sel:\n    "+tt.sel+"\ncondition: sel"))
			got := len(rs.Match(flat(fields.Logsource{}, "time_local", tt.ts), nil)) == 1
			if got != tt.want {
				t.Errorf("%s on %s: match %v, want %v", tt.sel, tt.ts, got, tt.want)
			}
		})
	}
}

func TestWeekdayModifierErrors(t *testing.T) {
	for _, tc := range []struct{ sel, want string }{
		{"time|weekday: funday", "time part modifier needs a number"},
		{"time|hour: sat", "time part modifier needs a number"},
		{"time|weekday|hour: 1", "only one time part modifier"},
	} {
		coll, err := sigma.ParseBytes([]byte(ruleDoc("tp", "", "sel:\n    "+tc.sel+"\ncondition: sel")), "tp.yml")
		if err != nil {
			t.Fatal(err)
		}
		_, errs := CompileCollection(coll, Config{})
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%s: errors %v, want %q", tc.sel, errs, tc.want)
		}
	}
}

func TestTimePartAllocFree(t *testing.T) {
	rs := mustCompile(t, Config{}, ruleDoc("tp", "", "sel:\n    time_local|hour|gte: 20\nwe:\n    time_local|weekday|gte: 6\ncondition: sel or we"))
	m := rs.NewMatcher()
	var dst []*Rule
	for _, ts := range []string{"2026-11-22T10:10:00Z", "2026-11-22T03:10:00-07:00", "2026-11-22T15:40:00.25+05:30", "2026-11-22T15:40:00+05:45"} {
		ev := flat(fields.Logsource{}, "time_local", ts)
		if a := testing.AllocsPerRun(100, func() { dst = m.Match(ev, dst[:0]) }); a != 0 {
			t.Errorf("%s: %.1f allocations per match", ts, a)
		}
	}
}
