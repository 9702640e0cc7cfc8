package adapt

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tripline/tripline/contract"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testMSP = "msp-northwind"

// convertFile runs Stream over one testdata input and renders every result
// as a line: the event's contract JSON, or "line N: record M: …" for skips
// and errors.
func convertFile(t testing.TB, a Adapter, input []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	err := Stream(a, bytes.NewReader(input), testMSP, func(l Line) error {
		if l.Event != nil {
			out.Write(l.JSON)
		} else {
			out.WriteString(l.String())
		}
		out.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestGolden converts testdata/FORMAT.jsonl (records written from each
// vendor's published schema and samples, with error cases) and compares
// with testdata/FORMAT.golden; -update rewrites the golden files.
func TestGolden(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			a, _ := Get(name)
			golden(t, a, name)
		})
	}
}

// golden converts testdata/NAME.jsonl with a twice, compares the output
// with testdata/NAME.golden (-update rewrites it) and checks that it holds
// events and no event the contract decoder rejects.
func golden(t *testing.T, a Adapter, name string) {
	t.Helper()
	input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	got := convertFile(t, a, input)
	if again := convertFile(t, a, input); !bytes.Equal(got, again) {
		t.Fatal("two runs over the same input differ")
	}
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./adapt -update)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("output line %d differs from %s\n got: %s\nwant: %s", i+1, golden, g, w)
			}
		}
	}
	events, contractErrs := 0, 0
	for _, l := range strings.Split(string(got), "\n") {
		if strings.HasPrefix(l, "{") {
			events++
		}
		if strings.Contains(l, "contract:") {
			contractErrs++
		}
	}
	if events == 0 {
		t.Error("no events converted")
	}
	if contractErrs > 0 {
		t.Errorf("%d events the contract decoder rejects: adapters must check what they emit", contractErrs)
	}
}

// TestGoldenDecodes: every golden event decodes with the contract decoder
// and keeps its vendor event ID.
func TestGoldenDecodes(t *testing.T) {
	var dec contract.Decoder
	for _, name := range Names() {
		b, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "{") {
				continue
			}
			ev, err := dec.Decode([]byte(l))
			if err != nil {
				t.Errorf("%s.golden:%d: %v", name, i+1, err)
				continue
			}
			if !strings.HasPrefix(ev.EventID, name+":") && !strings.HasPrefix(ev.EventID, strings.SplitN(name, "-", 2)[0]+":") && !strings.HasPrefix(ev.EventID, "m365:") {
				t.Errorf("%s.golden:%d: event_id %q is not prefixed with its format", name, i+1, ev.EventID)
			}
		}
	}
}

// TestInputErrors: a value that cannot be read as a whole is an error of
// Convert, whatever the format.
func TestInputErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty input"},
		{"blank", "  \n ", "empty input"},
		{"scalar", "42", "neither a JSON object nor an array"},
		{"null", "null", "neither a JSON object nor an array"},
		{"string", `"x"`, "neither a JSON object nor an array"},
		{"truncated", `{"id":`, "not a JSON object"},
		{"truncated array", `[{"id":1}`, "not a JSON array"},
		{"trailing", `{"id":1} {"id":2}`, "not a JSON object"},
		{"invalid utf8", "{\"id\":\"\xff\"}", "not valid UTF-8"},
	}
	for _, name := range Names() {
		a, _ := Get(name)
		for _, c := range cases {
			err := a.Convert([]byte(c.in), testMSP, func(o Out) error {
				t.Errorf("%s/%s: unexpected result %+v", name, c.name, o)
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s/%s: got %v, want an error containing %q", name, c.name, err, c.want)
			}
		}
	}
}

// TestRecordErrors: records that are not objects and unknown vendor types
// are per-record errors; the other records of the value still convert.
func TestRecordErrors(t *testing.T) {
	cases := []struct {
		format, in string
		want       []string // per result: "event", "skip" or an error substring
	}{
		{"ninjaone", `[1,{"id":1,"activityType":"NOPE","statusCode":"X","activityTime":1763647120}]`, []string{"not a JSON object", "unmapped vendor type"}},
		{"screenconnect", `[{"EventType":"Connected","Time":"2025-11-20T14:00:00Z","Host":"j","ProcessType":"Host","CustomProperty1":"c"},"x"]`, []string{"event", "not a JSON object"}},
		{"entra-signin", `{"value":[{"id":"1","createdDateTime":"2025-11-20T14:00:00Z","userPrincipalName":"u","status":{"errorCode":0},"autonomousSystemNumber":"as64500"}]}`, []string{"autonomousSystemNumber: expected an integer"}},
		{"m365-audit", `{"Id":"1","Operation":"Add user.","CreationTime":"1999-12-31T23:59:59","UserId":"u"}`, []string{"before 2000-01-01"}},
		{"datto-rmm", `{"id":"1","category":"user","action":"login","date":1763647000,"user":{"userName":"` + strings.Repeat("u", 300) + `"}}`, []string{"longer than 256 bytes"}},
		{"ocsf", `{"class_uid":3002,"activity_id":1,"time":1763647120250,"metadata":{"version":"1.3.0"},"user":{"name":"u"}}`, []string{"event"}},
		{"teamviewer", `{"EventName":"Login","Timestamp":"2099-01-01T00:00:00Z","Author":"u"}`, []string{"in the future"}},
	}
	for _, c := range cases {
		a, _ := Get(c.format)
		var got []string
		err := a.Convert([]byte(c.in), testMSP, func(o Out) error {
			switch {
			case o.Event != nil:
				got = append(got, "event")
			case o.Skip != "":
				got = append(got, "skip")
			default:
				got = append(got, o.Err.Error())
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", c.format, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %q, want %q", c.format, got, c.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], c.want[i]) {
				t.Errorf("%s: result %d: got %q, want %q", c.format, i, got[i], c.want[i])
			}
		}
	}
}

func TestNames(t *testing.T) {
	want := "datto-rmm entra-signin m365-audit ninjaone ocsf screenconnect teamviewer"
	if got := strings.Join(Names(), " "); got != want {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	if _, ok := Get("nope"); ok {
		t.Fatal("Get(nope) found an adapter")
	}
	if !strings.Contains(ScreenConnectTrigger, "{Event.EventType}") {
		t.Fatal("trigger template not embedded")
	}
}

// TestEncodeMatchesMarshal: Encode writes what encoding/json writes, for
// every golden event and for strings that need escaping.
func TestEncodeMatchesMarshal(t *testing.T) {
	for _, name := range Names() {
		a, _ := Get(name)
		input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(input, []byte("\n")) {
			_ = a.Convert(l, testMSP, func(o Out) error {
				if o.Event != nil {
					assertEncodeMatches(t, o.Event)
				}
				return nil
			})
		}
	}
	f, tr := false, true
	n := int64(0)
	ev := &contract.Event{EventID: "x", EventType: "auth.login", MSP: "m", Tool: "t",
		Time:       time.Date(2025, 1, 2, 3, 4, 5, 600, time.FixedZone("", -5*3600)),
		Actor:      contract.Actor{User: "a\"b\\c<d>&e\u2028\u2029\x01\b\f\n\r\t\x7f\xff\xfeé😀", MFA: &f, ASN: &n},
		Target:     contract.Target{Tags: []string{}},
		Credential: contract.Credential{Privileged: &tr},
		Attributes: map[string]string{"z": "1", "a": "", "é": "\u00e9"},
	}
	assertEncodeMatches(t, ev)
}

func assertEncodeMatches(t *testing.T, ev *contract.Event) {
	t.Helper()
	want, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode differs from MarshalJSON\n got: %s\nwant: %s", got, want)
	}
}

// TestDeriveID: an event whose record has no vendor id gets "<format>:"
// and contract.DeriveID's ID, which Convert derives from its own encoding,
// for every such event of every golden input.
func TestDeriveID(t *testing.T) {
	n := 0
	for _, name := range Names() {
		a, _ := Get(name)
		input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		err = Stream(a, bytes.NewReader(input), testMSP, func(l Line) error {
			if l.Event == nil {
				return nil
			}
			if l.Event.Attributes[recordIDKey(name)] != "" {
				return nil
			}
			n++
			if err := derivedIDIsContracts(name, l.Event); err != nil {
				t.Errorf("%s line %d: %v", name, l.Line, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 10 { // the golden teamviewer audit events and screenconnect rows without ids
		t.Fatalf("only %d events with derived IDs compared", n)
	}
}

// TestReuseLeavesNoTrace converts every golden input line after each of
// the others: events and their attribute maps are reused from record to
// record (Out.Event), and nothing of the previous record may show in the
// next one's encoding.
func TestReuseLeavesNoTrace(t *testing.T) {
	for _, name := range Names() {
		a, _ := Get(name)
		input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var lines [][]byte
		for _, l := range bytes.Split(input, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines = append(lines, l)
			}
		}
		render := func(l []byte) string {
			var out strings.Builder
			_ = a.Convert(l, testMSP, func(o Out) error {
				if o.Event != nil {
					doc, err := Encode(o.Event)
					if err != nil {
						t.Fatal(err)
					}
					out.Write(doc)
				}
				out.WriteByte('\n')
				return nil
			})
			return out.String()
		}
		want := make([]string, len(lines))
		for i, l := range lines {
			want[i] = render(l)
		}
		for i, prev := range lines {
			for j, l := range lines {
				render(prev)
				if got := render(l); got != want[j] {
					t.Fatalf("%s: line %d after line %d:\n got %s\nwant %s", name, j+1, i+1, got, want[j])
				}
			}
		}
	}
}

// TestAttrLess holds the encoder's attribute order (by an 8-byte prefix,
// then the keys) to Go's string order, on keys that share prefixes,
// are shorter than 8 bytes, hold NUL or bytes above 0x7f.
func TestAttrLess(t *testing.T) {
	keys := []string{"", "a", "a\x00", "a\x00\x00", "ab", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgi",
		"abcdefg", "b", "\x7f", "\x80", "\xff\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\x00",
		"authenticationDetails.0.x", "authenticationDetails.1.x", "authenticationDetails.10.x", "é", "z"}
	for _, x := range keys {
		for _, y := range keys {
			a, b := attr{k: x, p: keyPrefix(x)}, attr{k: y, p: keyPrefix(y)}
			if got, want := a.less(&b), x < y; got != want {
				t.Errorf("less(%q, %q) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// TestPlain8 holds appendString's eight-byte test to its byte table: every
// byte value at every position among plain bytes, and random words.
func TestPlain8(t *testing.T) {
	plainByte := func(c byte) bool { return c < utf8.RuneSelf && asIs[c] }
	want := func(w []byte) bool {
		for _, c := range w {
			if !plainByte(c) {
				return false
			}
		}
		return true
	}
	w := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			v := bytes.Clone(w)
			v[pos] = byte(c)
			if got := plain8(word(string(v), 0)); got != want(v) {
				t.Fatalf("plain8(%q) = %v", v, got)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		v := make([]byte, 8)
		for i := range v {
			// Mostly near the boundaries: 0x1f/0x20, the specials, 0x7f/0x80.
			v[i] = []byte{0x1f, 0x20, 0x21, '"', '\\', '<', '>', '&', 0x7e, 0x7f, 0x80, 0xff, 'a', 0, 0x01, byte(rng.IntN(256))}[rng.IntN(16)]
		}
		if got := plain8(word(string(v), 0)); got != want(v) {
			t.Fatalf("plain8(%q) = %v", v, got)
		}
	}
}
