package adapt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchPage is a Datto RMM activity page of n records, cycling through
// the sample's first page (a job/deploy, a remote/connect, an alert) with
// distinct ids.
func benchPage(tb testing.TB, n int) []byte {
	input, err := os.ReadFile(filepath.Join("testdata", "datto-rmm.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	first, _, _ := bytes.Cut(input, []byte("\n"))
	_, items, _ := bytes.Cut(first, []byte(`"activities":[`))
	items = bytes.TrimSuffix(items, []byte("]}"))
	recs := bytes.SplitAfter(items, []byte(`},{"id"`))
	var b bytes.Buffer
	b.WriteString(`{"pageDetails":{"count":` + fmt.Sprint(n) + `},"activities":[`)
	for i := 0; i < n; i++ {
		r := recs[i%len(recs)]
		r = bytes.TrimSuffix(r, []byte(`,{"id"`))
		if i%len(recs) != 0 {
			r = append([]byte(`{"id"`), r...)
		}
		// Distinct ids: the first character of the uuid varies.
		r = bytes.Replace(r, []byte(`{"id":"`), []byte(fmt.Sprintf(`{"id":"%06d-`, i)), 1)
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// BenchmarkMappingVsBuiltin converts the same Datto RMM page with the
// built-in adapter and with a mapping file (testdata/datto-like.yaml)
// reading the same records, encoding every event as tripline convert
// does; records/cpu-s is per core.
func BenchmarkMappingVsBuiltin(b *testing.B) {
	page := benchPage(b, 60)
	mapping, err := LoadMapping(filepath.Join("testdata", "datto-like.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	builtin, _ := Get("datto-rmm")
	example, err := LoadMapping(exampleMapping)
	if err != nil {
		b.Fatal(err)
	}
	vsa, err := os.ReadFile(filepath.Join("testdata", "kaseya-vsa.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	vsaPage, _, _ := bytes.Cut(vsa, []byte("\n"))
	for _, c := range []struct {
		name  string
		a     Adapter
		input []byte
	}{
		{"builtin-datto-rmm", builtin, page},
		{"mapping-datto-like", mapping, page},
		{"mapping-kaseya-vsa-example", example, vsaPage},
	} {
		b.Run(c.name, func(b *testing.B) {
			records, events := 0, 0
			_ = c.a.Convert(c.input, testMSP, func(o Out) error {
				records++
				if o.Err != nil {
					b.Fatalf("record %d: %v", o.Record, o.Err)
				}
				if o.Event != nil {
					events++
				}
				return nil
			})
			if events == 0 {
				b.Fatal("no events")
			}
			var buf []byte
			emit := func(o Out) error {
				if o.Event != nil {
					buf, _ = AppendEncode(buf[:0], o.Event)
				}
				return nil
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = c.a.Convert(c.input, testMSP, emit)
			}
			b.StopTimer()
			total := float64(records) * float64(b.N)
			b.ReportMetric(total/b.Elapsed().Seconds(), "records/s")
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(total/cpu, "records/cpu-s")
			}
		})
	}
}

// TestDattoLikeMatchesBuiltin: the benchmark's mapping reads the records
// as the built-in adapter does (same event IDs, types, times, tenants,
// users, hosts; same skips), so the comparison is of like with like.
func TestDattoLikeMatchesBuiltin(t *testing.T) {
	page := benchPage(t, 9)
	mapping, err := LoadMapping(filepath.Join("testdata", "datto-like.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := Get("datto-rmm")
	summary := func(a Adapter) []string {
		var out []string
		if err := a.Convert(page, testMSP, func(o Out) error {
			switch {
			case o.Err != nil:
				out = append(out, "error "+o.Err.Error())
			case o.Skip != "":
				out = append(out, "skip")
			default:
				e := o.Event
				out = append(out, fmt.Sprintf("%s %s %s %s %s %s", e.EventID[len(a.Name()):], e.EventType, e.Time.UTC().Format("15:04:05.000"), e.Tenant, e.Actor.User, e.Target.Host))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := summary(mapping), summary(builtin)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 9 {
		t.Fatalf("mapping:\n%q\nbuilt-in:\n%q", got, want)
	}
}
