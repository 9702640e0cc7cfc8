package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
)

// Headers with which a producer says what a raw message holds when it is
// not a contract v1 event (docs/sources.md): the source format (an adapt
// format name: ninjaone, screenconnect, teamviewer, entra-signin,
// m365-audit, datto-rmm, ocsf) and the msp whose records these are
// (vendor records do not name the MSP that forwards them).
const (
	HeaderFormat = "tripline-format"
	HeaderMSP    = "tripline-msp"
)

// FormatContract is the format of contract v1 events, the default.
const FormatContract = "contract-v1"

// TopicFormat says that every message of a raw topic is in one vendor
// format, for producers that cannot set headers (a vendor's webhook
// relayed as is). Headers on a message win over it.
type TopicFormat struct {
	Format string
	// MSP is the msp of the topic's records, when every record is one
	// MSP's (a per-MSP topic).
	MSP string
}

// ParseTopicFormat reads TOPIC=FORMAT or TOPIC=FORMAT:MSP (ingest's
// --topic-format); FORMAT is one of formats (nil: the built-in ones).
func ParseTopicFormat(s string, formats adapt.FormatSet) (topic string, tf TopicFormat, err error) {
	formats = formatsOr(formats)
	topic, rest, ok := strings.Cut(s, "=")
	if !ok || topic == "" || rest == "" {
		return "", TopicFormat{}, fmt.Errorf("topic format %q: want TOPIC=FORMAT or TOPIC=FORMAT:MSP", s)
	}
	tf.Format, tf.MSP, _ = strings.Cut(rest, ":")
	if _, known := formats.Get(tf.Format); !known && tf.Format != FormatContract {
		return "", TopicFormat{}, fmt.Errorf("topic format %q: unknown format %q (known: %s, %s)", s, tf.Format, FormatContract, strings.Join(formats.Names(), ", "))
	}
	return topic, tf, nil
}

// source is the format and msp of m: its headers, else its topic's
// configuration. An empty format is contract v1.
func (h *Handler) source(m *kafka.Message) (format, msp string) {
	tf := h.TopicFormats[m.Topic]
	format, msp = tf.Format, tf.MSP
	for _, hd := range m.Headers {
		switch hd.Key {
		case HeaderFormat:
			format = string(hd.Value)
		case HeaderMSP:
			msp = string(hd.Value)
		}
	}
	if format == FormatContract {
		format = ""
	}
	return format, msp
}

// prepareVendor converts m, a vendor record, page or array, with its
// format's adapter, and accepts each event it gives like a contract v1
// message. A record the adapter cannot convert is dead-lettered (the whole
// message, with the record's position and reason: nothing is lost); one
// it skips (a known type that carries nothing the contract describes) is
// counted.
func (h *Handler) prepareVendor(p *prepared, m *kafka.Message, format, msp string, dec *contract.Decoder, now func() time.Time) {
	formats := formatsOr(h.Formats)
	a, ok := formats.Get(format)
	if !ok {
		h.reject(p, m, &contract.RejectError{Reason: contract.ReasonUnknownFormat,
			Detail: fmt.Sprintf("%s %q is not a format this ingest reads (%s, %s)", HeaderFormat, format, FormatContract, strings.Join(formats.Names(), ", "))}, now)
		return
	}
	err := a.Convert(m.Value, msp, func(o adapt.Out) error {
		switch {
		case o.Err != nil:
			h.reject(p, m, &contract.RejectError{Reason: contract.ReasonUnmappedRecord,
				Detail: fmt.Sprintf("%s record %d: %v", format, o.Record, o.Err)}, now)
		case o.Event != nil:
			// The adapter's encoding is valid until this returns.
			raw, err := bytes.Clone(o.JSON), error(nil)
			if raw == nil {
				raw, err = adapt.Encode(o.Event)
			}
			if err != nil {
				h.reject(p, m, &contract.RejectError{Reason: contract.ReasonUnmappedRecord,
					Detail: fmt.Sprintf("%s record %d: %v", format, o.Record, err)}, now)
				return nil
			}
			h.accept(p, m, raw, msp, dec, now)
		default:
			if h.Hooks.Skipped != nil {
				h.Hooks.Skipped(format)
			}
		}
		return nil
	})
	if err != nil {
		// The value as a whole is not one the format reads (not JSON, not
		// a record, page or array).
		h.reject(p, m, &contract.RejectError{Reason: contract.ReasonMalformedJSON, Detail: fmt.Sprintf("%s: %v", format, err)}, now)
	}
}

// formatsOr is f, or the built-in formats when f is nil.
func formatsOr(f adapt.FormatSet) adapt.FormatSet {
	if f == nil {
		return (*adapt.Formats)(nil)
	}
	return f
}
