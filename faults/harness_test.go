package faults

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/store"
)

// Groups used by the worker processes.
const (
	ingestGroup = "faults-ingest"
	detectGroup = "faults-detect"
	partitions  = 4
)

var (
	rawTopics = []string{kafkaio.TopicRemoteSessions, kafkaio.TopicSoftwareUpdates}
	// tripline is the binary under test, built by TestMain.
	tripline string
	// rulesDir is a fixed stateless rule set, so these tests do not change
	// when the shipped pack does.
	rulesDir string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "tripline-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tripline = filepath.Join(dir, "tripline")
	build := exec.Command("go", "build", "-o", tripline, "github.com/tripline/tripline/cmd/tripline")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tripline:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	if rulesDir, err = filepath.Abs("testdata/rules"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's world: a private ClickHouse, a broker that can be
// restarted on the same port and data directory, and worker processes.
type env struct {
	t        testing.TB
	ch       *chserver.Server
	st       *store.Store
	conn     driver.Conn // for the checks' own queries
	brokerMu sync.Mutex
	brk      *broker.Broker
	port     int
	dataDir  string
	kafka    kafkaio.Config
	matcher  *rules.Manager

	mu      sync.Mutex
	workers []*worker
}

func newEnv(t testing.TB) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("fault tests need ClickHouse and worker processes")
	}
	e := &env{t: t, ch: chserver.ForTest(t), dataDir: t.TempDir(), port: freePort(t)}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Addr: e.ch.Addr(), ReadTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e.st = st
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.ch.Addr()}, DialTimeout: 2 * time.Second, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.conn = conn
	e.startBroker()
	t.Cleanup(func() {
		e.brokerMu.Lock()
		defer e.brokerMu.Unlock()
		if e.brk != nil {
			e.brk.Close()
		}
	})
	mgr, err := rules.NewManager(rules.ManagerConfig{Dir: rulesDir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	e.matcher = mgr
	// Workers go before the broker and ClickHouse (cleanups run LIFO).
	t.Cleanup(e.stopAll)
	return e
}

func (e *env) startBroker() {
	e.t.Helper()
	b, err := broker.Start(broker.Options{Partitions: partitions, DataDir: e.dataDir, Port: e.port})
	if err != nil {
		e.t.Fatal(err)
	}
	e.brokerMu.Lock()
	e.brk = b
	e.brokerMu.Unlock()
	e.kafka = b.Config()
}

func (e *env) stopBroker() {
	e.brokerMu.Lock()
	defer e.brokerMu.Unlock()
	e.brk.Close()
	e.brk = nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// worker is one `tripline ingest|detect` child process, restartable.
type worker struct {
	e       *env
	name    string
	args    []string
	env     []string // extra environment
	metrics string   // host:port of /metrics, /readyz
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid after done
	runs int
}

// workerFlags are small batches and short intervals, so that faults hit
// batches in flight.
func (e *env) startWorker(role, name string, batchSize int, extra ...string) *worker {
	e.t.Helper()
	w := e.newWorker(role, name, batchSize, extra...)
	w.start()
	return w
}

// newWorker prepares a worker without starting it.
func (e *env) newWorker(role, name string, batchSize int, extra ...string) *worker {
	e.t.Helper()
	if role == "detect" && !slices.Contains(extra, "--rules") {
		extra = append(extra, "--rules", rulesDir)
	}
	return e.addWorker(role, name, append([]string{
		"--batch-size", strconv.Itoa(batchSize),
		"--flush-interval", "50ms",
		"--shutdown-timeout", "10s",
		"--lag-interval", "500ms",
		"--log-format", "json",
		"--log-level", "info",
	}, extra...)...)
}

// addWorker prepares a worker with only the flags every worker needs (the
// broker, ClickHouse, its group and metrics address) and then extra.
func (e *env) addWorker(role, name string, extra ...string) *worker {
	e.t.Helper()
	w := &worker{e: e, name: name, metrics: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(e.t))),
		logPath: filepath.Join(e.t.TempDir(), name+".log")}
	group := ingestGroup
	if role == "detect" {
		group = detectGroup
	}
	w.args = append([]string{role,
		"--brokers", strings.Join(e.kafka.Brokers, ","),
		"--clickhouse", e.ch.Addr(),
		"--group", group,
		"--metrics-addr", w.metrics,
	}, extra...)
	e.mu.Lock()
	e.workers = append(e.workers, w)
	e.mu.Unlock()
	return w
}

func (w *worker) start() {
	w.e.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	logFile, err := os.OpenFile(w.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.e.t.Fatal(err)
	}
	w.runs++
	fmt.Fprintf(logFile, "=== run %d\n", w.runs)
	cmd := exec.Command(tripline, w.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childAttr()
	cmd.Env = append(append(os.Environ(), "GOMAXPROCS=2"), w.env...)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		w.e.t.Fatal(err)
	}
	done := make(chan struct{})
	w.cmd, w.done = cmd, done
	go func() {
		err := cmd.Wait()
		logFile.Close()
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(done)
	}()
}

func (w *worker) running() bool {
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

func (w *worker) pid() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cmd.Process.Pid
}

// kill SIGKILLs the process and reaps it.
func (w *worker) kill() {
	w.mu.Lock()
	cmd, done := w.cmd, w.done
	w.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop sends SIGTERM and waits for a clean exit (exit status 0) within
// timeout: the graceful shutdown path (flush, commit, leave the group).
func (w *worker) stop(timeout time.Duration) error {
	w.mu.Lock()
	cmd, done := w.cmd, w.done
	w.mu.Unlock()
	select {
	case <-done:
		w.mu.Lock()
		defer w.mu.Unlock()
		return fmt.Errorf("%s had already exited: %v", w.name, w.err)
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s did not exit within %s of SIGTERM", w.name, timeout)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return fmt.Errorf("%s exited with %v after SIGTERM", w.name, w.err)
	}
	return nil
}

// readyz returns the HTTP status of /readyz (0 when unreachable).
func (w *worker) readyz() int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + w.metrics + "/readyz")
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metric returns the sum of the samples of a metric family (0 when absent
// or unreachable).
func (w *worker) metric(name string) float64 {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + w.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// handled is how many messages the worker has consumed in its current run.
func (w *worker) handled() float64 {
	return w.metric("tripline_ingest_consumed_total") + w.metric("tripline_detect_events_total")
}

// waitWorking waits, up to 30 s, until each worker has handled a message
// in its current run (a restarted worker first waits for the group to drop
// its dead predecessor): a kill then lands while it works.
func (e *env) waitWorking(ws ...*worker) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range ws {
		for w.handled() == 0 && time.Now().Before(deadline) {
			if !w.running() {
				e.t.Fatalf("%s exited: %v\n%s", w.name, w.err, w.logTail(20))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// rssBytes is the process's resident set size from /proc.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (w *worker) logTail(n int) string {
	b, err := os.ReadFile(w.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stopAll stops every worker still running; on failure it logs their
// log tails.
func (e *env) stopAll() {
	e.mu.Lock()
	ws := append([]*worker(nil), e.workers...)
	e.mu.Unlock()
	for _, w := range ws {
		if w.running() {
			w.kill()
		}
		if e.t.Failed() {
			e.t.Logf("--- %s log tail (%s):\n%s", w.name, w.logPath, w.logTail(25))
		}
	}
}

// stopWorkers stops the workers gracefully and fails on an unclean exit.
func (e *env) stopWorkers(ws ...*worker) {
	e.t.Helper()
	for _, w := range ws {
		if err := w.stop(20 * time.Second); err != nil {
			e.t.Errorf("%v", err)
		}
	}
}

// waitCaughtUp waits until ingest has committed everything on the raw
// topics and then detect everything on the normalised topic, failing if
// a worker in ws dies meanwhile.
func (e *env) waitCaughtUp(timeout time.Duration, ws ...*worker) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	ctx := context.Background()
	var il, dl int64
	var err1, err2 error
	for time.Now().Before(deadline) {
		for _, w := range ws {
			if !w.running() {
				e.t.Fatalf("worker %s exited unexpectedly: %v\n%s", w.name, w.err, w.logTail(30))
			}
		}
		il, err1 = e.kafka.GroupLag(ctx, ingestGroup, rawTopics)
		if err1 == nil && il == 0 {
			dl, err2 = e.kafka.GroupLag(ctx, detectGroup, []string{kafkaio.TopicEvents})
			if err2 == nil && dl == 0 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("pipeline did not catch up within %s: ingest lag %d (%v), detect lag %d (%v)", timeout, il, err1, dl, err2)
}

// dataset is what a test produces and what it expects to find afterwards.
type dataset struct {
	chunks [][]kafka.Message
	// valid event IDs; invalid message values (each unique) with the
	// reason the dead letter must name ("" = any).
	valid   map[string]bool
	invalid map[string]contract.Reason
	// detections expected: detection_id -> rule id.
	detections map[string]string
}

// invalidKinds are the rejections interleaved with the valid events; %d
// makes each message unique so the DLQ check can find it.
var invalidKinds = []struct {
	format string
	reason contract.Reason
}{
	{`{"event_type":"auth.login","n":%d`, contract.ReasonMalformedJSON},
	{"{\"event_type\":\"auth.login\",\"n\":%d,\"msp\":\"\xfe\"}", contract.ReasonInvalidUTF8},
	{`{"event_type":"auth.logout","n":%d,"time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, contract.ReasonUnknownEventType},
	{`{"event_type":"software.push","n":%d,"time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, contract.ReasonMissingField},
	{`{"event_type":"script.run","n":%d,"time":"2099-01-01T00:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"}}`, contract.ReasonTimeOutOfRange},
	{`{"event_type":"script.run","n":%d,"time":"2026-11-20T10:00:00Z","msp":"m","tenant":["t"],"tool":"x","actor":{"user":"u"}}`, contract.ReasonWrongType},
}

// dataOptions shape a dataset.
type dataOptions struct {
	seed         int64
	events       int // valid events
	chunks       int
	badPerChunk  int // invalid messages per chunk, spread between valid ones
	pad          int // bytes of padding per valid event (an extra field, kept in attributes)
	paddedChunks int // pad only the last paddedChunks chunks
}

func (e *env) newDataset(o dataOptions) *dataset {
	e.t.Helper()
	gen, err := simulate.New(simulate.Config{Seed: o.seed, Events: o.events,
		Start:     time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour),
		Scenarios: []string{"kaseya-style", "stolen-credential"}})
	if err != nil {
		e.t.Fatal(err)
	}
	ds := &dataset{valid: map[string]bool{}, invalid: map[string]contract.Reason{}, detections: map[string]string{}}
	var all []simulate.Message
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		all = append(all, m)
	}
	per := (len(all) + o.chunks - 1) / o.chunks
	var dec contract.Decoder
	var matched []*engine.Rule
	bad := 0
	for c := 0; c < o.chunks; c++ {
		lo, hi := c*per, min((c+1)*per, len(all))
		padded := o.pad > 0 && c >= o.chunks-o.paddedChunks
		var chunk []kafka.Message
		every := max((hi-lo)/(o.badPerChunk+1), 1)
		for i := lo; i < hi; i++ {
			value := all[i].Value
			if padded {
				value = append([]byte(`{"pad":"`+strings.Repeat("p", o.pad)+`",`), value[1:]...)
			}
			_, doc, err := dec.DecodeNormalised(value)
			if err != nil {
				e.t.Fatalf("simulated event rejected: %v", err)
			}
			ev, err := dec.Decode(doc)
			if err != nil {
				e.t.Fatalf("normalised event rejected: %v", err)
			}
			if ds.valid[ev.EventID] {
				e.t.Fatalf("two simulated events with ID %s", ev.EventID)
			}
			ds.valid[ev.EventID] = true
			matched = e.matcher.Match(&ev, matched[:0])
			for _, r := range matched {
				ds.detections[detection.ID(r.Identity(), ev.EventID)] = r.Identity()
			}
			chunk = append(chunk, kafka.Message{Topic: all[i].Topic, Key: all[i].Key, Value: value})
			if (i-lo+1)%every == 0 && (i-lo+1)/every <= o.badPerChunk {
				k := invalidKinds[bad%len(invalidKinds)]
				v := fmt.Sprintf(k.format, bad)
				bad++
				ds.invalid[v] = k.reason
				chunk = append(chunk, kafka.Message{Topic: rawTopics[bad%2], Key: []byte("bad"), Value: []byte(v)})
			}
		}
		ds.chunks = append(ds.chunks, chunk)
	}
	if len(ds.detections) == 0 {
		e.t.Fatal("the data set raises no detections; the check would prove nothing")
	}
	return ds
}

// produce writes one chunk; the broker acknowledges it before it returns.
func (e *env) produce(msgs []kafka.Message) {
	e.t.Helper()
	w := e.producer()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		e.t.Fatalf("produce: %v", kafkaio.SummariseWriteError(err))
	}
}

// produceAll writes the chunks with gap between them, in the background.
func (e *env) produceAll(ds *dataset, gap time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, c := range ds.chunks {
			if i > 0 {
				time.Sleep(gap)
			}
			w := e.producer()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := w.WriteMessages(ctx, c...)
			cancel()
			w.Close()
			if err != nil {
				e.t.Errorf("produce chunk %d: %v", i, kafkaio.SummariseWriteError(err))
				return
			}
		}
	}()
	return done
}

// verify checks ClickHouse and the dead-letter topic against ds. strictDLQ
// demands each dead letter exactly once on the topic; otherwise exactly one
// distinct source coordinate per invalid message (replays after a crash
// may write copies, which consumers dedupe by coordinates).
func (e *env) verify(ds *dataset, strictDLQ bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Events: exactly once after dedup, and only the ones produced.
	rows, distinct, err := e.st.CountEvents(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var raw uint64
	if err := e.conn.QueryRow(ctx, "SELECT count() FROM tripline.events").Scan(&raw); err != nil {
		e.t.Fatal(err)
	}
	if rows != uint64(len(ds.valid)) || distinct != uint64(len(ds.valid)) {
		e.t.Errorf("events: count() FINAL = %d, uniqExact(event_id) = %d, want %d", rows, distinct, len(ds.valid))
	}
	ids, err := e.conn.Query(ctx, "SELECT DISTINCT event_id FROM tripline.events")
	if err != nil {
		e.t.Fatal(err)
	}
	for ids.Next() {
		var id string
		if err := ids.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		if !ds.valid[id] {
			e.t.Errorf("events: unexpected event_id %s", id)
		}
	}
	ids.Close()

	// Detections: exactly the expected ones, each once after dedup.
	drows, err := e.conn.Query(ctx, "SELECT detection_id, rule_id, count() FROM tripline.detections FINAL GROUP BY detection_id, rule_id")
	if err != nil {
		e.t.Fatal(err)
	}
	got := map[string]bool{}
	for drows.Next() {
		var id, rule string
		var n uint64
		if err := drows.Scan(&id, &rule, &n); err != nil {
			e.t.Fatal(err)
		}
		if n != 1 {
			e.t.Errorf("detection %s (%s) stored %d times after FINAL", id, rule, n)
		}
		if got[id] {
			e.t.Errorf("detection %s under two rules", id)
		}
		got[id] = true
		if want, ok := ds.detections[id]; !ok {
			e.t.Errorf("unexpected detection %s of rule %s", id, rule)
		} else if want != rule {
			e.t.Errorf("detection %s: rule %s, want %s", id, rule, want)
		}
	}
	drows.Close()
	missing := 0
	for id := range ds.detections {
		if !got[id] {
			missing++
		}
	}
	if missing > 0 {
		e.t.Errorf("detections: %d of %d expected detections missing", missing, len(ds.detections))
	}
	var rawDet uint64
	if err := e.conn.QueryRow(ctx, "SELECT count() FROM tripline.detections").Scan(&rawDet); err != nil {
		e.t.Fatal(err)
	}

	// Dead letters: each invalid message at exactly one source coordinate.
	dlq := e.readTopic(kafkaio.TopicDLQ)
	type coord struct {
		topic, partition, offset string
	}
	byCoord := map[coord]string{}
	coordsOf := map[string]map[coord]bool{}
	for _, m := range dlq {
		c := coord{deadletter.Header(m, deadletter.HeaderSourceTopic), deadletter.Header(m, deadletter.HeaderSourcePartition), deadletter.Header(m, deadletter.HeaderSourceOffset)}
		if c.topic == "" || c.partition == "" || c.offset == "" {
			e.t.Errorf("dead letter %.60q lacks its source coordinates", m.Value)
			continue
		}
		v, ok := deadLetterValue(m, ds.invalid)
		reason := ds.invalid[v]
		if !ok {
			e.t.Errorf("unexpected dead letter %.80q", m.Value)
			continue
		}
		if got := deadletter.Header(m, deadletter.HeaderReason); reason != "" && got != string(reason) {
			e.t.Errorf("dead letter %.60q: reason %q, want %q", m.Value, got, reason)
		}
		if prev, dup := byCoord[c]; dup && prev != v {
			e.t.Errorf("two different dead letters share coordinates %v", c)
		}
		byCoord[c] = v
		if coordsOf[v] == nil {
			coordsOf[v] = map[coord]bool{}
		}
		coordsOf[v][c] = true
	}
	for v := range ds.invalid {
		if n := len(coordsOf[v]); n != 1 {
			e.t.Errorf("invalid message %.60q: dead-lettered from %d source coordinates, want 1", v, n)
		}
	}
	if strictDLQ && len(dlq) != len(ds.invalid) {
		e.t.Errorf("dead-letter topic holds %d messages, want exactly %d (one per invalid message)", len(dlq), len(ds.invalid))
	}
	e.t.Logf("verified: %d events (%d rows before FINAL), %d detections (%d rows before FINAL), %d invalid messages (%d dead letters on the topic)",
		distinct, raw, len(got), rawDet, len(ds.invalid), len(dlq))
}

// readTopic reads every message of topic, partition by partition, up to
// the end offsets at the time of the call.
func (e *env) readTopic(topic string) []kafka.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(e.kafka.Brokers...), Timeout: 10 * time.Second}
	req := map[string][]kafka.OffsetRequest{}
	for p := 0; p < partitions; p++ {
		req[topic] = append(req[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []kafka.Message
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			e.t.Fatal(po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: e.kafka.Brokers, Topic: topic, Partition: po.Partition, MaxWait: 100 * time.Millisecond, MaxBytes: 16 << 20})
		if err := r.SetOffset(po.FirstOffset); err != nil {
			e.t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				e.t.Fatalf("read %s/%d: %v", topic, po.Partition, err)
			}
			out = append(out, m)
			if m.Offset >= po.LastOffset-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

// committed returns the group's committed offsets on topics.
func (e *env) committed(group string, topics []string) map[string]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(e.kafka.Brokers...), Timeout: 10 * time.Second}
	req := map[string][]int{}
	for _, t := range topics {
		for p := 0; p < partitions; p++ {
			req[t] = append(req[t], p)
		}
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: req})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for t, ps := range resp.Topics {
		for _, p := range ps {
			out[fmt.Sprintf("%s/%d", t, p.Partition)] = p.CommittedOffset
		}
	}
	return out
}
