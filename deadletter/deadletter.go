// Package deadletter defines the dead-letter message: the rejected message
// byte for byte (key, value and its own headers), plus headers that say why
// it was rejected and where it came from, so an operator can fix and replay
// it. Nothing the pipeline cannot process is dropped silently.
package deadletter

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
)

// Headers added to a dead letter. Values are UTF-8 text.
const (
	HeaderReason          = "tripline-reason"
	HeaderError           = "tripline-error"
	HeaderSourceTopic     = "tripline-source-topic"
	HeaderSourcePartition = "tripline-source-partition"
	HeaderSourceOffset    = "tripline-source-offset"
	HeaderRejectedAt      = "tripline-rejected-at"

	// Headers of a reduced dead letter (see Fit): the original was too big
	// for the dead-letter topic, so the value is only its first bytes.
	HeaderReduced        = "tripline-reduced"
	HeaderOriginalBytes  = "tripline-original-bytes"
	HeaderOriginalSHA256 = "tripline-original-sha256"
	// The original's own headers and an over-long key are dropped from a
	// reduced dead letter; these say how many bytes they had.
	HeaderOriginalHeaderBytes = "tripline-original-header-bytes"
	HeaderOriginalKeyBytes    = "tripline-original-key-bytes"
)

// maxReducedKeyBytes is the longest key a reduced dead letter keeps.
const maxReducedKeyBytes = 1024

// MaxErrorBytes caps the tripline-error header: an error may quote input,
// and a header is no place for a megabyte.
const MaxErrorBytes = 1024

// MaxPrefixBytes caps the value prefix a reduced dead letter keeps: enough
// to recognise the message and its producer, small enough for any topic.
const MaxPrefixBytes = 64 << 10

// Reason returns the rejection reason of err: the contract's reason for a
// *contract.RejectError, malformed_json otherwise.
func Reason(err error) contract.Reason {
	var rej *contract.RejectError
	if errors.As(err, &rej) {
		return rej.Reason
	}
	return contract.ReasonMalformedJSON
}

// New wraps the rejected message m for topic.
func New(topic string, m *kafka.Message, err error, at time.Time) kafka.Message {
	headers := make([]kafka.Header, 0, len(m.Headers)+6)
	headers = append(headers, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: HeaderReason, Value: []byte(Reason(err))},
		kafka.Header{Key: HeaderError, Value: []byte(truncate(err.Error(), MaxErrorBytes))},
		kafka.Header{Key: HeaderSourceTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		kafka.Header{Key: HeaderRejectedAt, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
	)
	return kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers}
}

// Header returns the last value of header key on m ("" when absent). The
// last one wins so that a dead letter re-submitted and rejected again reports
// its newest reason.
func Header(m kafka.Message, key string) string {
	v := ""
	for _, h := range m.Headers {
		if h.Key == key {
			v = string(h.Value)
		}
	}
	return v
}

// Size is what kafka-go counts for m against a writer's BatchBytes (its
// Message.totalSize, which is unexported): key, value, headers and a
// record's fixed fields. Writers refuse a single message above BatchBytes.
func Size(m *kafka.Message) int {
	n := 4 + 1 + 1 + 8 + 4 + len(m.Key) + 4 + len(m.Value) // size(), timestamp included
	n += varintLen(int64(len(m.Headers)))
	for _, h := range m.Headers {
		n += varintLen(int64(len(h.Key))) + len(h.Key) + varintLen(int64(len(h.Value))) + len(h.Value)
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63) // zig-zag, as Kafka records encode lengths
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// Fit returns dl unchanged when it is at most limit bytes (Size), or else
// its reduced form: the same reason, error and source headers, plus
// tripline-reduced, the original value's size and SHA-256, and as much of
// the value's beginning as fits (at most MaxPrefixBytes). The original's
// own headers and an oversized key are dropped (their sizes are noted). A
// message too big for the dead-letter topic is thereby never lost silently:
// its coordinates, hash and prefix identify it in the source topic.
func Fit(dl kafka.Message, limit int) kafka.Message {
	if Size(&dl) <= limit {
		return dl
	}
	ours := map[string]bool{HeaderReason: true, HeaderError: true, HeaderSourceTopic: true,
		HeaderSourcePartition: true, HeaderSourceOffset: true, HeaderRejectedAt: true}
	var headers []kafka.Header
	origHeaderBytes := 0
	for _, h := range dl.Headers {
		if ours[h.Key] {
			headers = append(headers, h)
		} else {
			origHeaderBytes += len(h.Key) + len(h.Value)
		}
	}
	sum := sha256.Sum256(dl.Value)
	headers = append(headers,
		kafka.Header{Key: HeaderReduced, Value: []byte("true")},
		kafka.Header{Key: HeaderOriginalBytes, Value: strconv.AppendInt(nil, int64(len(dl.Value)), 10)},
		kafka.Header{Key: HeaderOriginalSHA256, Value: []byte(hex.EncodeToString(sum[:]))},
	)
	if origHeaderBytes > 0 {
		headers = append(headers, kafka.Header{Key: HeaderOriginalHeaderBytes, Value: strconv.AppendInt(nil, int64(origHeaderBytes), 10)})
	}
	key := dl.Key
	if len(key) > maxReducedKeyBytes {
		headers = append(headers, kafka.Header{Key: HeaderOriginalKeyBytes, Value: strconv.AppendInt(nil, int64(len(key)), 10)})
		key = key[:maxReducedKeyBytes]
	}
	out := kafka.Message{Topic: dl.Topic, Key: key, Headers: headers}
	room := min(limit-Size(&out), MaxPrefixBytes, len(dl.Value))
	if room > 0 {
		out.Value = dl.Value[:room]
	}
	return out
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…(truncated)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
