package contract

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/goccy/go-json"

	"github.com/tripline/tripline/fields"
)

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func decode(t *testing.T, raw string) (Event, error) {
	t.Helper()
	d := Decoder{Now: func() time.Time { return testNow }}
	return d.Decode([]byte(raw))
}

const validPush = `{"event_type":"software.push","time":"2026-11-20T10:00:00+01:00","msp":"msp-a","tenant":"acme","tool":"kaseya-vsa",
 "actor":{"user":"jdoe","ip":"10.0.0.1","country":"us","asn":64500,"mfa":true},
 "target":{"host_count":40,"tags":["Critical"," election "]},
 "package":{"name":"agent","version":"1.0","sha256":"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789","signed":false}}`

// loginWithAttributes is a valid auth.login with n attributes.
func loginWithAttributes(n int) string {
	var b strings.Builder
	b.WriteString(`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"attributes":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":"v"`, i)
	}
	b.WriteString("}}")
	return b.String()
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		reason Reason
		field  string
	}{
		{"oversize", `{"x":"` + strings.Repeat("a", MaxMessageBytes) + `"}`, ReasonOversize, ""},
		{"invalid utf8", "{\"event_type\":\"auth.login\xff\"}", ReasonInvalidUTF8, ""},
		{"not json", `event_type=auth.login`, ReasonMalformedJSON, ""},
		{"truncated", `{"event_type":"auth.login"`, ReasonMalformedJSON, ""},
		{"array", `[1,2]`, ReasonMalformedJSON, ""},
		{"trailing", `{"event_type":"auth.login"} {}`, ReasonMalformedJSON, ""},
		{"wrong type msp", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":7,"tool":"x","actor":{"user":"u"}}`, ReasonWrongType, "msp"},
		{"wrong type nested", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","mfa":"yes"}}`, ReasonWrongType, "actor.mfa"},
		{"float asn", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","asn":1.5}}`, ReasonWrongType, "actor.asn"},
		{"overflow host_count", `{"event_type":"software.push","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"target":{"host_count":1e30}}`, ReasonWrongType, "target.host_count"},
		{"attributes not strings", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"attributes":{"a":1}}`, ReasonWrongType, "attributes.a"},
		{"missing event_type", `{"time":"2026-11-20T10:00:00Z","msp":"m","tool":"x"}`, ReasonMissingField, "event_type"},
		{"missing time", `{"event_type":"auth.login","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonMissingField, "time"},
		{"missing msp", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"  ","tool":"x","actor":{"user":"u"}}`, ReasonMissingField, "msp"},
		{"missing tenant", `{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonMissingField, "tenant"},
		{"missing tool", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","actor":{"user":"u"}}`, ReasonMissingField, "tool"},
		{"missing user", `{"event_type":"script.run","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x"}`, ReasonMissingField, "actor.user"},
		{"null user", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":null}`, ReasonMissingField, "actor.user"},
		{"unknown type", `{"event_type":"auth.logout","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonUnknownEventType, "event_type"},
		{"future", `{"event_type":"auth.login","time":"2026-11-23T12:00:01Z","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonTimeOutOfRange, "time"},
		{"ancient", `{"event_type":"auth.login","time":"1999-12-31T23:59:59Z","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonTimeOutOfRange, "time"},
		{"no offset", `{"event_type":"auth.login","time":"2026-11-20T10:00:00","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonInvalidValue, "time"},
		{"bad ip", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","ip":"10.0.0.300"}}`, ReasonInvalidValue, "actor.ip"},
		{"bad country", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","country":"USA"}}`, ReasonInvalidValue, "actor.country"},
		{"bad sha", `{"event_type":"software.push","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"package":{"sha256":"xyz"}}`, ReasonInvalidValue, "package.sha256"},
		{"bad outcome", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"outcome":"ok"}`, ReasonInvalidValue, "outcome"},
		{"bad tool slug", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"Kaseya VSA","actor":{"user":"u"}}`, ReasonInvalidValue, "tool"},
		{"negative count", `{"event_type":"software.push","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"target":{"host_count":-1}}`, ReasonInvalidValue, "target.host_count"},
		{"deep nesting", strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), ReasonLimitExceeded, ""},
		{"deep arrays in an unknown field", `{"event_type":"auth.login","x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, ReasonLimitExceeded, ""},
		{"duplicate msp", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"a","msp":"b","tool":"x","actor":{"user":"u"}}`, ReasonDuplicateKey, ""},
		{"long msp", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"` + strings.Repeat("m", MaxIdentifierBytes+1) + `","tool":"x","actor":{"user":"u"}}`, ReasonLimitExceeded, "msp"},
		{"long tenant", `{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"` + strings.Repeat("t", 100000) + `","tool":"x","actor":{"user":"u"}}`, ReasonLimitExceeded, "tenant"},
		{"long tool", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"` + strings.Repeat("x", MaxIdentifierBytes+1) + `","actor":{"user":"u"}}`, ReasonLimitExceeded, "tool"},
		{"long user", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"` + strings.Repeat("u", MaxIdentifierBytes+1) + `"}}`, ReasonLimitExceeded, "actor.user"},
		{"long event_id", `{"event_id":"` + strings.Repeat("1", MaxIdentifierBytes+1) + `","event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, ReasonLimitExceeded, "event_id"},
		{"long host", `{"event_type":"software.push","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"target":{"host":"` + strings.Repeat("h", MaxIdentifierBytes+1) + `"}}`, ReasonLimitExceeded, "target.host"},
		{"long session id", `{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},"session":{"id":"` + strings.Repeat("s", MaxIdentifierBytes+1) + `"}}`, ReasonLimitExceeded, "session.id"},
		{"long attribute key", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"attributes":{"` + strings.Repeat("k", MaxIdentifierBytes+1) + `":"v"}}`, ReasonLimitExceeded, "attributes"},
		{"too many attribute keys", loginWithAttributes(MaxObjectKeys + 1), ReasonLimitExceeded, ""},
		{"too many attributes with unknown fields", strings.Replace(loginWithAttributes(MaxAttributes), `"actor":`, `"extra1":"a","extra2":"b","actor":`, 1), ReasonLimitExceeded, "attributes"},
	}
	seen := map[Reason]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.raw)
			var rej *RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("want *RejectError %s, got %v", tt.reason, err)
			}
			if rej.Reason != tt.reason || rej.Field != tt.field {
				t.Fatalf("got reason %s field %q (%v), want %s field %q", rej.Reason, rej.Field, rej, tt.reason, tt.field)
			}
			seen[rej.Reason] = true
			aliasing := Decoder{Now: func() time.Time { return testNow }, AliasInput: true}
			if _, aerr := aliasing.Decode([]byte(tt.raw)); fmt.Sprint(aerr) != fmt.Sprint(err) {
				t.Fatalf("with AliasInput: %v, without: %v", aerr, err)
			}
		})
	}
	for _, r := range Reasons {
		if !seen[r] {
			t.Errorf("no test case for reason %s", r)
		}
	}
}

func TestDecodeNormalises(t *testing.T) {
	ev, err := decode(t, `{"event_type":" Software.Push ","time":"2026-11-20T10:00:00.5+01:00","msp":" msp-a ","tenant":"acme","tool":"Kaseya-VSA",
		"actor":{"user":" jdoe ","ip":"::ffff:10.0.0.1","country":"us","shoe":"42"},
		"target":{"tags":["Critical"," election ",""]},
		"package":{"sha256":"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"},
		"ticket_system":{"id":7},"note":"kept","attributes":{"note":"explicit"}}`)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ got, want string }{
		{ev.EventType, "software.push"},
		{ev.MSP, "msp-a"},
		{ev.Tool, "kaseya-vsa"},
		{ev.Actor.User, "jdoe"},
		{ev.Actor.IP, "10.0.0.1"},
		{ev.Actor.Country, "US"},
		{ev.Package.SHA256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
		{ev.TimeText(), "2026-11-20T09:00:00.5Z"},
		{strings.Join(ev.Target.Tags, ","), "critical,election"},
		{ev.Attributes["note"], "explicit"},
		{ev.Attributes["ticket_system"], `{"id":7}`},
		{ev.Attributes["actor.shoe"], "42"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	if ev.Time.Location() != time.UTC {
		t.Errorf("time not in UTC: %v", ev.Time.Location())
	}
}

// TestUnmarshalOptions pins what the decoding relies on in go-json's
// options: disallowUnknownFields (a flag value of its internals) refuses a
// field outside the wire struct, and DecodeNoCopyString leaves strings in
// the input.
func TestUnmarshalOptions(t *testing.T) {
	var w wire
	err := json.UnmarshalWithOption([]byte(`{"msp":"m","shoe":42}`), &w, disallowUnknownFields)
	if err == nil || !strings.HasPrefix(err.Error(), "json: unknown field ") {
		t.Fatalf("disallowUnknownFields: err = %v, want json: unknown field", err)
	}
	raw := []byte(`{"msp":"msp-a"}`)
	if err := json.UnmarshalWithOption(raw, &w, disallowUnknownFields, json.DecodeNoCopyString()); err != nil || !inside(w.MSP, raw) {
		t.Fatalf("DecodeNoCopyString: %v, msp %q not in the input", err, w.MSP)
	}
}

// TestAliasInput: with AliasInput a message decodes to the same event
// (fields outside the contract, escapes and normalisation included), its
// strings in the input when it is a contract event as it stands (fields
// outside the contract take the slower, copying way).
func TestAliasInput(t *testing.T) {
	for _, tt := range []struct {
		raw   string
		alias bool
	}{
		{validPush, true},
		{strings.Replace(validPush, `"tool"`, `"extra":[1,2],"note":"a\u00e9b","tool"`, 1), false},
		{strings.Replace(validPush, `"msp":"msp-a"`, `"msp":"msp-\u0061"`, 1), false},
		{strings.Replace(validPush, `"tool"`, `"reason":"a\u00e9b","tool"`, 1), true},
		{loginWithAttributes(40), true},
	} {
		want, err := decode(t, tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		in := []byte(tt.raw)
		d := Decoder{Now: func() time.Time { return testNow }, AliasInput: true}
		got, err := d.Decode(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("AliasInput: %v\n got %+v\nwant %+v", err, got, want)
		}
		if tt.alias && !inside(got.MSP, in) {
			t.Errorf("AliasInput copied msp %q of %s", got.MSP, tt.raw)
		}
	}
}

// inside reports whether s's bytes lie in b.
func inside(s string, b []byte) bool {
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return len(s) > 0 && p >= lo && p < lo+uintptr(len(b))
}

func TestDerivedIDDeterministic(t *testing.T) {
	a, err := decode(t, validPush)
	if err != nil {
		t.Fatal(err)
	}
	// Same content, different key order and whitespace: same ID.
	b, err := decode(t, `{"tool":"KASEYA-VSA","msp":"msp-a","time":"2026-11-20T09:00:00Z","tenant":"acme","event_type":"software.push",
		"package":{"signed":false,"sha256":"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789","version":"1.0","name":"agent"},
		"target":{"tags":["critical","election"],"host_count":40},"actor":{"mfa":true,"asn":64500,"country":"US","ip":"10.0.0.1","user":"jdoe"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if a.EventID == "" || a.EventID != b.EventID {
		t.Fatalf("IDs differ for the same content: %q vs %q", a.EventID, b.EventID)
	}
	c, err := decode(t, strings.Replace(validPush, `"host_count":40`, `"host_count":41`, 1))
	if err != nil {
		t.Fatal(err)
	}
	if c.EventID == a.EventID {
		t.Fatal("different content got the same derived ID")
	}
	given, err := decode(t, strings.Replace(validPush, `{"event_type"`, `{"event_id":" src-1 ","event_type"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	if given.EventID != "src-1" {
		t.Fatalf("producer event_id not kept: %q", given.EventID)
	}
}

// The normalised form is itself a valid message that decodes to the same
// event: the detector relies on it when it reads tripline.events.
func TestNormalisedRoundTrip(t *testing.T) {
	a, err := decode(t, strings.Replace(validPush, `"tool"`, `"extra":[1,2],"tool"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	b, err := decode(t, string(doc))
	if err != nil {
		t.Fatalf("normalised form rejected: %v\n%s", err, doc)
	}
	doc2, _ := b.MarshalJSON()
	if string(doc) != string(doc2) {
		t.Fatalf("round trip changed the event:\n%s\n%s", doc, doc2)
	}
}

func TestLookup(t *testing.T) {
	ev, err := decode(t, validPush)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want fields.Value
	}{
		{"actor.user", fields.Str("jdoe")},
		{"actor.asn", fields.Num(64500)},
		{"actor.mfa", fields.Boolean(true)},
		{"package.signed", fields.Boolean(false)},
		{"target.host_count", fields.Num(40)},
		{"time", fields.Str("2026-11-20T09:00:00Z")},
		{"credential.privileged", fields.Value{}},
		{"tenant", fields.Str("acme")},
		{"no.such", fields.Value{}},
	}
	for _, tt := range tests {
		got := ev.Lookup(tt.path)
		if got.Kind != tt.want.Kind || got.Str != tt.want.Str || got.Num != tt.want.Num || got.Bool != tt.want.Bool {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.path, got, tt.want)
		}
	}
	if tags := ev.Lookup("target.tags"); tags.Kind != fields.Strings || len(tags.Strs) != 2 {
		t.Errorf("target.tags = %+v", tags)
	}
	if ls := ev.Logsource(); ls.Product != "msp" || ls.Category != "software_update" {
		t.Errorf("logsource = %+v", ls)
	}
	allocs := testing.AllocsPerRun(100, func() { _ = ev.Lookup("package.sha256"); _ = ev.Lookup("time") })
	if allocs != 0 {
		t.Errorf("Lookup allocates %v times", allocs)
	}
}

// DecodeInto and DecodeNormalisedInto give what Decode and
// DecodeNormalised give, whatever the event they write over held before
// (ingest reuses a rejected message's event for the next message).
func TestDecodeIntoOverwritesWhole(t *testing.T) {
	d := Decoder{Now: func() time.Time { return testNow }}
	withAttrs := loginWithAttributes(3)
	withContext := `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"context":{"tool_approved":true,"asset_tags":["a"]}}`
	for _, tc := range []struct{ name, before, raw string }{
		{"full over minimal", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, validPush},
		{"minimal over full", validPush, `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`},
		{"no attributes over attributes", withAttrs, validPush},
		{"no context over context", withContext, validPush},
		{"rejected over full", validPush, `{"event_type":"auth.login","msp":"m"}`},
		{"full over rejected", `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","ip":"no"}}`, withContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := d.Decode([]byte(tc.raw))
			wantN, wantDoc, wantNErr := d.DecodeNormalised([]byte(tc.raw))
			var ev Event
			_ = d.DecodeInto(&ev, []byte(tc.before))
			err := d.DecodeInto(&ev, []byte(tc.raw))
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(ev, want) {
				t.Errorf("DecodeInto: %+v, %v\nDecode:     %+v, %v", ev, err, want, wantErr)
			}
			_, _ = d.DecodeNormalisedInto(&ev, []byte(tc.before))
			doc, err := d.DecodeNormalisedInto(&ev, []byte(tc.raw))
			if fmt.Sprint(err) != fmt.Sprint(wantNErr) || !reflect.DeepEqual(ev, wantN) || string(doc) != string(wantDoc) {
				t.Errorf("DecodeNormalisedInto: %+v, %s, %v\nDecodeNormalised:     %+v, %s, %v", ev, doc, err, wantN, wantDoc, wantNErr)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	raw := []byte(validPush)
	d := Decoder{Now: func() time.Time { return testNow }}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := d.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestDecodeNormalisedMatchesMarshal(t *testing.T) {
	d := Decoder{Now: func() time.Time { return testNow }}
	for _, raw := range []string{validPush, strings.Replace(validPush, `{"event_type"`, `{"event_id":"given-1","event_type"`, 1)} {
		ev, doc, err := d.DecodeNormalised([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ev.MarshalJSON()
		if string(doc) != string(want) {
			t.Fatalf("doc differs from MarshalJSON:\n%s\n%s", doc, want)
		}
		if ev.EventID != DeriveID(&ev) && ev.EventID != "given-1" {
			t.Fatalf("derived ID %s differs from DeriveID %s", ev.EventID, DeriveID(&ev))
		}
	}
}

func BenchmarkDecodeNormalised(b *testing.B) {
	raw := []byte(validPush)
	d := Decoder{Now: func() time.Time { return testNow }}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.DecodeNormalised(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestDuplicateKeys: a key named twice in one object is rejected wherever
// the object is, however the key is spelled; the same key in different
// objects is not a duplicate.
func TestDuplicateKeys(t *testing.T) {
	const head = `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x",`
	manyAttrs := func(dupAt int) string {
		var b strings.Builder
		b.WriteString(head + `"actor":{"user":"u"},"attributes":{`)
		for i := range 40 {
			fmt.Fprintf(&b, `"k%d":"v",`, i)
		}
		fmt.Fprintf(&b, `"k%d":"again"}}`, dupAt)
		return b.String()
	}
	tests := []struct {
		name string
		raw  string
		dup  bool
	}{
		{"top level", `{"msp":"a","msp":"b","event_type":"auth.login"}`, true},
		{"top level, far apart", head + `"actor":{"user":"u"},"outcome":"success","reason":"r","msp":"other"}`, true},
		{"escaped spelling", head + `"actor":{"user":"u"},"m\u0073p":"other"}`, true},
		{"nested contract object", head + `"actor":{"user":"u","user":"v"}}`, true},
		{"attributes", head + `"actor":{"user":"u"},"attributes":{"a":"1","a":"2"}}`, true},
		{"attributes, past the linear scan", manyAttrs(3), true},
		{"attributes, last of the linear scan", manyAttrs(15), true},
		{"attributes, first past it", manyAttrs(39), true},
		{"unknown nested object", head + `"actor":{"user":"u"},"x":[{"b":1,"b":2}]}`, true},
		{"same key in sibling objects", head + `"actor":{"user":"u"},"x":[{"b":1},{"b":2}],"y":{"b":{"b":1}}}`, false},
		{"same key at two depths", head + `"actor":{"user":"u","actor":"x"}}`, false},
		{"key text inside a value", head + `"actor":{"user":"u"},"reason":"\"msp\":\"x\",\"msp\":"}`, false},
		{"escaped quote in a key", head + `"actor":{"user":"u"},"attributes":{"a\"b":"1","a\\":"2","a":"3"}}`, false},
		{"long value with escaped quotes, then a duplicate", head + `"actor":{"user":"u"},"reason":"` + strings.Repeat("x", 40) + `\"msp\":\\\"` + strings.Repeat("y", 40) + `\\","msp":"n"}`, true},
		{"long escaped keys", head + `"actor":{"user":"u"},"attributes":{"` + strings.Repeat("k", 40) + `\u0061":"1","` + strings.Repeat("k", 40) + `a":"2"}}`, true},
		{"long keys ending in a backslash pair", head + `"actor":{"user":"u"},"attributes":{"` + strings.Repeat("k", 40) + `\\":"1","` + strings.Repeat("k", 40) + `":"2"}}`, false},
		{"empty keys", head + `"actor":{"user":"u"},"attributes":{"":"1","":"2"}}`, true},
		{"prefix keys", head + `"actor":{"user":"u"},"attributes":{"ab":"1","a":"2","abc":"3"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.raw)
			var rej *RejectError
			gotDup := errors.As(err, &rej) && rej.Reason == ReasonDuplicateKey
			if gotDup != tt.dup {
				t.Fatalf("duplicate_key = %v (%v), want %v", gotDup, err, tt.dup)
			}
			if !tt.dup && err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

// TestRejectErrorsAreShort: an error quotes at most a prefix of a huge
// value; it becomes a dead-letter header and a log field.
func TestRejectErrorsAreShort(t *testing.T) {
	big := strings.Repeat("Z", 500000)
	for _, raw := range []string{
		`{"event_type":"` + big + `"}`,
		`{"event_type":"auth.login","time":"` + big + `"}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","ip":"` + big + `"}}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"outcome":"` + big + `"}`,
		`{"event_type":"auth.login","` + big + `":1,"` + big + `":2}`,
	} {
		_, err := decode(t, raw)
		if err == nil || len(err.Error()) > 200 {
			t.Errorf("error of %d bytes: %.100v", len(fmt.Sprint(err)), err)
		}
	}
}

// TestMaxBytes: producers' messages are limited to MaxMessageBytes; a
// reader of normalised documents (the detector) accepts up to
// MaxNormalisedBytes, since normalisation can grow a message.
func TestMaxBytes(t *testing.T) {
	head := `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"},"attributes":{"blob":"`
	sized := func(n int) []byte { return []byte(head + strings.Repeat("a", n-len(head)-3) + `"}}`) }
	for _, tt := range []struct {
		max, size int
		ok        bool
	}{
		{0, MaxMessageBytes, true},
		{0, MaxMessageBytes + 1, false},
		{MaxNormalisedBytes, MaxMessageBytes + 1, true},
		{MaxNormalisedBytes, MaxNormalisedBytes, true},
		{MaxNormalisedBytes, MaxNormalisedBytes + 1, false},
	} {
		d := Decoder{Now: func() time.Time { return testNow }, MaxBytes: tt.max}
		_, err := d.Decode(sized(tt.size))
		var rej *RejectError
		if got := err == nil; got != tt.ok || (err != nil && (!errors.As(err, &rej) || rej.Reason != ReasonOversize)) {
			t.Errorf("MaxBytes %d, %d bytes: %v, want accepted=%v", tt.max, tt.size, err, tt.ok)
		}
	}
}
