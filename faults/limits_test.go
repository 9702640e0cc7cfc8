package faults

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/kafkaio"
)

// bigSession is a valid session.start of exactly size bytes (its
// attributes.blob pads it), unique by n. No rule of testdata/rules matches
// a session.start, so it adds no expected detection.
func bigSession(n, size int) []byte {
	head := fmt.Sprintf(`{"event_type":"session.start","time":"%s","msp":"msp-big","tenant":"t-big","tool":"ninjaone","actor":{"user":"big-%d"},"attributes":{"blob":"`,
		time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339), n)
	return []byte(head + strings.Repeat("A", size-len(head)-3) + `"}}`)
}

// bigInvalid is a session.start of exactly size bytes without a tenant.
func bigInvalid(n, size int) []byte {
	head := fmt.Sprintf(`{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"bad-%d"},"attributes":{"blob":"`, n)
	return []byte(head + strings.Repeat("B", size-len(head)-3) + `"}}`)
}

// manyAttributeKeys is a session.start with n attribute keys (50,000 keys
// are 639 KB).
func manyAttributeKeys(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"keys"},"attributes":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"key-%05d":"v"`, i)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// sizeMessages are the messages around the limits that
// TestPoisonMessages puts between valid ones: valid ones ingest must
// store and forward, invalid ones it must dead-letter (reduced when too
// big for tripline.dlq), none of which may stop it.
func (e *env) sizeMessages(ds *dataset) []kafka.Message {
	e.t.Helper()
	var out []kafka.Message
	var dec contract.Decoder
	for i, size := range []int{511 << 10, 600 << 10, contract.MaxMessageBytes} {
		v := bigSession(i, size)
		ev, err := dec.Decode(v)
		if err != nil {
			e.t.Fatalf("big valid event of %d bytes rejected: %v", size, err)
		}
		if m := e.matcher.Match(&ev, nil); len(m) > 0 {
			e.t.Fatalf("big valid event matches %s: it would need expected detections", m[0].Identity())
		}
		ds.valid[ev.EventID] = true
		out = append(out, kafka.Message{Topic: kafkaio.TopicRemoteSessions, Key: []byte("msp-big"), Value: v})
	}
	invalid := []struct {
		value  []byte
		reason contract.Reason
	}{
		{bigInvalid(0, 511<<10), contract.ReasonMissingField},
		{bigInvalid(1, 600<<10), contract.ReasonMissingField},
		{bigInvalid(2, contract.MaxMessageBytes), contract.ReasonMissingField},
		{bigSession(3, contract.MaxMessageBytes+1), contract.ReasonOversize},
		// About the largest message the raw topic accepts: with dead-letter
		// headers it is too big for tripline.dlq, so it is reduced.
		{bigSession(4, kafkaio.WriterBatchBytes(kafkaio.TopicMaxMessageBytes)-100), contract.ReasonOversize},
		{manyAttributeKeys(50000), contract.ReasonLimitExceeded},
		// Otherwise valid, but names msp twice.
		{[]byte(`{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"msp-a","msp":"msp-b","tenant":"t","tool":"x","actor":{"user":"dup"}}`), contract.ReasonDuplicateKey},
	}
	for i, m := range invalid {
		ds.invalid[string(m.value)] = m.reason
		out = append(out, kafka.Message{Topic: rawTopics[i%2], Key: []byte("bad-big"), Value: m.value})
	}
	return out
}

// deadLetterValue is the original value a dead letter stands for: its
// value, or for a reduced one (too big for tripline.dlq) the invalid
// message with its SHA-256 and size.
func deadLetterValue(m kafka.Message, invalid map[string]contract.Reason) (string, bool) {
	if deadletter.Header(m, deadletter.HeaderReduced) != "true" {
		_, ok := invalid[string(m.Value)]
		return string(m.Value), ok
	}
	want := deadletter.Header(m, deadletter.HeaderOriginalSHA256)
	for v := range invalid {
		if sum := sha256.Sum256([]byte(v)); hex.EncodeToString(sum[:]) == want && strings.HasPrefix(v, string(m.Value)) &&
			deadletter.Header(m, deadletter.HeaderOriginalBytes) == fmt.Sprint(len(v)) {
			return v, true
		}
	}
	return "", false
}

// producer writes messages up to the pipeline topics' max.message.bytes.
func (e *env) producer() *kafka.Writer {
	return e.kafka.NewWriterLimit(kafkaio.WriterBatchBytes(kafkaio.TopicMaxMessageBytes))
}
