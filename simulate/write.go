package simulate

import (
	"bufio"
	"context"
	"io"
	"time"
)

// WriteJSONL writes the messages of next (a Generator's Next, or one
// wrapped by Pace or InEventTime) to w, one JSON object per line, until next
// returns false or ctx is done (then with ctx's error). live writes each
// line through as it comes, for a feed that is read as it is written. It
// returns how many messages it wrote.
func WriteJSONL(ctx context.Context, w io.Writer, next func() (Message, bool), live bool) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	n := 0
	for {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				bw.Flush()
				return n, err
			}
		}
		m, ok := next()
		if !ok {
			break
		}
		bw.Write(m.Value)
		if err := bw.WriteByte('\n'); err != nil {
			return n, err
		}
		n++
		if live {
			if err := bw.Flush(); err != nil {
				return n, err
			}
		}
	}
	return n, bw.Flush()
}

// Pace wraps next so that it returns about ratePerSec messages per second of
// wall-clock time (event times are unaffected). It returns false when next
// does or when ctx is done; a ratePerSec <= 0 returns next unchanged.
//
// Bursts are not caught up: if the caller falls behind by more than a
// second, pacing restarts from the current time.
func Pace(ctx context.Context, ratePerSec float64, next func() (Message, bool)) func() (Message, bool) {
	if ratePerSec <= 0 {
		return next
	}
	interval := time.Duration(float64(time.Second) / ratePerSec)
	var due time.Time
	var timer *time.Timer
	return func() (Message, bool) {
		if ctx.Err() != nil {
			return Message{}, false
		}
		now := time.Now()
		if due.IsZero() || now.Sub(due) > time.Second {
			due = now
		}
		if wait := due.Sub(now); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return Message{}, false
			}
		}
		due = due.Add(interval)
		return next()
	}
}

// InEventTime wraps next so that it holds each message until the wall
// clock reaches its event time: a continuous feed never runs into the
// future (ingest rejects events more than 24 h ahead). It returns false
// when next does or when ctx is done.
func InEventTime(ctx context.Context, next func() (Message, bool)) func() (Message, bool) {
	return func() (Message, bool) {
		m, ok := next()
		if !ok {
			return m, false
		}
		if wait := time.Until(m.Time); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return Message{}, false
			}
		}
		return m, true
	}
}
