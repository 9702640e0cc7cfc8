package receive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/tripline/tripline/adapt"
)

// FormatContract is the format name of contract v1 JSON lines.
const FormatContract = "contract-v1"

// reqError is a request the receiver refuses, with the status and the
// reason the caller is told.
type reqError struct {
	status int
	code   string
	reason string
}

func (e *reqError) Error() string { return e.reason }

func badRequest(code, format string, args ...any) *reqError {
	return &reqError{status: http.StatusBadRequest, code: code, reason: fmt.Sprintf(format, args...)}
}

func tooLarge(code, format string, args ...any) *reqError {
	return &reqError{status: http.StatusRequestEntityTooLarge, code: code, reason: fmt.Sprintf(format, args...)}
}

// knownFormat reports whether format is one ingest reads.
func knownFormat(format string) bool {
	if format == FormatContract {
		return true
	}
	_, ok := adapt.Get(format)
	return ok
}

// known reports whether format is one this receiver's ingest reads (its
// Config.Formats).
func (s *Server) known(format string) bool {
	if format == FormatContract {
		return true
	}
	return s.adapter(format) != nil
}

// adapter is the adapter of a vendor format this receiver's ingest reads,
// nil for contract v1 or an unknown format: the receiver does not
// convert, it asks the adapter where a page holds its records.
func (s *Server) adapter(format string) adapt.Adapter {
	var a adapt.Adapter
	if s.cfg.Formats == nil {
		a, _ = adapt.Get(format)
	} else {
		a, _ = s.cfg.Formats.Get(format)
	}
	return a
}

// formats lists the formats this receiver accepts.
func (s *Server) formats() []string {
	if s.cfg.Formats == nil {
		return Formats()
	}
	return append([]string{FormatContract}, s.cfg.Formats.Names()...)
}

// Formats lists the built-in formats the receiver accepts.
func Formats() []string {
	return append([]string{FormatContract}, adapt.Names()...)
}

// limits bound one request's split.
type limits struct {
	// value is the largest message value that fits the topic once key
	// and headers are counted.
	value int
	// records is the most records one request may hold.
	records int
}

// split turns a request body into the values of the Kafka messages that
// carry it, and counts its records. It only checks what it must to be
// faithful: that the body is the JSON shape the format's reader takes,
// and for contract v1 that every event names the token's msp. It does not
// convert: ingest does, so nothing is decoded twice in anger.
//
// A vendor body that fits one message is sent as it is (the adapter reads
// an object, array or page as one value). Its records are counted as the
// format's adapter will read them (adapt.Records): an array's elements, a
// page's records under the format's page key, and any other object as one
// record, whatever arrays it holds (an Entra sign-in's
// authenticationDetails). A top-level array too large for one message is
// cut into arrays that fit, in order; a page too large is refused (cutting
// it would drop the members around its records). Contract v1 is one event
// per line and per message, as ingest reads it. a is the format's adapter
// (nil for contract v1).
func split(format string, a adapt.Adapter, body []byte, msp string, lim limits) (values [][]byte, records int, rerr *reqError) {
	if !utf8.Valid(body) {
		return nil, 0, badRequest("not_utf8", "the body is not valid UTF-8")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, 0, badRequest("empty_body", "the body is empty")
	}
	if format == FormatContract {
		return splitLines(body, msp, lim)
	}
	switch body[0] {
	case '[':
		elems, err := arrayElems(body)
		if err != nil {
			return nil, 0, badRequest("malformed_json", "the body is not a JSON array: %v", err)
		}
		if len(elems) > lim.records {
			return nil, 0, tooLarge("too_many_records", "%d records: at most %d per request", len(elems), lim.records)
		}
		if len(elems) == 0 {
			return nil, 0, badRequest("empty_body", "the array holds no records")
		}
		if len(body) <= lim.value {
			return [][]byte{body}, len(elems), nil
		}
		values, rerr := packArrays(elems, lim.value)
		return values, len(elems), rerr
	case '{':
		// A vendor body of a known shape that is not valid JSON (a
		// ScreenConnect trigger's unescaped values) is written repaired,
		// so that what reads the topic reads valid JSON.
		readable, records, err := adapt.Readable(a, body)
		body = readable
		if err != nil {
			return nil, 0, badRequest("malformed_json", "the body is %v", err)
		}
		if records == 0 {
			return nil, 0, badRequest("empty_body", "the page holds no records")
		}
		if records > lim.records {
			return nil, 0, tooLarge("too_many_records", "%d records: at most %d per request", records, lim.records)
		}
		if len(body) > lim.value {
			return nil, 0, tooLarge("message_too_large", "the object is %d bytes, over the %d a Kafka message may hold: post its records as a JSON array, or fewer per request", len(body), lim.value)
		}
		return [][]byte{body}, records, nil
	default:
		return nil, 0, badRequest("malformed_json", "the body is neither a JSON object nor an array")
	}
}

// splitLines reads contract v1 JSON lines: one event each, each naming
// msp.
func splitLines(body []byte, msp string, lim limits) ([][]byte, int, *reqError) {
	var values [][]byte
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(values) == lim.records {
			return nil, 0, tooLarge("too_many_records", "more than %d events: at most %d per request", lim.records, lim.records)
		}
		if len(line) > lim.value {
			return nil, 0, tooLarge("message_too_large", "line %d: %d bytes, over the %d a Kafka message may hold", n, len(line), lim.value)
		}
		// Members by their exact key, as the contract decoder reads them
		// (a struct would match "MSP" or "Msp" too, case-insensitively,
		// and let {"msp":"other","Msp":"mine"} through).
		var ev map[string]json.RawMessage
		if line[0] != '{' {
			return nil, 0, badRequest("malformed_json", "line %d: not a JSON object", n)
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, 0, badRequest("malformed_json", "line %d: not a JSON object: %v", n, err)
		}
		// The token says whose events these are; an event may repeat it but
		// never name another MSP. (A key given twice is the contract
		// decoder's duplicate_key reject in ingest.)
		var got string
		if raw, ok := ev["msp"]; !ok || json.Unmarshal(raw, &got) != nil || got != msp {
			return nil, 0, &reqError{status: http.StatusForbidden, code: "wrong_msp",
				reason: fmt.Sprintf("line %d: msp must be the token's (%s)", n, msp)}
		}
		values = append(values, line)
	}
	if len(values) == 0 {
		return nil, 0, badRequest("empty_body", "the body holds no events")
	}
	return values, len(values), nil
}

// arrayElems returns the elements of a JSON array, validating it.
func arrayElems(raw []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("not an array")
	}
	var out []json.RawMessage
	for dec.More() {
		var e json.RawMessage
		if err := dec.Decode(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the array")
	}
	return out, nil
}

// packArrays cuts elems into JSON arrays of at most limit bytes each, in
// order. An element that does not fit alone is refused.
func packArrays(elems []json.RawMessage, limit int) ([][]byte, *reqError) {
	var out [][]byte
	var cur []byte
	for i, e := range elems {
		if len(e)+2 > limit {
			return nil, tooLarge("message_too_large", "record %d is %d bytes, over the %d a Kafka message may hold", i, len(e), limit)
		}
		if len(cur) > 0 && len(cur)+1+len(e)+1 > limit {
			out = append(out, append(cur, ']'))
			cur = nil
		}
		if len(cur) == 0 {
			cur = append(make([]byte, 0, min(limit, 64<<10)), '[')
		} else {
			cur = append(cur, ',')
		}
		cur = append(cur, e...)
	}
	if len(cur) > 0 {
		out = append(out, append(cur, ']'))
	}
	return out, nil
}
