package registry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// minutesPerWeek is the resolution of a week mask: one bit per minute.
const minutesPerWeek = 7 * 24 * 60

// weekMask is a set of minutes of the week, local wall-clock time, Sunday
// 00:00 first (time.Weekday order). Windows are compiled into it once, so
// "is this event inside a window" is one bit test whatever the windows.
type weekMask [(minutesPerWeek + 63) / 64]uint64

func (m *weekMask) set(from, to int) {
	for i := from; i < to; i++ {
		j := i % minutesPerWeek
		m[j/64] |= 1 << (j % 64)
	}
}

func (m *weekMask) has(minute int) bool { return m[minute/64]&(1<<(minute%64)) != 0 }

// window is one parsed maintenance or working-hours window: on each of
// days, from the minute of the day from up to (not including) to. A window
// with to <= from runs past midnight into the next day.
type window struct {
	days     []time.Weekday
	from, to int // minutes after local midnight; to may be 1440 ("24:00")
}

// addTo sets the window's minutes in m.
func (w window) addTo(m *weekMask) {
	for _, d := range w.days {
		start := int(d)*1440 + w.from
		length := w.to - w.from
		if length <= 0 {
			length += 1440 // overnight: into the next day (and past Saturday into Sunday)
		}
		m.set(start, start+length)
	}
}

// inWindow reports whether t, converted to loc, falls in m. It is the
// whole time-zone and DST logic: the wall clock comes from the zone
// database, so "01:00-05:00" means local 01:00-05:00 on both sides of a
// DST change (a 02:00-03:00 window does not exist on a spring-forward
// night, and a 01:00-02:00 window lasts two hours on a fall-back night).
func inWindow(m *weekMask, loc *time.Location, t time.Time) bool {
	wd, minute := localClock(t, loc)
	return m.has(int(wd)*1440 + minute)
}

var dayNames = map[string][]time.Weekday{
	"sun": {time.Sunday}, "mon": {time.Monday}, "tue": {time.Tuesday}, "wed": {time.Wednesday},
	"thu": {time.Thursday}, "fri": {time.Friday}, "sat": {time.Saturday},
	"sunday": {time.Sunday}, "monday": {time.Monday}, "tuesday": {time.Tuesday}, "wednesday": {time.Wednesday},
	"thursday": {time.Thursday}, "friday": {time.Friday}, "saturday": {time.Saturday},
	"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekend":  {time.Saturday, time.Sunday},
	"daily":    {time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
}

// weekdayNames are the context.weekday values, by time.Weekday.
var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseClock parses "HH:MM" (00:00-24:00) into minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("%q is not a time of day between 00:00 and 24:00", s)
	}
	return hh*60 + mm, nil
}
