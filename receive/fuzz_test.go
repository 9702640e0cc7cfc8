package receive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/receive"
)

// recorder is a producer that keeps what it is given.
type recorder struct{ msgs []kafka.Message }

func (r *recorder) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// FuzzReceive: whatever the path, token and body, the receiver answers
// without panicking, with a status of its contract; what it accepts is
// written as messages within the limit, under the token's MSP.
func FuzzReceive(f *testing.F) {
	secret, line, err := receive.NewToken("fuzz", "msp-a")
	if err != nil {
		f.Fatal(err)
	}
	toks, err := receive.ParseTokens([]byte(line), "tokens")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range ninjaLines(f) {
		f.Add("ninjaone", byte(1), "", l)
	}
	f.Add("ninjaone", byte(1), "", []byte(`[{"id":1},{"id":2}]`))
	f.Add("contract-v1", byte(1), "", []byte("{\"msp\":\"msp-a\"}\n{\"msp\":\"msp-b\"}"))
	f.Add("contract-v1", byte(1), "", []byte("{\"msp\":\"msp-a\",\"event_id\":\"x\"}\n"))
	f.Add("teamviewer", byte(0), "", []byte(`{"AuditEvents":[]}`))
	f.Add("teamviewer", byte(1), "", []byte(`{"AuditEvents":[{"EventName":"EndedSession","EventDetails":[{"PropertyName":"Duration","NewValue":"60"},{}]}],"ContinuationToken":null}`))
	f.Add("entra-signin", byte(1), "", []byte(`{"id":"1","authenticationDetails":[{"succeeded":true},{"succeeded":false}]}`))
	f.Add("m365-audit", byte(1), "", []byte(`{"value":[{"Id":"1"}],"Records":[{"Id":"2"},{"Id":"3"}]}`))
	f.Add("nope", byte(1), "", []byte(`{}`))
	f.Add("ninjaone", byte(1), "", []byte("[1,2,"))
	f.Add("ninjaone", byte(1), "", []byte("\xff"))
	f.Add("ninjaone", byte(2), "", []byte(`[{"id":1}]`))
	f.Add("contract-v1", byte(2), "", []byte(`{"msp":"msp-a"}`))
	f.Add("ninjaone", byte(3), "sha256=00", []byte(`{"id":1}`))
	const limit = 512
	hmacSecret := []byte(strings.Repeat("k", 32))
	secrets, err := receive.ParseSecrets([]byte("msp-a:"+string(hmacSecret)), "secrets")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// auth: 0 none, 1 bearer token, 2 a valid signature, 3 sig as given.
	f.Fuzz(func(t *testing.T, format string, auth byte, sig string, body []byte) {
		p := &recorder{}
		s, err := receive.New(receive.Config{Producer: p, Tokens: toks, Secrets: secrets, Now: func() time.Time { return now }, MaxBodyBytes: 4 << 10, MaxRecords: 50, MaxMessageBytes: limit, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		// The format is a path segment: keep the request line valid.
		format = strings.NewReplacer("/", "", "?", "", "#", "", "%", "").Replace(format)
		req, err := http.NewRequest(http.MethodPost, "http://x/v1/ingest/"+format, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		switch auth % 4 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+secret)
		case 2:
			sig = receive.Sign(hmacSecret, now, body)
			fallthrough
		case 3:
			req.Header.Set(receive.HeaderSignedMSP, "msp-a")
			req.Header.Set(receive.HeaderTimestamp, fmt.Sprint(now.Unix()))
			req.Header.Set(receive.HeaderSignature, sig)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		switch w.Code {
		case 202:
			if len(p.msgs) == 0 {
				t.Fatal("202 without a message")
			}
			// The records it counted are the records the format's
			// adapter reads in what it wrote.
			var ok struct{ Records int }
			if err := json.Unmarshal(w.Body.Bytes(), &ok); err != nil {
				t.Fatal(err)
			}
			if a, vendor := adapt.Get(format); vendor {
				n := 0
				for _, m := range p.msgs {
					last := -1
					if err := a.Convert(m.Value, "msp-a", func(o adapt.Out) error { last = max(last, o.Record); return nil }); err != nil {
						t.Fatalf("accepted message does not convert: %v", err)
					}
					n += last + 1
				}
				if n != ok.Records {
					t.Fatalf("202 says %d records, the adapter reads %d in %q", ok.Records, n, body)
				}
			}
		case 400, 401, 403, 404, 405, 413:
			if len(p.msgs) != 0 {
				t.Fatalf("%d with %d messages written", w.Code, len(p.msgs))
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, m := range p.msgs {
			if deadletter.Size(&m) > limit {
				t.Fatalf("message of %d bytes over the limit %d", deadletter.Size(&m), limit)
			}
			for _, h := range m.Headers {
				if h.Key == ingest.HeaderMSP && string(h.Value) != "msp-a" {
					t.Fatalf("msp header %q", h.Value)
				}
			}
		}
	})
}
