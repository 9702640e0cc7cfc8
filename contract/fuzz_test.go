package contract

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzDecode: no input panics or hangs the decoder; every rejection is a
// *RejectError with a known reason; every accepted event's normalised form
// decodes again to the same event ID (the detector relies on that).
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		validPush,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","mfa":false}}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"zzz":{"a":[1,2,{"b":null}]}}`,
		`{"event_type":"script.run","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u","asn":1e400}}`,
		`{"event_type":"script.run","event_type":"auth.login"}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"context":{"tool_approved":true,"asset_tags":["a"],"local_hour":3}}`,
		`{"a":` + "\"\\ud800\"" + `}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		"\xff\xfe",
		``,
		// Duplicate keys: plain, escaped, nested, in a large object.
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"a","msp":"b","tool":"x","actor":{"user":"u"}}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"a","m\u0073p":"b","tool":"x","actor":{"user":"u"}}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"a","tool":"x","actor":{"user":"u","user":"v"}}`,
		`{"a\"":1,"a\\":2,"a":3,"x":[{"b":1},{"b":2}]}`,
		strings.Replace(loginWithAttributes(40), `"k39":"v"`, `"k3":"v"`, 1),
		// Huge: just under and over the size limit, many keys, deep.
		`{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"attributes":{"blob":"` + strings.Repeat("A", 600000) + `"}}`,
		`{"x":"` + strings.Repeat("a", MaxMessageBytes) + `"}`,
		loginWithAttributes(MaxObjectKeys + 1),
		`{"msp":"` + strings.Repeat("m", MaxIdentifierBytes+1) + `"}`,
		`{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`,
	} {
		f.Add([]byte(seed))
	}
	known := map[Reason]bool{}
	for _, r := range Reasons {
		known[r] = true
	}
	d := Decoder{Now: func() time.Time { return testNow }}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := d.Decode(raw)
		if err != nil {
			var rej *RejectError
			if !errors.As(err, &rej) || !known[rej.Reason] {
				t.Fatalf("rejection without a known reason: %v", err)
			}
			return
		}
		doc, err := ev.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted event does not marshal: %v", err)
		}
		again, err := d.Decode(doc)
		if err != nil {
			t.Fatalf("normalised form rejected: %v\n%s", err, doc)
		}
		if again.EventID != ev.EventID {
			t.Fatalf("event ID changed on re-decode: %s vs %s", ev.EventID, again.EventID)
		}
	})
}
