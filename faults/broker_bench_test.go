//go:build linux

package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/simulate"
)

// BenchmarkBrokerAlone is the test broker (kfake) alone on the Kafka traffic
// of BenchmarkEndToEnd, driven by kcat (librdkafka) instead of tripline's
// workers: the same simulated events in the raw topics, read once (ingest's
// read); each as the binary event ingest forwards (its provenance inside the
// encoding, no headers), written to tripline.events and read once (detect's
// write and read). The broker is started as the end-to-end benchmark starts it (4
// partitions a topic, its log persisted to a data directory), and
// broker-cpu-µs/event is this test process's CPU (kfake's, since every client
// is a kcat process) over the timed part. It answers whether the broker's
// share in BenchmarkEndToEnd is the broker's own cost or a consequence of how
// kafka-go talks to it, and bounds what the pipeline can reach on this
// machine with this broker: 2 cores hold 2,000,000 µs a second.
//
// It needs kcat (Debian's `kcat` package); it is not part of `make test`.
func BenchmarkBrokerAlone(b *testing.B) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		b.Fatalf("kcat not found (apt-get install kcat): %v", err)
	}
	n := 200000
	if s := os.Getenv("TRIPLINE_E2E_EVENTS"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("TRIPLINE_E2E_EVENTS=%q: want a number ≥ 1000", s)
		}
	}
	dir := b.TempDir()
	w := writeBrokerWorkload(b, dir, n)
	var events, elapsed, brokerCPU float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		brk, err := broker.Start(broker.Options{Partitions: partitions, DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		addr := brk.Addrs()[0]
		for topic, file := range w.raw {
			runKcat(b, kcat, "-P", "-b", addr, "-t", topic, "-K", `\t`, "-l", file)
		}
		self0 := selfCPUSeconds()
		start := time.Now()
		b.StartTimer()

		// ingest's read of the raw topics and, at the same time, its
		// writes to tripline.events; then detect's read.
		var wg sync.WaitGroup
		for topic := range w.raw {
			wg.Go(func() { consumeAll(b, kcat, addr, topic, w.perTopic[topic]) })
		}
		wg.Go(func() {
			runKcat(b, kcat, "-P", "-b", addr, "-t", kafkaio.TopicEvents, "-K", w.keyDelim, "-D", w.msgDelim, "-l", w.events)
		})
		wg.Wait()
		consumeAll(b, kcat, addr, kafkaio.TopicEvents, n)

		b.StopTimer()
		elapsed += time.Since(start).Seconds()
		brokerCPU += selfCPUSeconds() - self0
		events += float64(n)
		brk.Close()
		b.StartTimer()
	}
	b.ReportMetric(events/elapsed, "events/s")
	b.ReportMetric(brokerCPU/events*1e6, "broker-cpu-µs/event")
}

// brokerWorkload is the input files of BenchmarkBrokerAlone.
type brokerWorkload struct {
	raw      map[string]string // raw topic → file of key\tvalue lines
	perTopic map[string]int
	events   string // the forwarded binary events, keyDelim and msgDelim separated
	keyDelim string
	msgDelim string
}

// writeBrokerWorkload writes the end-to-end benchmark's simulated events
// (simulatedWorkload) as kcat input files: the raw JSON per topic, and the
// binary events ingest forwards. Binary values may hold any byte, so the
// message delimiter is a byte sequence checked to occur in none of them.
func writeBrokerWorkload(b *testing.B, dir string, n int) brokerWorkload {
	b.Helper()
	gen := simulatedWorkload(b, n)
	w := brokerWorkload{raw: map[string]string{}, perTopic: map[string]int{},
		events: filepath.Join(dir, "events.bin"), keyDelim: `\t`,
		msgDelim: `\xf5\xf7\xf6\xf8`}
	delim := []byte{0xf5, 0xf7, 0xf6, 0xf8}
	files := map[string]*bufio.Writer{}
	var closers []*os.File
	open := func(path string) *bufio.Writer {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		closers = append(closers, f)
		return bufio.NewWriterSize(f, 1<<20)
	}
	evOut := open(w.events)
	var dec contract.Decoder
	var buf []byte
	written := 0
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		raw, seen := files[m.Topic]
		if !seen {
			path := filepath.Join(dir, "raw-"+m.Topic+".jsonl")
			raw = open(path)
			files[m.Topic] = raw
			w.raw[m.Topic] = path
		}
		if bytes.ContainsAny(m.Value, "\t\n") || bytes.ContainsAny(m.Key, "\t\n") {
			b.Fatalf("a raw message holds a tab or newline, kcat's delimiters: %q", m.Value)
		}
		raw.Write(m.Key)
		raw.WriteByte('\t')
		raw.Write(m.Value)
		raw.WriteByte('\n')
		w.perTopic[m.Topic]++

		ev, err := dec.Decode(m.Value)
		if err != nil {
			b.Fatalf("simulated event rejected: %v", err)
		}
		if buf, err = ev.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
		// Where ingest read it, as ingest.Handler.forward appends it (an
		// offset of the usual length).
		buf = contract.AppendProvenance(buf, contract.Provenance{Topic: m.Topic, Partition: 3, Offset: int64(123456 + written)})
		if bytes.Contains(buf, delim) {
			b.Fatalf("the message delimiter occurs in a binary event")
		}
		if written > 0 {
			evOut.Write(delim)
		}
		evOut.Write(m.Key)
		evOut.WriteByte('\t')
		evOut.Write(buf)
		written++
	}
	if written != n {
		b.Fatalf("simulated %d events, want %d", written, n)
	}
	for _, bw := range append([]*bufio.Writer{evOut}, slices.Collect(maps.Values(files))...) {
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range closers {
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

// consumeAll reads a topic from the beginning to its end with kcat and
// checks the count, with fetches as large as the workers' (kafkaio's 16 MiB
// per fetch).
func consumeAll(b *testing.B, kcat, addr, topic string, want int) {
	out := runKcat(b, kcat, "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q",
		"-X", "fetch.max.bytes=16777216", "-X", "max.partition.fetch.bytes=16777216",
		"-f", `\n`)
	if got := bytes.Count(out, []byte{'\n'}); got != want {
		b.Errorf("kcat read %d messages from %s, want %d", got, topic, want)
	}
}

func runKcat(b *testing.B, kcat string, args ...string) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Errorf("kcat %v: %v: %s", args, err, stderr.Bytes())
	}
	return out
}

// simulatedWorkload is the generator of the end-to-end benchmarks: n events
// of a month's mix with two attacks.
func simulatedWorkload(t testing.TB, n int) *simulate.Generator {
	t.Helper()
	gen, err := simulate.New(simulate.Config{Seed: 11, Events: n,
		Start:     time.Now().UTC().AddDate(0, 0, -40).Truncate(time.Hour),
		Scenarios: []string{"kaseya-style", "stolen-credential"}})
	if err != nil {
		t.Fatal(fmt.Errorf("simulate: %w", err))
	}
	return gen
}
