package silence

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tripline/tripline/record"
)

// Set is a compiled, immutable set of silences. The detector builds a new
// one when the stored silences change and swaps it in; Match is safe for
// concurrent use.
type Set struct {
	entries []entry
}

type entry struct {
	id           string
	msp          string
	starts, ends int64 // Unix nanoseconds
	matchers     []Matcher
}

// NewSet compiles silences. A silence that does not validate is left out
// and reported in the error, while the rest still make a usable Set: one
// bad row in the table must not lift every other silence.
func NewSet(silences []record.Silence) (*Set, error) {
	s := &Set{entries: make([]entry, 0, len(silences))}
	var errs []error
	for i := range silences {
		r := &silences[i]
		if err := Validate(r); err != nil {
			errs = append(errs, fmt.Errorf("silence %s: %w", r.SilenceID, err))
			continue
		}
		e := entry{id: r.SilenceID, msp: r.MSP, starts: r.Starts.UnixNano(), ends: r.Ends.UnixNano(),
			matchers: make([]Matcher, 0, len(r.Matchers))}
		for _, raw := range r.Matchers {
			m, _ := Parse(raw) // Validate parsed every one
			e.matchers = append(e.matchers, m)
		}
		// Equality tests are cheap and usually decide; regexes go last.
		slices.SortStableFunc(e.matchers, func(a, b Matcher) int {
			return cmp.Compare(cost(&a), cost(&b))
		})
		s.entries = append(s.entries, e)
	}
	// The lowest ID wins when several silences match, so that a replay
	// marks the alert with the same silence whatever order the rows came in.
	slices.SortFunc(s.entries, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
	return s, errors.Join(errs...)
}

// Len is the number of silences in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// Match returns the ID of the silence that holds a back at time at, or ""
// when none does. A silence bound to an msp matches only that msp's
// alerts. It does not allocate.
func (s *Set) Match(a *record.Alert, at time.Time) (silenceID string) {
	if s == nil || len(s.entries) == 0 {
		return ""
	}
	t := at.UnixNano()
next:
	for i := range s.entries {
		e := &s.entries[i]
		if t < e.starts || t >= e.ends || (e.msp != "" && e.msp != a.MSP) {
			continue
		}
		for j := range e.matchers {
			if !e.matchers[j].Matches(a) {
				continue next
			}
		}
		return e.id
	}
	return ""
}

func cost(m *Matcher) int {
	if m.re != nil {
		return 1
	}
	return 0
}
