package adapt

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/tripline/tripline/contract"
)

// MaxLineBytes bounds one input line of Stream (an API page can be large).
const MaxLineBytes = 64 << 20

// Stream converts JSON lines: every non-blank line is one input value for
// a. fn sees every result with its 1-based line number, in input order; a
// line that cannot be read as a whole is an Out with Record -1 and Err.
// Every Event fn sees has been encoded (Line.JSON) and decoded by the
// contract decoder, so it is exactly what ingest would accept.
func Stream(a Adapter, in io.Reader, msp string, fn func(Line) error) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	var dec contract.Decoder
	var buf []byte
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		line := n
		err := a.Convert(b, msp, func(o Out) error {
			l := Line{Line: line, Out: o}
			if o.Event != nil {
				doc, err := o.JSON, error(nil)
				if doc == nil {
					doc, err = AppendEncode(buf[:0], o.Event)
					buf = doc
				}
				if err == nil {
					_, err = dec.Decode(doc)
				}
				if err != nil {
					l.Out = Out{Record: o.Record, Err: &Error{ID: o.Event.EventID, Reason: "contract: " + err.Error()}}
				} else {
					l.JSON = doc
				}
			}
			return fn(l)
		})
		if err != nil {
			if e := fn(Line{Line: line, Out: Out{Record: -1, Err: err}}); e != nil {
				return e
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}

// Line is one result of Stream. Its JSON (Out's) is the event's contract
// v1 encoding (when Event is set), valid until fn returns.
type Line struct {
	Line int
	Out
}

// String describes a skip or an error: "line 3: record 2: skipped: …".
func (l Line) String() string {
	where := fmt.Sprintf("line %d", l.Line)
	if l.Record >= 0 {
		where += fmt.Sprintf(": record %d", l.Record)
	}
	switch {
	case l.Err != nil:
		return where + ": " + l.Err.Error()
	case l.Skip != "":
		return where + ": skipped: " + l.Skip
	}
	return where + ": " + string(l.JSON)
}
