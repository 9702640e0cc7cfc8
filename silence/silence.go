package silence

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tripline/tripline/record"
)

// MaxDuration is the longest a silence may last: a forgotten silence must
// not hide a tenant for good.
const MaxDuration = 30 * 24 * time.Hour

// MaxReasonLen bounds the reason (and the author): they are shown in lists
// and stored forever.
const MaxReasonLen = 2000

// Validate checks a silence before it is stored: at least one matcher
// (each parsable, at most MaxMatchers), an end after the start and at most
// MaxDuration after it, an author and a reason. An ID is not required: the
// store assigns one.
func Validate(s *record.Silence) error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("at least one matcher is required (a silence of everything is not allowed)"))
	}
	if len(s.Matchers) > MaxMatchers {
		errs = append(errs, fmt.Errorf("%d matchers, at most %d", len(s.Matchers), MaxMatchers))
	} else {
		for _, raw := range s.Matchers {
			if _, err := Parse(raw); err != nil {
				errs = append(errs, err)
			}
		}
	}
	switch {
	case s.Starts.IsZero():
		errs = append(errs, errors.New("a start time is required"))
	case s.Ends.IsZero():
		errs = append(errs, errors.New("an end time is required"))
	case !s.Ends.After(s.Starts):
		errs = append(errs, fmt.Errorf("end %s is not after start %s", s.Ends.UTC().Format(time.RFC3339), s.Starts.UTC().Format(time.RFC3339)))
	case s.Ends.Sub(s.Starts) > MaxDuration:
		errs = append(errs, fmt.Errorf("lasts %s, at most %s (30 days)", s.Ends.Sub(s.Starts).Round(time.Minute), MaxDuration))
	}
	errs = append(errs, text("author", s.Author), text("reason", s.Reason))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid silence: %w", err)
	}
	return nil
}

func text(name, v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return fmt.Errorf("%s is required", name)
	case len(v) > MaxReasonLen:
		return fmt.Errorf("%s is %d bytes, at most %d", name, len(v), MaxReasonLen)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	return nil
}

// Active reports whether s holds alerts back at t: Starts ≤ t < Ends.
func Active(s *record.Silence, t time.Time) bool {
	return !t.Before(s.Starts) && t.Before(s.Ends)
}
