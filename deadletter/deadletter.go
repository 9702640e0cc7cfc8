// Package deadletter defines the dead-letter message: the rejected message
// byte for byte (key, value and its own headers), plus headers that say why
// it was rejected and where it came from, so an operator can fix and replay
// it. Nothing the pipeline cannot process is dropped silently.
package deadletter

import (
	"errors"
	"strconv"
	"time"

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
)

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
		kafka.Header{Key: HeaderError, Value: []byte(err.Error())},
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
