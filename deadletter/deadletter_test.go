package deadletter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
)

var at = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func source(value string, key string, headers ...kafka.Header) *kafka.Message {
	return &kafka.Message{Topic: "msp.remote_sessions", Partition: 3, Offset: 42, Key: []byte(key), Value: []byte(value), Headers: headers}
}

func TestFit(t *testing.T) {
	rej := &contract.RejectError{Reason: contract.ReasonOversize, Detail: "message is 2000000 bytes, limit 1048576"}
	tests := []struct {
		name    string
		m       *kafka.Message
		limit   int
		reduced bool
	}{
		{"small stays whole", source(`{"a":1}`, "k"), 1 << 20, false},
		{"exactly the limit stays whole", source(strings.Repeat("v", 1000), "k"), 0, false},
		{"one byte over is reduced", source(strings.Repeat("v", 1001), "k"), -1, true},
		{"1 MiB into a 512 KiB topic", source(strings.Repeat("A", 1<<20), "msp-a"), 512 << 10, true},
		{"original headers dropped", source(strings.Repeat("A", 200000), "k", kafka.Header{Key: "trace", Value: []byte(strings.Repeat("h", 100000))}), 150000, true},
		{"huge key cut", source(strings.Repeat("A", 10), strings.Repeat("K", 300000)), 100000, true},
		{"limit smaller than the headers", source(strings.Repeat("A", 5000), "k"), 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := New("tripline.dlq", tt.m, rej, at)
			limit := tt.limit
			if limit <= 0 {
				// Relative to the whole dead letter of a 1000-byte value.
				whole := New("tripline.dlq", source(strings.Repeat("v", 1000), "k"), rej, at)
				limit = Size(&whole) + limit
			}
			got := Fit(dl, limit)
			if reduced := Header(got, HeaderReduced) == "true"; reduced != tt.reduced {
				t.Fatalf("reduced = %v, want %v", reduced, tt.reduced)
			}
			for _, h := range []string{HeaderReason, HeaderError, HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset, HeaderRejectedAt} {
				if Header(got, h) != Header(dl, h) {
					t.Errorf("header %s = %q, want %q", h, Header(got, h), Header(dl, h))
				}
			}
			if !tt.reduced {
				if string(got.Value) != string(dl.Value) || len(got.Headers) != len(dl.Headers) {
					t.Fatal("a dead letter within the limit changed")
				}
				return
			}
			if n := Size(&got); n > limit && len(got.Value) > 0 {
				t.Errorf("reduced dead letter is %d bytes, limit %d", n, limit)
			}
			sum := sha256.Sum256(tt.m.Value)
			if Header(got, HeaderOriginalSHA256) != hex.EncodeToString(sum[:]) {
				t.Error("wrong SHA-256 of the original")
			}
			if Header(got, HeaderOriginalBytes) != strconv.Itoa(len(tt.m.Value)) {
				t.Errorf("original bytes = %s, want %d", Header(got, HeaderOriginalBytes), len(tt.m.Value))
			}
			if !strings.HasPrefix(string(tt.m.Value), string(got.Value)) || len(got.Value) > MaxPrefixBytes {
				t.Errorf("value is not a prefix of at most %d bytes of the original (%d bytes)", MaxPrefixBytes, len(got.Value))
			}
			if len(tt.m.Headers) > 0 && (Header(got, "trace") != "" || Header(got, HeaderOriginalHeaderBytes) == "") {
				t.Error("original headers kept, or their size not noted")
			}
			if len(tt.m.Key) > maxReducedKeyBytes && (len(got.Key) != maxReducedKeyBytes || Header(got, HeaderOriginalKeyBytes) != strconv.Itoa(len(tt.m.Key))) {
				t.Errorf("key of %d bytes kept as %d", len(tt.m.Key), len(got.Key))
			}
		})
	}
}

func TestErrorHeaderIsCapped(t *testing.T) {
	dl := New("tripline.dlq", source("x", "k"), errors.New(strings.Repeat("é", 5000)), at)
	e := Header(dl, HeaderError)
	if len(e) > MaxErrorBytes || !strings.HasSuffix(e, "(truncated)") {
		t.Fatalf("error header of %d bytes: %.40q…", len(e), e)
	}
	if !strings.HasPrefix(e, "éé") {
		t.Fatal("error header does not keep the error's beginning")
	}
}

// TestSizeMatchesKafkaGo: Size is what kafka-go's writer compares with
// BatchBytes: a message of exactly BatchBytes is accepted, one byte more is
// refused before anything is sent.
func TestSizeMatchesKafkaGo(t *testing.T) {
	m := New("t", source(strings.Repeat("v", 5000), "key"), errors.New("boom"), at)
	limit := Size(&m)
	w := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), BatchBytes: int64(limit - 1)}
	defer w.Close()
	err := w.WriteMessages(t.Context(), m)
	var tooLarge kafka.MessageTooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("BatchBytes one below Size: got %v, want MessageTooLargeError", err)
	}
	// At exactly Size it gets past the check (and fails to connect).
	w2 := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), BatchBytes: int64(limit), MaxAttempts: 1}
	defer w2.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := w2.WriteMessages(ctx, m); errors.As(err, &tooLarge) || err == nil {
		t.Fatalf("BatchBytes equal to Size: got %v, want a connection error", err)
	}
}
