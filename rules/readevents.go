package rules

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
)

// eventBatch is how many input lines ReadEvents hands over at a time:
// enough that the hand-offs cost little per event, few enough that a
// batch's events stay in cache until they are evaluated.
const eventBatch = 256

// ReadConfig says how ReadEvents reads and prepares events.
type ReadConfig struct {
	// Limit is the longest line accepted (ReadLines); 0 means
	// contract.MaxMessageBytes.
	Limit int
	// Logsource is given to events that are not contract events
	// (ParseOfflineEvent).
	Logsource fields.Logsource
	// Prepare, when set, is called with every decoded event on the
	// decoding goroutines, before matching (registry enrichment, say);
	// it must be safe for concurrent use.
	Prepare func(*OfflineEvent)
	// Match, when set, matches every event against these rules on the
	// decoding goroutines: OfflineEvent.Matched.
	Match *engine.RuleSet
}

// readEvent is one non-blank input line, decoded.
type readEvent struct {
	line int
	ev   OfflineEvent
	err  error
}

// batch is a run of consecutive input lines, decoded by one worker.
type batch struct {
	raw     []byte // the lines' bytes, back to back
	ends    []int  // where each line ends in raw
	events  []readEvent
	matched []*engine.Rule // every event's matches, back to back
	ready   chan struct{}  // a worker has decoded the batch
}

// ReadEvents reads JSON-lines events from r and calls fn for each, in input
// order, as ReadLines and ParseOfflineEvent would, except that decoding
// (and matching, with cfg.Match) runs on GOMAXPROCS goroutines a few
// batches ahead of fn, so that it overlaps what fn does and uses every
// core. Blank lines are skipped. A line that cannot be read (over the
// limit) or decoded reaches fn with a nil event and the error, and reading
// goes on. The event, and its Matched, are valid during the call only.
// An error from fn stops reading and is returned as is; a read error is
// returned with its line; so is ctx's error when ctx ends first. fn runs
// on the caller's goroutine, and every goroutine ReadEvents started has
// returned when it does.
func ReadEvents(ctx context.Context, r io.Reader, cfg ReadConfig, fn func(line int, ev *OfflineEvent, err error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Limit <= 0 {
		cfg.Limit = contract.MaxMessageBytes
	}
	workers := runtime.GOMAXPROCS(0)
	// Batches reach the workers through work and fn's side through
	// ordered, in input order; a batch is put in ordered only once a
	// worker has it, so every batch fn's side waits for will be ready.
	// Emptied batches come back through free: the steady state allocates
	// none.
	work := make(chan *batch)
	ordered := make(chan *batch, 2*workers)
	free := make(chan *batch, 3*workers+1)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decodeBatches(work, cfg)
		}()
	}
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		readErr = readBatches(ctx, r, cfg.Limit, work, ordered, free)
	}()
	defer wg.Wait()
	var err error
	for b := range ordered {
		<-b.ready
		if err == nil {
			err = ctx.Err()
		}
		for i := range b.events {
			e := &b.events[i]
			if err == nil {
				var ev *OfflineEvent
				if e.err == nil {
					ev = &e.ev
				}
				err = fn(e.line, ev, e.err)
			}
			*e = readEvent{} // the batch is reused: let fn's events go
		}
		if err != nil {
			// Stop the reader; what is already queued is drained.
			cancel()
			continue
		}
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	if err != nil {
		return err
	}
	return readErr
}

// readBatches cuts r into batches of lines and hands each to a worker and
// then to the ordered queue.
func readBatches(ctx context.Context, r io.Reader, limit int, work, ordered, free chan *batch) error {
	b := newBatch(free)
	send := func() error {
		select {
		case work <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case ordered <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = newBatch(free)
		return nil
	}
	err := ReadLines(r, limit, func(n int, raw []byte, err error) error {
		if err == nil && len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		b.raw = append(b.raw, raw...)
		b.ends = append(b.ends, len(b.raw))
		b.events = append(b.events, readEvent{line: n, err: err})
		if len(b.events) == eventBatch {
			return send()
		}
		return nil
	})
	if err == nil && len(b.events) > 0 {
		err = send()
	}
	return err
}

func newBatch(free chan *batch) *batch {
	select {
	case b := <-free:
		b.raw, b.ends, b.events, b.matched = b.raw[:0], b.ends[:0], b.events[:0], b.matched[:0]
		return b
	default:
		return &batch{ready: make(chan struct{}, 1)}
	}
}

// decodeBatches decodes (and matches) the batches of work until it is
// closed.
func decodeBatches(work chan *batch, cfg ReadConfig) {
	var dec contract.Decoder
	var m *engine.Matcher
	if cfg.Match != nil {
		m = cfg.Match.NewMatcher()
	}
	for b := range work {
		start := 0
		for i := range b.events {
			e := &b.events[i]
			raw := b.raw[start:b.ends[i]]
			start = b.ends[i]
			if e.err != nil {
				continue
			}
			e.ev, e.err = ParseOfflineEvent(&dec, raw, cfg.Logsource)
			if e.err != nil {
				continue
			}
			if cfg.Prepare != nil {
				cfg.Prepare(&e.ev)
			}
			if m == nil {
				continue
			}
			from := len(b.matched)
			b.matched = m.Match(e.ev.Source, b.matched)
			e.ev.Matched = b.matched[from:len(b.matched):len(b.matched)]
		}
		b.ready <- struct{}{}
	}
}
