//go:build linux

package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/kafkaio"
)

// BenchmarkEndToEnd is the whole pipeline as it is deployed, on this
// machine: TRIPLINE_E2E_EVENTS simulated events (default 200,000, about
// the 192,372 of issue 13's measurement) are in the raw topics of a broker
// listening on TCP before `tripline ingest` and `tripline detect` start as
// two processes with default flags (the embedded rule pack); the clock
// runs until both consumer groups have committed everything, which they do
// only after ClickHouse acknowledged the rows. The broker (kfake, in this
// test process) and the ClickHouse server share the machine's cores with
// the workers, as in the smallest deployment.
//
// Besides events/s it reports the CPU each part used per event (from
// /proc and getrusage), the input of the capacity model in the README:
// ingest-cpu-µs/event, detect-cpu-µs/event, clickhouse-cpu-µs/event and
// broker-cpu-µs/event (the test process: kfake plus this loop's polling).
// `make bench-e2e` runs it once; each iteration builds a fresh world, so
// run it with -benchtime 1x. TRIPLINE_E2E_PROFILE=DIR also writes a 20 s
// CPU profile of each worker (from --pprof) to DIR/ingest.cpu and
// DIR/detect.cpu, taken from the second second of the run.
func BenchmarkEndToEnd(b *testing.B) {
	n := 200000
	if s := os.Getenv("TRIPLINE_E2E_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("TRIPLINE_E2E_EVENTS=%q: want a number ≥ 1000", s)
		}
		n = v
	}
	var events, elapsed, ingestCPU, detectCPU, chCPU, selfCPU float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		produced := e.produceSimulated(n)
		chBefore := procCPU(e.ch.PID())
		selfBefore := selfCPUSeconds()
		b.StartTimer()

		profileDir := os.Getenv("TRIPLINE_E2E_PROFILE")
		var extra []string
		if profileDir != "" {
			extra = []string{"--pprof"}
		}
		start := time.Now()
		ingest := e.startDefaultWorker("ingest", "ingest-e2e", extra...)
		detect := e.startDefaultWorker("detect", "detect-e2e", extra...)
		var profiles sync.WaitGroup
		if profileDir != "" {
			for _, w := range []*worker{ingest, detect} {
				profiles.Go(func() {
					w.cpuProfile(filepath.Join(profileDir, strings.TrimSuffix(w.name, "-e2e")+".cpu"), time.Second, 20)
				})
			}
		}
		e.waitCaughtUp(30*time.Minute, ingest, detect)
		took := time.Since(start)
		profiles.Wait()

		b.StopTimer()
		ingestCPU += procCPU(ingest.pid())
		detectCPU += procCPU(detect.pid())
		chCPU += procCPU(e.ch.PID()) - chBefore
		selfCPU += selfCPUSeconds() - selfBefore
		elapsed += took.Seconds()
		events += float64(produced)
		e.stopWorkers(ingest, detect)
		rows, _, err := e.st.CountEvents(context.Background())
		if err != nil || rows != uint64(produced) {
			b.Fatalf("stored %d events, want %d (%v)", rows, produced, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(events/elapsed, "events/s")
	perEvent := func(cpu float64) float64 { return cpu / events * 1e6 }
	b.ReportMetric(perEvent(ingestCPU), "ingest-cpu-µs/event")
	b.ReportMetric(perEvent(detectCPU), "detect-cpu-µs/event")
	b.ReportMetric(perEvent(chCPU), "clickhouse-cpu-µs/event")
	b.ReportMetric(perEvent(selfCPU), "broker-cpu-µs/event")
}

// produceSimulated writes n simulated events (a month's mix with two
// attacks) to the raw topics and returns how many were written.
func (e *env) produceSimulated(n int) int {
	e.t.Helper()
	gen := simulatedWorkload(e.t, n)
	w := e.producer()
	defer w.Close()
	ctx := context.Background()
	batch := make([]kafka.Message, 0, 10000)
	produced := 0
	for {
		m, ok := gen.Next()
		if ok {
			batch = append(batch, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
		}
		if len(batch) == cap(batch) || (!ok && len(batch) > 0) {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				e.t.Fatalf("produce: %v", kafkaio.SummariseWriteError(err))
			}
			produced += len(batch)
			batch = batch[:0]
		}
		if !ok {
			return produced
		}
	}
}

// startDefaultWorker starts `tripline ingest|detect` with default flags:
// only where the broker, ClickHouse and its metrics are, and the group.
func (e *env) startDefaultWorker(role, name string, extra ...string) *worker {
	e.t.Helper()
	w := e.addWorker(role, name, extra...)
	w.start()
	return w
}

// procCPU is a process's user+system CPU seconds so far
// (chserver.ProcessCPU; 0 when it cannot be read).
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	d, err := chserver.ProcessCPU(pid)
	if err != nil {
		return 0
	}
	return d.Seconds()
}

func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// cpuProfile waits, then saves a CPU profile of seconds from the worker's
// /debug/pprof/profile to path; a failure is logged, not fatal: the
// figures do not depend on it.
func (w *worker) cpuProfile(path string, wait time.Duration, seconds int) {
	time.Sleep(wait)
	c := http.Client{Timeout: time.Duration(seconds+10) * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", w.metrics, seconds))
	if err != nil {
		w.e.t.Logf("profile %s: %v", w.name, err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", resp.Status, b)
	}
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		w.e.t.Logf("profile %s: %v", w.name, err)
	}
}
