package contract

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// normalisedPush is validPush as the detector receives it: normalised,
// with its ID and a context from the registry.
func normalisedPush(t testing.TB) Event {
	t.Helper()
	d := Decoder{Now: func() time.Time { return testNow }}
	raw := strings.Replace(validPush, `"tool":"kaseya-vsa",`,
		`"tool":"kaseya-vsa","attributes":{"z":"last","a":"first","ticket_system":"none"},"script":{"name":"s.ps1","interpreter":"powershell","command":"Get-Date"},`, 1)
	_, doc, err := d.DecodeNormalised([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	yes, no, hour := true, false, int64(3)
	doc = WithContext(doc, &Context{MSPKnown: &yes, ToolApproved: &no, LocalHour: &hour, Weekday: "sunday", AssetTags: []string{"election"}})
	ev, err := d.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestBinaryRoundTrip: what the detector decodes from the binary encoding
// is exactly what it decoded from the JSON document, and one event always
// encodes to the same bytes.
func TestBinaryRoundTrip(t *testing.T) {
	d := Decoder{Now: func() time.Time { return testNow }}
	for _, raw := range []string{validPush, loginWithAttributes(3), `{"event_type":"session.start","time":"2026-11-20T10:00:00.250-05:00","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"}}`} {
		_, doc, err := d.DecodeNormalised([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		want, err := d.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, want)
	}
	checkRoundTrip(t, normalisedPush(t))
}

func checkRoundTrip(t *testing.T, want Event) {
	t.Helper()
	b, err := want.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !IsBinary(b) {
		t.Fatalf("IsBinary(%q) = false", b)
	}
	got, err := DecodeBinary(b)
	if err != nil {
		t.Fatalf("DecodeBinary: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	checkOwned(t, b)
	again, _ := got.AppendBinary(nil)
	if !bytes.Equal(again, b) {
		t.Errorf("encoding is not deterministic:\n%q\n%q", b, again)
	}
}

// checkOwned: DecodeOwned decodes binary-encoded b as DecodeBinary does,
// error for error, with its strings in b itself rather than a copy.
func checkOwned(t *testing.T, b []byte) {
	t.Helper()
	if !IsBinary(b) {
		return
	}
	b = bytes.Clone(b) // owned from here on
	want, wantErr := DecodeBinary(b)
	var d Decoder
	got, err := d.DecodeOwned(b)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("DecodeOwned: err = %v, DecodeBinary's %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("DecodeOwned differs from DecodeBinary:\n got %+v\nwant %+v", *got, want)
	}
	for _, s := range []string{got.EventID, got.MSP} {
		if !inside(s, b) {
			t.Fatalf("DecodeOwned copied %q instead of aliasing its input", s)
		}
	}
}

// TestDecodeOwnedJSON: a JSON document on tripline.events decodes through
// DecodeOwned as through DecodeStored.
func TestDecodeOwnedJSON(t *testing.T) {
	want := normalisedPush(t)
	doc, err := want.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	d := Decoder{Now: func() time.Time { return testNow }}
	got, err := d.DecodeOwned(doc)
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("DecodeOwned(JSON) = %+v, %v; want %+v", *got, err, want)
	}
	if !inside(got.MSP, doc) {
		t.Errorf("DecodeOwned(JSON) copied msp %q", got.MSP)
	}
	if _, err := d.DecodeOwned([]byte(`{"event_type":"nope"}`)); err == nil {
		t.Fatal("DecodeOwned accepted an invalid JSON document")
	}
}

// TestBinaryEveryField fills every field the Event type has, found by
// reflection, so that a field added to the contract without a tag in the
// binary encoding fails here rather than vanishing between ingest and the
// detector.
func TestBinaryEveryField(t *testing.T) {
	var ev Event
	fill(t, reflect.ValueOf(&ev).Elem(), "")
	ev.Time = time.Date(2026, 11, 20, 10, 0, 0, 123000000, time.UTC)
	ev.timeText = ev.Time.Format(time.RFC3339Nano)
	ev.EventType = TypeScriptRun
	checkRoundTrip(t, ev)
}

// fill sets every exported field under v to a distinct non-zero value.
func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("v:" + path)
	case reflect.Int64:
		v.SetInt(int64(len(path)) + 7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), path+"["+string(rune('0'+i))+"]")
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		m.SetMapIndex(reflect.ValueOf("k1"), reflect.ValueOf("v1"))
		m.SetMapIndex(reflect.ValueOf("k2"), reflect.ValueOf(""))
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(t, v.Field(i), path+"."+f.Name)
			}
		}
	default:
		t.Fatalf("%s: a field of kind %s: teach fill and the binary encoding about it", path, v.Kind())
	}
}

// TestBinaryDamaged: every truncation and a set of corruptions are errors,
// never a panic; an unknown tag is skipped (a newer writer's field).
func TestBinaryDamaged(t *testing.T) {
	ev := normalisedPush(t)
	b, err := ev.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A cut inside an entry is always an error; a cut between entries is
	// a shorter event, valid only when it still has its required fields.
	boundary := map[int]bool{}
	for i := binaryHeader; i < len(b); {
		n, w := binary.Uvarint(b[i+1:])
		i += 1 + w + int(n)
		boundary[i] = true
	}
	for n := range len(b) {
		if _, err := DecodeBinary(b[:n]); err == nil && !boundary[n] {
			t.Fatalf("a prefix of %d bytes, cut inside an entry, decoded", n)
		}
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"JSON", []byte(`{"event_id":"x"}`), "not a binary-encoded event"},
		{"version", append([]byte(binaryMagic+"\x02"), b[binaryHeader:]...), "version 2"},
		{"length past the end", append(append([]byte{}, b...), tagTenant, 0x7f, 'x'), "bad length"},
		{"bad boolean", append(append([]byte{}, b...), tagActorMFA, 1, 7), "bad boolean"},
		{"bad integer", append(append([]byte{}, b...), tagActorASN, 1, 0x80), "bad integer"},
		{"invalid UTF-8", append(append([]byte{}, b...), tagTenant, 1, 0xff), "invalid UTF-8"},
		{"unknown event type", append(append([]byte{}, b...), tagEventType, 3, 'x', 'y', 'z'), "unknown_event_type"},
	} {
		_, err := DecodeBinary(tt.b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if tt.name != "JSON" {
			checkOwned(t, tt.b)
		}
	}
	for n := range len(b) {
		checkOwned(t, b[:n])
	}
	withUnknown := append(append([]byte{}, b...), 250, 3, 'n', 'e', 'w')
	got, err := DecodeBinary(withUnknown)
	if err != nil || !reflect.DeepEqual(got, ev) {
		t.Errorf("an unknown tag is not skipped: %v", err)
	}
}

func FuzzDecodeBinary(f *testing.F) {
	ev := normalisedPush(f)
	b, _ := ev.AppendBinary(nil)
	f.Add(b)
	f.Add([]byte(binaryMagic + "\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkOwned(t, b)
		ev, err := DecodeBinary(b)
		if err != nil {
			return
		}
		again, err := ev.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
		ev2, err := DecodeBinary(again)
		if err != nil || !reflect.DeepEqual(ev, ev2) {
			t.Fatalf("re-encoded event differs: %v\n%+v\n%+v", err, ev, ev2)
		}
	})
}

// BenchmarkDecodeStored compares what the detector pays per event on
// tripline.events: the normalised JSON document (Decode) or its binary
// encoding (DecodeBinary), for the same registry-enriched event.
func BenchmarkDecodeStored(b *testing.B) {
	ev := normalisedPush(b)
	doc, err := ev.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := ev.AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	d := Decoder{Now: func() time.Time { return testNow }}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := d.Decode(doc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(bin)))
		for b.Loop() {
			if _, err := DecodeBinary(bin); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("binary-owned", func(b *testing.B) {
		// What the detector pays: the message's bytes are the event's.
		b.ReportAllocs()
		b.SetBytes(int64(len(bin)))
		for b.Loop() {
			if _, err := d.DecodeOwned(bin); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = ev.AppendBinary(buf[:0])
		}
	})
}

// TestProvenance: the provenance ingest appends to a binary-encoded event
// reads back, and the event decodes exactly as without it (decoders skip
// its entries, as those of builds before it do unknown tags).
func TestProvenance(t *testing.T) {
	ev := normalisedPush(t)
	plain, err := ev.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	with := func(p Provenance) []byte { return AppendProvenance(bytes.Clone(plain), p) }
	for _, tt := range []struct {
		name    string
		b       []byte
		want    Provenance
		ok      bool
		wantErr string
	}{
		{name: "ingest's", b: with(Provenance{Topic: "msp.remote_sessions", Partition: 3, Offset: 1234567}),
			want: Provenance{Topic: "msp.remote_sessions", Partition: 3, Offset: 1234567}, ok: true},
		{name: "offset zero", b: with(Provenance{Topic: "msp.vendor"}), want: Provenance{Topic: "msp.vendor"}, ok: true},
		{name: "none (written before it)", b: plain},
		{name: "a JSON document", b: doc},
		{name: "bad offset", b: append(bytes.Clone(plain), tagProvOffset, 1, 0x80), wantErr: "bad integer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, ok, err := ReadProvenance(tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadProvenance: err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.ok || p != tt.want {
				t.Fatalf("ReadProvenance = %+v, %v, %v; want %+v, %v", p, ok, err, tt.want, tt.ok)
			}
			if !IsBinary(tt.b) {
				return
			}
			got, err := DecodeBinary(tt.b)
			if err != nil || !reflect.DeepEqual(got, ev) {
				t.Fatalf("the event with provenance decodes to %+v, %v; want %+v", got, err, ev)
			}
			checkOwned(t, tt.b)
		})
	}
}
