package contract

import "fmt"

// Reason names why a message was rejected. Reasons are stable strings: they
// are dead-letter headers and metric labels.
type Reason string

const (
	ReasonOversize         Reason = "oversize"
	ReasonInvalidUTF8      Reason = "invalid_utf8"
	ReasonMalformedJSON    Reason = "malformed_json"
	ReasonWrongType        Reason = "wrong_type"
	ReasonMissingField     Reason = "missing_field"
	ReasonUnknownEventType Reason = "unknown_event_type"
	ReasonTimeOutOfRange   Reason = "time_out_of_range"
	ReasonInvalidValue     Reason = "invalid_value"
	// ReasonDuplicateKey: one JSON object names a key twice. Decoders
	// disagree on which one wins, so the message means different things to
	// different readers.
	ReasonDuplicateKey Reason = "duplicate_key"
	// ReasonLimitExceeded: a documented limit other than the message size
	// (identifier length, attribute count, nesting depth; docs/limits.md).
	ReasonLimitExceeded Reason = "limit_exceeded"
	// ReasonUnknownFormat: the message names a source format (the
	// tripline-format header, or ingest's --topic-format) that this build
	// has no adapter for.
	ReasonUnknownFormat Reason = "unknown_format"
	// ReasonUnmappedRecord: a vendor record its format's adapter cannot
	// convert (an unknown vendor type, a missing field; docs/sources.md).
	ReasonUnmappedRecord Reason = "unmapped_record"
)

// Reasons lists every rejection reason, for metrics and documentation.
var Reasons = []Reason{
	ReasonOversize, ReasonInvalidUTF8, ReasonMalformedJSON, ReasonWrongType,
	ReasonMissingField, ReasonUnknownEventType, ReasonTimeOutOfRange, ReasonInvalidValue,
	ReasonDuplicateKey, ReasonLimitExceeded,
}

// SourceReasons are the reasons ingest gives a message in a vendor format
// (docs/sources.md) before any contract event exists: the decoder never
// returns them.
var SourceReasons = []Reason{ReasonUnknownFormat, ReasonUnmappedRecord}

// RejectError is a contract violation: the message cannot become an Event.
type RejectError struct {
	Reason Reason
	// Field is the offending field's dotted path, when there is one.
	Field  string
	Detail string
}

func (e *RejectError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Reason, e.Field, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
}

func reject(r Reason, field, format string, args ...any) *RejectError {
	return &RejectError{Reason: r, Field: field, Detail: fmt.Sprintf(format, args...)}
}
