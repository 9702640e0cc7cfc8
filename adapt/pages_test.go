package adapt

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// convertedRecords is how many records Convert read in raw: one more than
// the highest Out.Record (every record gives an event, a skip or an
// error).
func convertedRecords(t *testing.T, a Adapter, raw string) (int, error) {
	t.Helper()
	n := 0
	err := a.Convert([]byte(raw), "msp-northwind", func(o Out) error {
		n = max(n, o.Record+1)
		return nil
	})
	return n, err
}

// TestRecordsCountsWhatConvertReads: for every format, Records counts a
// page by the keys Convert splits it by (two records under each page key),
// a record whose own arrays are not page keys as one record, an array's
// elements, and refuses what Convert refuses.
func TestRecordsCountsWhatConvertReads(t *testing.T) {
	mapping, err := LoadMapping("testdata/datto-like.yaml")
	if err != nil {
		t.Fatal(err)
	}
	adapters := append(slices.Clone(all), mapping)
	for _, a := range adapters {
		t.Run(a.Name(), func(t *testing.T) {
			keys := PageKeys(a)
			if len(keys) == 0 {
				t.Fatalf("%s has no page keys", a.Name())
			}
			cases := []struct {
				raw  string
				want int
			}{
				{`[{"id":"1"},{"id":"2"},{"id":"3"}]`, 3},
				// A record with nested arrays (an Entra sign-in's
				// authenticationDetails, TeamViewer's EventDetails) is one.
				{`{"id":"1","authenticationDetails":[{"a":1},{"a":2}],"EventDetails":[{},{},{}],"details":{"x":[1,2,3,4]}}`, 1},
				{`{"id":"1","other":[{},{},{},{}]}`, 1},
				{`{}`, 1},
			}
			for _, k := range keys {
				// The page's records, each with arrays of their own.
				cases = append(cases,
					struct {
						raw  string
						want int
					}{`{"next":null,"` + k + `":[{"id":"1","tags":[1,2,3]},{"id":"2","EventDetails":[{},{}]}],"other":[{},{},{},{},{}]}`, 2},
					struct {
						raw  string
						want int
					}{`{"` + k + `":[]}`, 0},
					struct {
						raw  string
						want int
					}{`{"` + k + `":{"id":"1"}}`, 1})
			}
			if len(keys) > 1 {
				// The first page key in the input's order is the page.
				cases = append(cases, struct {
					raw  string
					want int
				}{`{"` + keys[1] + `":[{}],"` + keys[0] + `":[{},{},{}]}`, 1})
			}
			for _, c := range cases {
				got, err := Records(a, []byte(c.raw))
				if err != nil || got != c.want {
					t.Errorf("Records(%s) = %d, %v; want %d", c.raw, got, err, c.want)
				}
				conv, err := convertedRecords(t, a, c.raw)
				if err != nil || conv != c.want {
					t.Errorf("Convert(%s) read %d records (%v); Records says %d", c.raw, conv, err, c.want)
				}
			}
			for _, bad := range []string{``, ` `, `{`, `[1,]`, `{"a":1,"a":2}`, `"text"`, `{"x":1} {}`, "\xff"} {
				if _, err := Records(a, []byte(bad)); err == nil {
					t.Errorf("Records(%q): no error", bad)
				}
				if _, err := convertedRecords(t, a, bad); err == nil {
					t.Errorf("Convert(%q): no error, Records refuses it", bad)
				}
			}
		})
	}
	if PageKeys(nil) != nil {
		t.Error("PageKeys(nil) is not nil")
	}
}

// FuzzRecords: whatever the input, Records counts the records Convert
// reads, and refuses exactly what Convert refuses.
func FuzzRecords(f *testing.F) {
	for _, a := range all {
		for _, line := range goldenLines(f, a.Name()) {
			f.Add(a.Name(), line)
		}
	}
	f.Add("entra-signin", []byte(`{"id":"1","authenticationDetails":[{},{}]}`))
	f.Add("teamviewer", []byte(`{"records":[{}],"AuditEvents":[{},{}]}`))
	f.Fuzz(func(t *testing.T, format string, raw []byte) {
		a, ok := Get(format)
		if !ok {
			a = all[len(format)%len(all)]
		}
		n, err := Records(a, raw)
		conv, cerr := convertedRecords(t, a, string(raw))
		if (err == nil) != (cerr == nil) {
			t.Fatalf("%s: Records error %v, Convert error %v, on %q", a.Name(), err, cerr, raw)
		}
		if err == nil && n != conv {
			t.Fatalf("%s: Records %d, Convert read %d, on %q", a.Name(), n, conv, raw)
		}
	})
}

// goldenLines are the non-blank lines of a format's golden input.
func goldenLines(f *testing.F, format string) [][]byte {
	f.Helper()
	data, err := os.ReadFile("testdata/" + format + ".jsonl")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}
