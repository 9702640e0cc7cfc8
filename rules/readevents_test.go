package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

func TestReadEventsOrderAndErrors(t *testing.T) {
	var in strings.Builder
	const n = 3*eventBatch + 7
	for i := 1; i <= n; i++ {
		switch {
		case i%100 == 0:
			in.WriteString("\n") // blank: skipped
		case i%101 == 0:
			in.WriteString("{not json\n")
		case i%102 == 0:
			in.WriteString(`{"x":"` + strings.Repeat("a", 200) + "\"}\n") // over the limit
		default:
			fmt.Fprintf(&in, "{\"event_id\":\"e%d\"}\n", i)
		}
	}
	var lines []int
	var bad int
	err := ReadEvents(context.Background(), strings.NewReader(in.String()), ReadConfig{Limit: 100}, func(line int, ev *OfflineEvent, err error) error {
		lines = append(lines, line)
		if err != nil {
			bad++
			if ev != nil {
				t.Errorf("line %d: an event with an error", line)
			}
			return nil
		}
		if want := fmt.Sprintf("e%d", line); ev.ID != want {
			t.Errorf("line %d: id %q, want %q", line, ev.ID, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] <= lines[i-1] {
			t.Fatalf("line %d after line %d", lines[i], lines[i-1])
		}
	}
	if want := n - n/100; len(lines) != want {
		t.Errorf("%d events and errors, want %d", len(lines), want)
	}
	if want := n/101 + n/102; bad != want {
		t.Errorf("%d bad lines, want %d", bad, want)
	}
}

func TestReadEventsStops(t *testing.T) {
	in := strings.Repeat("{\"a\":1}\n", 10*eventBatch)
	stop := errors.New("stop")
	calls := 0
	err := ReadEvents(context.Background(), strings.NewReader(in), ReadConfig{Limit: 1 << 10}, func(line int, ev *OfflineEvent, err error) error {
		calls++
		if line == 300 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 300 {
		t.Fatalf("err %v after %d calls, want stop after 300", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = ReadEvents(ctx, strings.NewReader(in), ReadConfig{Limit: 1 << 10}, func(line int, ev *OfflineEvent, err error) error {
		calls++
		if line == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls >= 10*eventBatch {
		t.Fatalf("err %v after %d calls, want canceled early", err, calls)
	}
}

func TestReadEventsMatchesInOrder(t *testing.T) {
	coll, err := sigma.ParseBytes([]byte(`title: odd
id: 7c1b3f40-0000-4000-8000-000000000001
logsource: {product: windows}
detection:
  sel: {Image|endswith: '\odd.exe'}
  condition: sel
`), "odd.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := engine.CompileCollection(coll, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var in strings.Builder
	const n = 5*eventBatch + 3
	for i := 1; i <= n; i++ {
		img := `C:\\even.exe`
		if i%2 == 1 {
			img = `C:\\odd.exe`
		}
		fmt.Fprintf(&in, "{\"Image\":%q,\"n\":%d}\n", img, i)
	}
	prepared := 0
	cfg := ReadConfig{Logsource: fields.Logsource{Product: "windows"}, Match: rs, Prepare: func(*OfflineEvent) {}}
	err = ReadEvents(context.Background(), strings.NewReader(strings.ReplaceAll(in.String(), `\\\\`, `\\`)), cfg, func(line int, ev *OfflineEvent, err error) error {
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		prepared++
		want := rs.Match(ev.Source, nil)
		if len(ev.Matched) != len(want) || (line%2 == 1) != (len(want) == 1) {
			t.Fatalf("line %d: matched %v, want %v", line, ev.Matched, want)
		}
		return nil
	})
	if err != nil || prepared != n {
		t.Fatalf("%d events, err %v", prepared, err)
	}
}

// FuzzDecodeFlatObject holds the fast path to encoding/json: whenever it
// accepts an input, encoding/json (UseNumber) must accept it too, and the
// event must answer every lookup as fields.Map over encoding/json's map
// does, and hold the same strings.
func FuzzDecodeFlatObject(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":"b"}`, `{"a":1,"b":-0.5e+3,"c":true,"d":false,"e":null}`,
		`{"Image":"C:\\Windows\\System32\\cmd.exe","q":"\"x\"\/\b\f\n\r\t"}`,
		`{"a":"b","a":"c"}`, `{"a":"\u00e9"}`, `{"a":"é®"}`, "{\"a\":\"\xff\"}", `{"a":{"b":1}}`,
		`{"a":[1]}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":"b"} x`, `{"a":"b",}`,
		`{"a" : "b" , "c":2}`, "{\"a\":\"\t\"}", `[1]`, `"s"`, `{"a":tru}`, `{"a":"b"`,
	} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a.b":"x","a":"y","":1,"n":1e999}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := decodeFlat(raw, fields.Logsource{Product: "p"})
		if !ok {
			return
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%q: fast path accepted, encoding/json: %v", raw, err)
		}
		doc, isObj := v.(map[string]any)
		if !isObj {
			t.Fatalf("%q: fast path accepted %T", raw, v)
		}
		want := fields.Map{Doc: doc, Source: fields.Logsource{Product: "p"}}
		paths := []string{"", ".", "missing", "missing.", "a.", "a.b", "a.b."}
		for k := range doc {
			paths = append(paths, k, k+".", k+".x", "."+k)
		}
		for _, p := range paths {
			if g, w := got.Lookup(p), want.Lookup(p); !reflect.DeepEqual(g, w) {
				t.Fatalf("%q: Lookup(%q) = %#v, fields.Map %#v", raw, p, g, w)
			}
		}
		strs := func(src fields.Source) []string {
			var out []string
			src.EachString(func(s string) bool { out = append(out, s); return true })
			slices.Sort(out)
			return out
		}
		if g, w := strs(got), strs(want); !slices.Equal(g, w) {
			t.Fatalf("%q: strings %q, fields.Map %q", raw, g, w)
		}
		if got.Logsource() != want.Logsource() {
			t.Fatalf("%q: logsource %v", raw, got.Logsource())
		}
	})
}
