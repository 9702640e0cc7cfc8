package poll

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPoll is a whole pull: 5,000 NinjaOne activities in pages of
// 500 from a local HTTP server, written to the in-process broker over TCP
// (acks=all) and checkpointed (fsync) page by page, on the same cores.
func BenchmarkPoll(b *testing.B) {
	h := newHarness(b, NinjaOne, 500, "")
	h.v.add(5000, now.Add(-time.Hour))
	cp := checkpointFile(filepath.Join(h.dir, "cp"), NinjaOne+"-"+testMSP)
	b.ResetTimer()
	for range b.N {
		os.Remove(cp)
		if err := h.run(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPage is the poller's own work on a page of 500 activities,
// without network: reading it (advance) and building its Kafka messages
// (receive.Messages).
func BenchmarkPage(b *testing.B) {
	v := newVendor(b, NinjaOne)
	v.add(500, now.Add(-time.Hour))
	var body []byte
	body = append(body, `{"lastActivityId":599,"activities":[`...)
	for i := len(v.records) - 1; i >= 0; i-- {
		if i != len(v.records)-1 {
			body = append(body, ',')
		}
		body = append(body, v.record(v.records[i])...)
	}
	body = append(body, "]}"...)
	k := ninjaOne{base: v.srv.URL, pageSize: 500}
	p := &Poller{cfg: Config{Topic: "msp.vendor", MaxMessageBytes: 1 << 20}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		pg, err := k.advance(body, Checkpoint{}, now)
		if err != nil || pg.n != 500 {
			b.Fatal(err)
		}
		if _, err := pageMessages(p, pg, NinjaOne, testMSP, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "records/s")
}
