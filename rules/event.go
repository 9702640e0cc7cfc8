package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
)

// OfflineEvent is one input event of offline evaluation (rules eval, rule
// tests): a contract event when it is one, arbitrary JSON otherwise.
type OfflineEvent struct {
	Source fields.Source
	// ID is the event's event_id (derived for contract events), if any.
	ID string
	// Time is the event's time text, if any.
	Time string
	// Contract is set when the input was a valid contract event.
	Contract *contract.Event
	// ContractErr says why an input that declares a contract event_type was
	// not accepted as one (it is then evaluated as arbitrary JSON).
	ContractErr error
	// Matched is, when ReadEvents was asked to match, the plain rules the
	// event matched (engine.RuleSet.Match).
	Matched []*engine.Rule
}

// ParseOfflineEvent decodes one JSON object. An object whose event_type is a
// contract event type is decoded and normalised through the contract, so
// MSP rules see it exactly as the detector would; anything else is evaluated
// as arbitrary JSON with the given logsource (zero: seen by all rules).
func ParseOfflineEvent(dec *contract.Decoder, raw []byte, ls fields.Logsource) (OfflineEvent, error) {
	var src fields.Source
	if fe, ok := decodeFlat(raw, ls); ok {
		src = fe
	} else {
		doc, err := decodeObject(raw)
		if err != nil {
			return OfflineEvent{}, err
		}
		src = fields.Map{Doc: doc, Source: ls}
	}
	if et := src.Lookup("event_type"); et.Kind == fields.String && contract.FamilyOf(et.Str) != contract.FamilyUnknown {
		ev, err := dec.Decode(raw)
		if err == nil {
			return OfflineEvent{Source: &ev, ID: ev.EventID, Time: ev.TimeText(), Contract: &ev}, nil
		}
		out := plainEvent(src)
		out.ContractErr = err
		return out, nil
	}
	return plainEvent(src), nil
}

// decodeObject decodes any JSON object as encoding/json does.
func decodeObject(raw []byte) (map[string]any, error) {
	// Decoded into an interface, not a map: encoding/json then builds the
	// map directly instead of through reflection, twice as fast with the
	// same result.
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object: %s", jsonKind(v))
	}
	return doc, nil
}

// jsonKind names what a JSON value decoded into any is.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// plainEvent is an event of arbitrary JSON: its ID and time are string
// fields of the document, when it has them.
func plainEvent(src fields.Source) OfflineEvent {
	out := OfflineEvent{Source: src}
	if id := src.Lookup("event_id"); id.Kind == fields.String {
		out.ID = id.Str
	}
	for _, k := range []string{"time", "@timestamp", "timestamp", "UtcTime"} {
		if t := src.Lookup(k); t.Kind == fields.String {
			out.Time = t.Str
			break
		}
	}
	return out
}

// LineTooLongError is passed to ReadLines' callback for a line longer than
// the limit; the line is skipped, the ones after it are still read.
type LineTooLongError struct {
	Bytes int // the line's length, without its newline
	Max   int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line of %d bytes exceeds the %s limit", e.Bytes, sizeText(e.Max))
}

// sizeText writes n bytes as people write limits: "1 MiB", "64 KiB".
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

// ReadLines calls fn for every line of r (JSONL events, say), numbered from
// 1, without its line ending ("\n" or "\r\n"). A line longer than limit bytes
// is not held in memory: fn gets its number, a nil raw and a
// *LineTooLongError, and reading goes on with the next line — unlike
// bufio.Scanner, which gives up on the whole input at the first long line.
// raw is only valid during the call. An error fn returns stops reading and
// is returned as is; a read error is returned with the line it happened on.
func ReadLines(r io.Reader, limit int, fn func(line int, raw []byte, err error) error) error {
	br := bufio.NewReaderSize(r, min(limit+2, 64<<10))
	var buf []byte
	for line := 1; ; line++ {
		buf = buf[:0]
		n, long := 0, false // n: the line's bytes, line ending included
		var tail [2]byte    // the line's last two bytes
		var rerr error
		for {
			chunk, err := br.ReadSlice('\n')
			n += len(chunk)
			for _, c := range chunk[max(0, len(chunk)-2):] {
				tail[0], tail[1] = tail[1], c
			}
			if !long {
				buf = append(buf, chunk...)
				// +2: the line ending may still be in buf.
				if len(buf) > limit+2 {
					long, buf = true, buf[:0]
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			rerr = err
			break
		}
		if n == 0 {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return fmt.Errorf("line %d: %w", line, rerr)
		}
		eol := 0
		if tail[1] == '\n' {
			eol = 1
			if n >= 2 && tail[0] == '\r' {
				eol = 2
			}
		}
		var ferr error
		if size := n - eol; long || size > limit {
			ferr = fn(line, nil, &LineTooLongError{Bytes: size, Max: limit})
		} else {
			ferr = fn(line, buf[:size], nil)
		}
		if ferr != nil {
			return ferr
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return fmt.Errorf("line %d: %w", line, rerr)
		}
	}
}
