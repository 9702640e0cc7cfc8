package rules

import (
	"bytes"
	"context"
	"io"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/fields"
)

// eventBatch is how many decoded events ReadEvents hands over at a time:
// enough that the hand-off costs little per event, few enough that the
// events a batch holds stay in cache until they are evaluated.
const eventBatch = 256

// readEvent is one non-blank input line, decoded.
type readEvent struct {
	line int
	ev   OfflineEvent
	err  error
}

// ReadEvents reads JSON-lines events from r and calls fn for each, in input
// order, as ReadLines and ParseOfflineEvent would, except that reading and
// decoding run on a goroutine of their own, a few batches ahead of fn: on
// more than one core, decoding overlaps what fn does with the event
// (matching it). Blank lines are skipped. A line that cannot be read (over
// limit) or decoded reaches fn with a nil event and the error, and reading
// goes on. An error from fn stops reading and is returned as is; a read
// error is returned with its line; so is ctx's error when ctx ends first.
// fn runs on the caller's goroutine, and the decoding goroutine has
// returned when ReadEvents does.
func ReadEvents(ctx context.Context, r io.Reader, limit int, ls fields.Logsource, fn func(line int, ev *OfflineEvent, err error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Full batches go to fn's side; emptied ones come back to be reused,
	// so the steady state allocates no batches.
	full := make(chan []readEvent, 4)
	empty := make(chan []readEvent, 6)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		defer close(full)
		var dec contract.Decoder
		cur := make([]readEvent, 0, eventBatch)
		send := func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			select {
			case full <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case cur = <-empty:
			default:
				cur = make([]readEvent, 0, eventBatch)
			}
			return nil
		}
		readErr = ReadLines(r, limit, func(n int, raw []byte, err error) error {
			if err == nil && len(bytes.TrimSpace(raw)) == 0 {
				return nil
			}
			e := readEvent{line: n, err: err}
			if err == nil {
				e.ev, e.err = ParseOfflineEvent(&dec, raw, ls)
			}
			cur = append(cur, e)
			if len(cur) == eventBatch {
				return send()
			}
			return nil
		})
		if readErr == nil && len(cur) > 0 {
			readErr = send()
		}
	}()
	var err error
	for b := range full {
		if err == nil {
			err = ctx.Err()
		}
		for i := range b {
			if err == nil {
				var ev *OfflineEvent
				if b[i].err == nil {
					ev = &b[i].ev
				}
				err = fn(b[i].line, ev, b[i].err)
			}
			b[i] = readEvent{} // the batch is reused: let fn's events go
		}
		if err != nil {
			// Stop the reader; it drops what it holds and returns.
			cancel()
			continue
		}
		select {
		case empty <- b[:0]:
		default:
		}
	}
	<-done
	if err != nil {
		return err
	}
	return readErr
}
