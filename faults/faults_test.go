package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/kafkaio"
)

// ClickHouseOutage is how long TestClickHouseOutage keeps ClickHouse down:
// the reference scenario's 30 s, long enough for the retry backoff to
// reach its 10 s cap several times. FAULTS_CH_OUTAGE (a Go duration)
// overrides it (e.g. 8s while iterating).
const ClickHouseOutage = 30 * time.Second

// BrokerOutage is how long TestBrokerOutage keeps the broker away.
const BrokerOutage = 5 * time.Second

func faultSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FAULTS_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("fault seed %d (FAULTS_SEED=%d reproduces the schedule)", seed, seed)
	return seed
}

// TestSIGKILLWorkers kills ingest, detect or both with SIGKILL at random
// points while they work through a backlog, restarts them, and checks
// nothing was lost or duplicated after dedup.
func TestSIGKILLWorkers(t *testing.T) {
	e := newEnv(t)
	const kills = 5
	ds := e.newDataset(dataOptions{seed: 1, events: 20000, chunks: 2*kills + 1, badPerChunk: 4})
	rng := rand.New(rand.NewPCG(faultSeed(t), 0))
	ing := e.startWorker("ingest", "ingest", 300, "--kafka-session-timeout", "6s")
	det := e.startWorker("detect", "detect", 300, "--kafka-session-timeout", "6s")

	for i := 0; i < kills; i++ {
		e.produce(ds.chunks[2*i])
		var victims []*worker
		switch rng.IntN(3) {
		case 0:
			victims = []*worker{ing}
		case 1:
			victims = []*worker{det}
		default:
			victims = []*worker{ing, det}
		}
		// Kill once the victims are working on the backlog, at a random
		// point within the next few batches.
		e.waitWorking(victims...)
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		for _, w := range victims {
			handled := w.handled()
			w.kill()
			t.Logf("kill %d: SIGKILL %s after it handled %.0f messages in this run", i+1, w.name, handled)
		}
		e.produce(ds.chunks[2*i+1]) // arrives while they are down
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		for _, w := range victims {
			w.start()
		}
	}
	e.produce(ds.chunks[2*kills])
	e.waitCaughtUp(2*time.Minute, ing, det)
	e.stopWorkers(ing, det)
	// A kill between a dead-letter write and the commit replays the
	// message: dead letters are unique by source coordinates, not on the
	// topic.
	e.verify(ds, false)
}

// TestClickHouseOutage stops ClickHouse mid-stream for ClickHouseOutage:
// the workers must report not-ready, stop committing, not buffer the
// backlog in memory, and resume once ClickHouse is back.
func TestClickHouseOutage(t *testing.T) {
	outage := ClickHouseOutage
	if s := os.Getenv("FAULTS_CH_OUTAGE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("FAULTS_CH_OUTAGE: %v", err)
		}
		outage = d
	}
	e := newEnv(t)
	const batch = 200
	// The last 5 chunks are produced during the outage, padded to 12 KiB
	// per event: a ~90 MiB backlog a worker must not pull into memory.
	ds := e.newDataset(dataOptions{seed: 2, events: 12000, chunks: 8, badPerChunk: 3, pad: 12 << 10, paddedChunks: 5})
	// GOGC=50 keeps the heap close to what is live, so RSS tracks what the
	// worker holds rather than when the collector last ran.
	ing := e.newWorker("ingest", "ingest", batch)
	ing.env = []string{"GOGC=50"}
	ing.start()
	det := e.startWorker("detect", "detect", batch)
	for _, c := range ds.chunks[:3] {
		e.produce(c)
	}
	e.waitCaughtUp(time.Minute, ing, det)
	for _, w := range []*worker{ing, det} {
		if code := w.readyz(); code != http.StatusOK {
			t.Fatalf("%s /readyz = %d before the outage, want 200", w.name, code)
		}
	}

	// Stop ClickHouse (SIGTERM, like a service stop) and keep its data.
	pid := e.ch.PID()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for e.ch.PID() != 0 {
		if time.Since(start) > 20*time.Second {
			t.Fatal("clickhouse did not stop within 20s of SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("clickhouse stopped in %s; keeping it down for %s", time.Since(start).Round(time.Millisecond), outage)
	start = time.Now()
	before := e.committed(ingestGroup, rawTopics)
	rss0 := rssBytes(ing.pid())
	consumed0 := ing.metric("tripline_ingest_consumed_total")
	produced := e.produceAll(&dataset{chunks: ds.chunks[3:]}, 200*time.Millisecond)

	notReady := map[string]bool{}
	var rssMax int64
	var lagMax float64
	for time.Since(start) < outage {
		for _, w := range []*worker{ing, det} {
			if !w.running() {
				t.Fatalf("%s exited during the ClickHouse outage: %v\n%s", w.name, w.err, w.logTail(20))
			}
			if w.readyz() == http.StatusServiceUnavailable {
				notReady[w.name] = true
			}
		}
		rssMax = max(rssMax, rssBytes(ing.pid()))
		lagMax = max(lagMax, ing.metric("tripline_consumer_lag"))
		time.Sleep(200 * time.Millisecond)
	}
	<-produced
	if lagMax == 0 {
		t.Error("tripline_consumer_lag of ingest stayed 0 while a backlog built up")
	}
	for _, w := range []*worker{ing, det} {
		if !notReady[w.name] {
			t.Errorf("%s: /readyz never reported 503 during the ClickHouse outage", w.name)
		}
	}
	if after := e.committed(ingestGroup, rawTopics); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("ingest committed offsets moved while ClickHouse was down:\nbefore %v\nafter  %v", before, after)
	}
	// (detect may legitimately commit batches that raised no detection:
	// they need nothing from ClickHouse.)
	consumed1 := ing.metric("tripline_ingest_consumed_total")
	if consumed1-consumed0 > 2*batch {
		t.Errorf("ingest processed %.0f messages while ClickHouse was down; it should hold one batch (%d) and retry it", consumed1-consumed0, batch)
	}
	if errs := ing.metric("tripline_ingest_batch_errors_total"); errs == 0 {
		t.Errorf("ingest counted no failed batch attempts during the outage")
	}
	// ~90 MiB arrived during the outage; a worker that buffered it would
	// grow by at least that much. What it may hold: the reader's queue
	// (1000 messages) and each partition reader's current message, the
	// consumer's channel (200), one batch being filled, one waiting and one
	// being retried (3 x 200) with its prepared rows: ~2,000 messages,
	// ~30 MiB live, ~40-45 MiB of heap at GOGC=50 (measured: 19-40 MiB).
	const rssBound = 64 << 20
	t.Logf("ingest RSS %d MiB before the backlog, at most %d MiB during it; processed %.0f messages during the outage; lag metric up to %.0f",
		rss0>>20, rssMax>>20, consumed1-consumed0, lagMax)
	if rssMax-rss0 > rssBound {
		t.Errorf("ingest RSS grew by %d MiB during the outage (bound %d MiB): the backlog is being buffered", (rssMax-rss0)>>20, rssBound>>20)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.ch.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("clickhouse back after %s", time.Since(start).Round(time.Millisecond))
	e.waitCaughtUp(2*time.Minute, ing, det)
	for _, w := range []*worker{ing, det} {
		waitReady(t, w, 15*time.Second)
	}
	t.Logf("caught up %s after the outage ended", time.Since(start.Add(outage)).Round(time.Millisecond))
	e.stopWorkers(ing, det)
	e.verify(ds, true)
}

// TestClickHouseKilledMidInsert SIGKILLs ClickHouse while an INSERT into
// tripline.events is running, twice.
func TestClickHouseKilledMidInsert(t *testing.T) {
	e := newEnv(t)
	ds := e.newDataset(dataOptions{seed: 3, events: 30000, chunks: 6, badPerChunk: 3})
	ing := e.startWorker("ingest", "ingest", 5000)
	det := e.startWorker("detect", "detect", 1000)
	done := e.produceAll(ds, 300*time.Millisecond)

	kills := 0
	deadline := time.Now().Add(30 * time.Second)
	for kills < 2 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var n uint64
		err := e.conn.QueryRow(ctx, "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO%.events%'").Scan(&n)
		cancel()
		if err != nil || n == 0 {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if err := e.ch.Kill(); err != nil {
			t.Fatal(err)
		}
		kills++
		t.Logf("kill %d: SIGKILL clickhouse during an INSERT into events", kills)
		time.Sleep(500 * time.Millisecond)
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		err = e.ch.Restart(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if kills == 0 {
		t.Fatal("never saw an INSERT running to kill ClickHouse in")
	}
	<-done
	e.waitCaughtUp(2*time.Minute, ing, det)
	e.stopWorkers(ing, det)
	e.verify(ds, true)
}

// TestDetectRebalance has a second detect worker join the group mid-stream
// and leave again, so partitions move while batches are in flight.
func TestDetectRebalance(t *testing.T) {
	e := newEnv(t)
	ds := e.newDataset(dataOptions{seed: 4, events: 20000, chunks: 10, badPerChunk: 2})
	ing := e.startWorker("ingest", "ingest", 500)
	det1 := e.startWorker("detect", "detect-1", 200)
	done := e.produceAll(ds, 400*time.Millisecond)

	time.Sleep(800 * time.Millisecond)
	det2 := e.startWorker("detect", "detect-2", 200)
	deadline := time.Now().Add(20 * time.Second)
	for det2.metric("tripline_detect_events_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the second detect worker got no partition within 20s\n%s", det2.logTail(20))
		}
		if !det2.running() {
			t.Fatalf("detect-2 exited: %v\n%s", det2.err, det2.logTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("detect-2 joined and handled %.0f events; detect-1 %.0f", det2.metric("tripline_detect_events_total"), det1.metric("tripline_detect_events_total"))
	time.Sleep(500 * time.Millisecond)
	handled := det2.metric("tripline_detect_events_total")
	e.stopWorkers(det2) // leaves the group mid-stream
	t.Logf("detect-2 left after handling %.0f events", handled)
	<-done
	e.waitCaughtUp(2*time.Minute, ing, det1)
	e.stopWorkers(ing, det1)
	e.verify(ds, true)
}

// TestBrokerOutage takes the broker away mid-stream and brings it back on
// the same port with the same data.
func TestBrokerOutage(t *testing.T) {
	e := newEnv(t)
	ds := e.newDataset(dataOptions{seed: 5, events: 16000, chunks: 8, badPerChunk: 3})
	ing := e.startWorker("ingest", "ingest", 300)
	det := e.startWorker("detect", "detect", 300)
	for _, c := range ds.chunks[:4] {
		e.produce(c)
	}
	time.Sleep(300 * time.Millisecond) // the workers are busy with it
	e.stopBroker()
	start := time.Now()
	notReady := map[string]bool{}
	for time.Since(start) < BrokerOutage {
		for _, w := range []*worker{ing, det} {
			if !w.running() {
				t.Fatalf("%s exited during the broker outage: %v\n%s", w.name, w.err, w.logTail(20))
			}
			if w.readyz() == http.StatusServiceUnavailable {
				notReady[w.name] = true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, w := range []*worker{ing, det} {
		if !notReady[w.name] {
			t.Errorf("%s: /readyz never reported 503 while the broker was away", w.name)
		}
	}
	e.startBroker()
	t.Logf("broker back after %s", time.Since(start).Round(time.Millisecond))
	for _, c := range ds.chunks[4:] {
		e.produce(c)
	}
	e.waitCaughtUp(2*time.Minute, ing, det)
	t.Logf("caught up %s after the broker came back", time.Since(start.Add(BrokerOutage)).Round(time.Millisecond))
	for _, w := range []*worker{ing, det} {
		waitReady(t, w, 15*time.Second)
	}
	e.stopWorkers(ing, det)
	// A produce the broker wrote but never acknowledged before it went
	// away is retried: dead letters are unique by coordinates.
	e.verify(ds, false)
}

// TestPoisonMessages puts poison between valid events on the raw topics
// (and foreign, non-contract messages on tripline.events): valid events
// flow on, each poison message is dead-lettered exactly once.
func TestPoisonMessages(t *testing.T) {
	e := newEnv(t)
	ds := e.newDataset(dataOptions{seed: 6, events: 6000, chunks: 3, badPerChunk: 6})
	poison := []string{
		strings.Repeat("[", 200000) + strings.Repeat("]", 200000),
		`{"event_type":"auth.login","actor":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat("}", 5000) + `}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u","asn":1e400}}`,
		`{"event_type":"auth.login","event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x"}`,
		`null`,
		"\xef\xbb\xbf{}",
	}
	for i, p := range poison {
		ds.invalid[p] = "" // any reason, but exactly once
		c := ds.chunks[i%len(ds.chunks)]
		at := len(c) / 2
		c = append(c[:at], append([]kafka.Message{{Topic: rawTopics[i%2], Value: []byte(p)}}, c[at:]...)...)
		ds.chunks[i%len(ds.chunks)] = c
	}
	// Messages around the size limits (511 KiB to the raw topic's limit,
	// valid and invalid), 50,000 attribute keys and a duplicate msp, spread
	// over the chunks: before, one valid message over 512 KiB stopped
	// ingest on every partition for good.
	for i, m := range e.sizeMessages(ds) {
		c := ds.chunks[i%len(ds.chunks)]
		at := (len(c) * (i + 1)) / 12
		ds.chunks[i%len(ds.chunks)] = append(c[:at], append([]kafka.Message{m}, c[at:]...)...)
	}
	// Foreign messages on the normalised topic reach detect, which must
	// dead-letter them rather than stall its partition; the last is too big
	// for tripline.dlq with the dead-letter headers, so it is reduced.
	foreign := []string{`{"hello":"world"}`, `not json at all`, `{"event_type":"auth.login"}`,
		strings.Repeat("F", kafkaio.WriterBatchBytes(kafkaio.TopicMaxMessageBytes)-100)}
	var foreignMsgs []kafka.Message
	for _, f := range foreign {
		ds.invalid[f] = ""
		foreignMsgs = append(foreignMsgs, kafka.Message{Topic: kafkaio.TopicEvents, Key: []byte("foreign"), Value: []byte(f)})
	}
	ing := e.startWorker("ingest", "ingest", 500)
	det := e.startWorker("detect", "detect", 500)
	e.produce(ds.chunks[0])
	e.produce(foreignMsgs)
	for _, c := range ds.chunks[1:] {
		e.produce(c)
	}
	e.waitCaughtUp(2*time.Minute, ing, det)
	for _, w := range []*worker{ing, det} {
		if code := w.readyz(); code != http.StatusOK {
			t.Errorf("%s /readyz = %d after the poison, want 200", w.name, code)
		}
	}
	if got, want := ing.metric("tripline_ingest_dead_lettered_total"), float64(len(ds.invalid)-len(foreign)); got != want {
		t.Errorf("tripline_ingest_dead_lettered_total = %.0f, want %.0f", got, want)
	}
	if got := det.metric("tripline_detect_undecodable_total"); got != float64(len(foreign)) {
		t.Errorf("tripline_detect_undecodable_total = %.0f, want %d", got, len(foreign))
	}
	// No fault here, so no replay: the insert metrics count each row once.
	// By table: detect also writes correlation frontiers.
	if got := ing.metric(`tripline_clickhouse_rows_inserted_total{table="events"}`); got != float64(len(ds.valid)) {
		t.Errorf("ingest tripline_clickhouse_rows_inserted_total{table=events} = %.0f, want %d", got, len(ds.valid))
	}
	if got := det.metric(`tripline_clickhouse_rows_inserted_total{table="detections"}`); got != float64(len(ds.detections)) {
		t.Errorf("detect tripline_clickhouse_rows_inserted_total{table=detections} = %.0f, want %d", got, len(ds.detections))
	}
	if ing.metric("tripline_clickhouse_insert_seconds_count") == 0 || ing.metric("tripline_consumer_lag_errors_total") != 0 {
		t.Error("ingest: no insert latency observed, or lag polls failed with the broker up")
	}
	for _, w := range []*worker{ing, det} {
		if got := w.metric("tripline_ready"); got != 3 {
			t.Errorf("%s: tripline_ready sums to %.0f, want 3 conditions (pipeline, clickhouse, kafka) at 1", w.name, got)
		}
	}
	e.stopWorkers(ing, det)
	e.verify(ds, true)
}

// TestSIGTERMWhileBatchCannotFlush: SIGTERM while ClickHouse is down and a
// batch is being retried ends ingest with exit status 0 within
// --shutdown-timeout, commits nothing of that batch, and a restarted
// ingest stores it. Before, the worker exited 1 after the timeout and more.
func TestSIGTERMWhileBatchCannotFlush(t *testing.T) {
	e := newEnv(t)
	ds := e.newDataset(dataOptions{seed: 7, events: 2000, chunks: 2, badPerChunk: 2})
	const timeout = 5 * time.Second
	ing := e.startWorker("ingest", "ingest", 200, "--shutdown-timeout", timeout.String())
	det := e.startWorker("detect", "detect", 200)
	e.produce(ds.chunks[0])
	e.waitCaughtUp(time.Minute, ing, det)

	if err := syscall.Kill(e.ch.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	before := e.committed(ingestGroup, rawTopics)
	errs0 := ing.metric("tripline_ingest_batch_errors_total")
	e.produce(ds.chunks[1])
	for deadline := time.Now().Add(time.Minute); ing.metric("tripline_ingest_batch_errors_total") == errs0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ingest never failed a batch with ClickHouse down")
		}
	}
	start := time.Now()
	if err := ing.stop(timeout + 2*time.Second); err != nil {
		t.Fatalf("SIGTERM with a batch that cannot be written: %v\n%s", err, ing.logTail(10))
	}
	took := time.Since(start)
	t.Logf("ingest exited 0 %s after SIGTERM (--shutdown-timeout %s)", took.Round(time.Millisecond), timeout)
	if took > timeout+time.Second {
		t.Errorf("ingest took %s to exit, more than --shutdown-timeout %s", took.Round(time.Millisecond), timeout)
	}
	if !strings.Contains(ing.logTail(20), "will be redelivered") {
		t.Errorf("ingest did not log that the unflushed batch will be redelivered:\n%s", ing.logTail(20))
	}
	if after := e.committed(ingestGroup, rawTopics); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("ingest committed offsets of a batch it could not store:\nbefore %v\nafter  %v", before, after)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.ch.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	ing.start()
	e.waitCaughtUp(2*time.Minute, ing, det)
	e.stopWorkers(ing, det)
	// The abandoned batch's dead letters may have been written before
	// SIGTERM and are written again: unique by coordinates.
	e.verify(ds, false)
}

// waitReady waits for the worker's /readyz to say 200 again.
func waitReady(t *testing.T, w *worker, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for w.readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Errorf("%s /readyz not 200 within %s of the fault ending", w.name, timeout)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
