package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store/storetest"
)

// sessionWithBlob is a valid session.start whose attributes.blob makes the
// message size bytes long.
func sessionWithBlob(i, size int) []byte {
	head := fmt.Sprintf(`{"event_type":"session.start","time":"2026-11-20T10:00:%02dZ","msp":"msp-big","tenant":"t","tool":"ninjaone","actor":{"user":"u%d"},"attributes":{"blob":"`, i%60, i)
	return []byte(head + strings.Repeat("A", size-len(head)-3) + `"}}`)
}

// invalidWithBlob is a message of size bytes without a tenant.
func invalidWithBlob(i, size int) []byte {
	head := fmt.Sprintf(`{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","n":%d,"tool":"x","actor":{"user":"u"},"attributes":{"blob":"`, i)
	return []byte(head + strings.Repeat("B", size-len(head)-3) + `"}}`)
}

func manyKeys(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"attributes":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"key-%05d":"v"`, i)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// readTopic reads every message of topic up to its end offsets now,
// however slow the machine (a time-boxed read misses messages under load).
func readTopic(t *testing.T, cfg kafkaio.Config, topic string, partitions int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second}
	req := map[string][]kafka.OffsetRequest{}
	for p := range partitions {
		req[topic] = append(req[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			t.Fatal(po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: po.Partition, MaxWait: 50 * time.Millisecond, MaxBytes: 16 << 20})
		if err := r.SetOffset(po.FirstOffset); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("read %s/%d: %v", topic, po.Partition, err)
			}
			out = append(out, m)
			if m.Offset >= po.LastOffset-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

// TestHandlerSizes: every message the raw topic accepts is either stored
// and forwarded or dead-lettered, in one attempt, whatever its size and
// whatever the events and dead-letter topics accept. Before, one valid
// message over 512 KiB failed its batch with "Message Size Too Large" on
// every retry and stopped ingest for good.
func TestHandlerSizes(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Partitions: 1})
	cfg := b.Config()
	ctx := context.Background()
	const small = 300 << 10 // max.message.bytes of the small topics
	if err := cfg.EnsureTopics(ctx, []kafkaio.TopicSpec{
		{Name: "events-small", Partitions: 1, MaxMessageBytes: small},
		{Name: "dlq-small", Partitions: 1, MaxMessageBytes: small},
	}); err != nil {
		t.Fatal(err)
	}

	type want struct {
		stored  bool
		reason  contract.Reason // when dead-lettered
		reduced bool
	}
	tests := []struct {
		name           string
		value          []byte
		defaultTopics  want // the pipeline topics (2 MiB + 64 KiB)
		smallTopicWant want // topics of 300 KiB
	}{
		{"small valid", sessionWithBlob(0, 1000), want{stored: true}, want{stored: true}},
		{"valid 200 KB", sessionWithBlob(1, 200_000), want{stored: true}, want{stored: true}},
		{"valid 511 KiB", sessionWithBlob(2, 511<<10), want{stored: true}, want{reason: contract.ReasonOversize, reduced: true}},
		{"valid 600 KiB", sessionWithBlob(3, 600<<10), want{stored: true}, want{reason: contract.ReasonOversize, reduced: true}},
		{"valid 1 MiB", sessionWithBlob(4, contract.MaxMessageBytes), want{stored: true}, want{reason: contract.ReasonOversize, reduced: true}},
		{"over 1 MiB", sessionWithBlob(5, contract.MaxMessageBytes+1), want{reason: contract.ReasonOversize}, want{reason: contract.ReasonOversize, reduced: true}},
		{"2 MiB", sessionWithBlob(6, 2<<20), want{reason: contract.ReasonOversize}, want{reason: contract.ReasonOversize, reduced: true}},
		// About the largest message a pipeline topic accepts: whole, with the
		// dead-letter headers, it is too big for the dead-letter topic.
		{"raw topic's limit", sessionWithBlob(11, kafkaio.TopicMaxMessageBytes-500), want{reason: contract.ReasonOversize, reduced: true}, want{reason: contract.ReasonOversize, reduced: true}},
		{"invalid 100 KB", invalidWithBlob(7, 100_000), want{reason: contract.ReasonMissingField}, want{reason: contract.ReasonMissingField}},
		{"invalid 600 KiB", invalidWithBlob(8, 600<<10), want{reason: contract.ReasonMissingField}, want{reason: contract.ReasonMissingField, reduced: true}},
		{"invalid 1 MiB", invalidWithBlob(9, contract.MaxMessageBytes), want{reason: contract.ReasonMissingField}, want{reason: contract.ReasonMissingField, reduced: true}},
		{"50,000 attribute keys", manyKeys(50000), want{reason: contract.ReasonLimitExceeded}, want{reason: contract.ReasonLimitExceeded, reduced: true}},
		// 400,000 '<' become 2,400,000 bytes of \u003c escapes.
		{"normalised over 2 MiB", []byte(strings.Replace(string(sessionWithBlob(12, 400_000)), "AAAA", "<<<<", -1)), want{reason: contract.ReasonOversize}, want{reason: contract.ReasonOversize, reduced: true}},
		{"small valid after", sessionWithBlob(10, 2000), want{stored: true}, want{stored: true}},
	}

	for _, topics := range []struct {
		name, events, dlq string
		pick              func(i int) want
	}{
		{"pipeline topics", kafkaio.TopicEvents, kafkaio.TopicDLQ, func(i int) want { return tests[i].defaultTopics }},
		{"300 KiB topics", "events-small", "dlq-small", func(i int) want { return tests[i].smallTopicWant }},
	} {
		t.Run(topics.name, func(t *testing.T) {
			st := storetest.Migrated(t, chserver.ForTest(t).Addr())
			limit, err := cfg.WriterLimit(ctx, 0, topics.events, topics.dlq)
			if err != nil {
				t.Fatal(err)
			}
			w := cfg.NewWriterLimit(limit)
			defer w.Close()
			h := &ingest.Handler{Store: st, Producer: w, MaxMessageBytes: limit, EventsTopic: topics.events, DLQTopic: topics.dlq, Log: zerolog.Nop()}
			var batch []kafka.Message
			for i, tt := range tests {
				batch = append(batch, kafka.Message{Topic: kafkaio.TopicRemoteSessions, Partition: 0, Offset: int64(i), Key: []byte("k"), Value: tt.value})
			}
			attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := h.HandleBatch(attempt, batch); err != nil {
				t.Fatalf("the batch failed (it would be retried forever): %v", err)
			}

			forwarded := map[string]bool{}
			for _, m := range readTopic(t, cfg, topics.events, 1) {
				forwarded[deadletter.Header(m, deadletter.HeaderSourceOffset)] = true
			}
			dead := map[string]kafka.Message{}
			for _, m := range readTopic(t, cfg, topics.dlq, 1) {
				if deadletter.Header(m, deadletter.HeaderSourceTopic) == kafkaio.TopicRemoteSessions {
					dead[deadletter.Header(m, deadletter.HeaderSourceOffset)] = m
				}
			}
			stored, _, err := st.CountEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantStored := 0
			for i, tt := range tests {
				w := topics.pick(i)
				off := strconv.Itoa(i)
				dl, isDead := dead[off]
				if w.stored {
					wantStored++
					if !forwarded[off] || isDead {
						t.Errorf("%s: forwarded %v, dead-lettered %v; want forwarded", tt.name, forwarded[off], isDead)
					}
					continue
				}
				if !isDead || forwarded[off] {
					t.Errorf("%s: forwarded %v, dead-lettered %v; want dead-lettered", tt.name, forwarded[off], isDead)
					continue
				}
				if got := deadletter.Header(dl, deadletter.HeaderReason); got != string(w.reason) {
					t.Errorf("%s: reason %s, want %s (%s)", tt.name, got, w.reason, deadletter.Header(dl, deadletter.HeaderError))
				}
				reduced := deadletter.Header(dl, deadletter.HeaderReduced) == "true"
				if reduced != w.reduced {
					t.Errorf("%s: reduced %v, want %v", tt.name, reduced, w.reduced)
				}
				sum := sha256.Sum256(tt.value)
				switch {
				case reduced && deadletter.Header(dl, deadletter.HeaderOriginalSHA256) != hex.EncodeToString(sum[:]):
					t.Errorf("%s: reduced dead letter without the original's SHA-256", tt.name)
				case reduced && !strings.HasPrefix(string(tt.value), string(dl.Value)):
					t.Errorf("%s: reduced dead letter's value is not a prefix of the original", tt.name)
				case !reduced && string(dl.Value) != string(tt.value):
					t.Errorf("%s: dead letter is not the original byte for byte", tt.name)
				}
			}
			if stored != uint64(wantStored) {
				t.Errorf("ClickHouse holds %d events, want %d", stored, wantStored)
			}
		})
	}
}
