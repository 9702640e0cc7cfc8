package adapt

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConvert converts each format's golden input records (the lines
// that convert without skips or errors) into contract v1 JSON (Out.JSON),
// as tripline convert does before the contract decoder; records/s is the
// throughput per core.
func BenchmarkConvert(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			a, _ := Get(name)
			input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			// Lines whose every record converts: errors are rare in real
			// exports and cost formatting, not conversion.
			var lines [][]byte
			for _, l := range bytes.Split(input, []byte("\n")) {
				ok := len(bytes.TrimSpace(l)) > 0
				err := a.Convert(l, testMSP, func(o Out) error {
					ok = ok && o.Event != nil
					return nil
				})
				if ok && err == nil {
					lines = append(lines, l)
				}
			}
			records := 0
			var buf []byte
			emit := func(o Out) error {
				if o.Event != nil && o.JSON == nil {
					// What ingest and tripline convert do: the
					// adapter's encoding, else their own.
					var err error
					if buf, err = AppendEncode(buf[:0], o.Event); err != nil {
						b.Fatal(err)
					}
				}
				return nil
			}
			count := func(o Out) error { records++; return nil }
			for _, l := range lines {
				_ = a.Convert(l, testMSP, count)
			}
			perRound := records
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, l := range lines {
					_ = a.Convert(l, testMSP, emit)
				}
			}
			b.StopTimer()
			total := float64(perRound) * float64(b.N)
			b.ReportMetric(total/b.Elapsed().Seconds(), "records/s")
			// On a shared machine wall time says little about one core:
			// records per second of this process's CPU time (GC included).
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(total/cpu, "records/cpu-s")
			}
		})
	}
}
