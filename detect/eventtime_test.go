package detect_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/detection/detectiontest"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/watermark"
)

// This file checks the detector's event-time guarantee as a property: for
// random consumption interleavings of a multi-topic backlog with attacks —
// raw partitions consumed at different speeds, ingest batches written
// twice, the detector crashing and replaying from its last commit,
// restarting late — the detection IDs the detector stores equal those of
// offline evaluation (`rules eval`) of the same events, with default
// lateness and idle timeout. The stores are in memory here; the fault
// tests check the same on the real binaries, Kafka and ClickHouse.

var simStart = time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC)

const (
	rawPartitions  = 3
	normPartitions = 4
)

type rawMessage struct {
	topic     string
	partition int
	value     []byte
	event     contract.Event
}

// corpus is simulated MSP traffic with every attack, split over two raw
// topics of rawPartitions partitions each (by msp, as producers key them).
func corpus(t testing.TB, days int) []rawMessage {
	t.Helper()
	var names []string
	for _, s := range simulate.Scenarios() {
		names = append(names, s.Name)
	}
	g, err := simulate.New(simulate.Config{
		Seed: 7, Start: simStart, Duration: time.Duration(days) * 24 * time.Hour, MSPs: 2, TenantsPerMSP: 6,
		OnboardAt: 2 * 24 * time.Hour, Scenarios: names, ScenarioAt: 2*24*time.Hour + 3*time.Hour, ScenarioSpacing: 3 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return simStart.Add(60 * 24 * time.Hour) }}
	var out []rawMessage
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := ev.MarshalJSON()
		out = append(out, rawMessage{topic: m.Topic, partition: hash(ev.MSP) % rawPartitions, value: doc, event: ev})
	}
	return out
}

func hash(s string) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() & 0x7fffffff)
}

func pack(t testing.TB) *detection.Snapshot {
	t.Helper()
	b, errs := rules.LoadBundle(rules.Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return b
}

// memState is the events table and the frontier table.
type memState struct {
	events    []contract.Event
	frontiers map[string]record.Frontier
}

func (s *memState) ReplayEvents(_ context.Context, msp string, from, to time.Time, fn func([]byte) error) error {
	var evs []contract.Event
	for _, ev := range s.events {
		if ev.MSP == msp && !ev.Time.Before(from.Truncate(time.Second)) && ev.Time.Before(to) {
			evs = append(evs, ev)
		}
	}
	// As ClickHouse does: by time at second precision, then event ID.
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i].Time.Truncate(time.Second), evs[j].Time.Truncate(time.Second)
		if !a.Equal(b) {
			return a.Before(b)
		}
		return evs[i].EventID < evs[j].EventID
	})
	for _, ev := range evs {
		doc, err := ev.MarshalJSON()
		if err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	return nil
}

func (s *memState) Frontiers(context.Context, string) ([]record.Frontier, error) {
	var out []record.Frontier
	for _, f := range s.frontiers {
		out = append(out, f)
	}
	return out, nil
}

func (s *memState) SaveFrontiers(_ context.Context, _ string, fs []record.Frontier) error {
	for _, f := range fs {
		s.frontiers[f.MSP] = f
	}
	return nil
}

type memDetections struct{ ids map[string]string }

func (s *memDetections) InsertDetections(_ context.Context, ds []record.Detection) error {
	for _, d := range ds {
		s.ids[d.DetectionID] = d.RuleID
	}
	return nil
}

// memAlerts keeps the newest row of each alert, as ReplacingMergeTree
// does (equal versions: the last inserted).
type memAlerts struct {
	rows      map[string]record.Alert
	incidents map[string]record.Incident
	messages  int
}

func (s *memAlerts) InsertAlerts(_ context.Context, as []record.Alert) error {
	for _, a := range as {
		if old, ok := s.rows[a.AlertID]; !ok || a.UpdatedNs >= old.UpdatedNs {
			s.rows[a.AlertID] = a
		}
	}
	return nil
}

func (s *memAlerts) InsertIncidents(_ context.Context, is []record.Incident) error {
	for _, inc := range is {
		if old, ok := s.incidents[inc.IncidentID]; !ok || inc.UpdatedNs >= old.UpdatedNs {
			s.incidents[inc.IncidentID] = inc
		}
	}
	return nil
}

func (s *memAlerts) counts() map[string]uint64 {
	out := map[string]uint64{}
	for id, a := range s.rows {
		out[id] = a.Count
	}
	return out
}

// memProducer counts alert messages (dead letters are not expected) and
// keeps them when keep is set.
type memProducer struct {
	alerts *memAlerts
	keep   *[]kafka.Message
}

func (p memProducer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	p.alerts.messages += len(msgs)
	if p.keep != nil {
		*p.keep = append(*p.keep, msgs...)
	}
	return nil
}

type staticSnapshots struct{ snap *detection.Snapshot }

func (s staticSnapshots) Snapshot() *detection.Snapshot { return s.snap }

// world runs ingest and detect over the corpus, one random interleaving.
type world struct {
	t      *testing.T
	rng    *rand.Rand
	snap   *detection.Snapshot
	raw    [][]rawMessage // by source: topic*rawPartitions+partition
	next   []int          // next raw offset per source
	norm   [normPartitions][]kafka.Message
	state  *memState
	found  *memDetections
	alerts *memAlerts
	clock  time.Time

	tracker *watermark.Tracker
	// firstPoll is how many batches ingest forwards before its first lag
	// poll: its first batches can be written before the poll returns.
	firstPoll int
	batches   int
	settling  bool // no more crashes: ingest's markers reach every partition after the last one
	handler   *detect.Handler
	committed [normPartitions]int64
	position  [normPartitions]int64
}

func newWorld(t *testing.T, seed uint64, snap *detection.Snapshot, corpus []rawMessage) *world {
	w := &world{
		t: t, rng: rand.New(rand.NewPCG(seed, 99)), snap: snap,
		raw:     make([][]rawMessage, 2*rawPartitions),
		next:    make([]int, 2*rawPartitions),
		state:   &memState{frontiers: map[string]record.Frontier{}},
		found:   &memDetections{ids: map[string]string{}},
		alerts:  &memAlerts{rows: map[string]record.Alert{}, incidents: map[string]record.Incident{}},
		clock:   simStart.Add(90 * 24 * time.Hour),
		tracker: watermark.NewTracker(),
	}
	w.firstPoll = w.rng.IntN(4)
	w.tracker.Now = func() time.Time { return w.clock }
	for _, m := range corpus {
		src := m.partition
		if m.topic == "msp.software_updates" {
			src += rawPartitions
		}
		w.raw[src] = append(w.raw[src], m)
	}
	w.startDetector()
	return w
}

func sourceName(src int) (string, int) {
	if src >= rawPartitions {
		return "msp.software_updates", src - rawPartitions
	}
	return "msp.remote_sessions", src
}

func (w *world) startDetector() {
	w.handler = &detect.Handler{
		Rules: staticSnapshots{w.snap}, Store: w.found, State: w.state, Log: zerolog.Nop(),
		Decoder: contract.Decoder{Now: func() time.Time { return simStart.Add(60 * 24 * time.Hour) }},
		Now:     func() time.Time { return w.clock }, Partitions: normPartitions,
		Alerts: w.alerts, AlertTopic: "tripline.alerts", Producer: memProducer{alerts: w.alerts},
	}
	w.position = w.committed
}

// ingestBatch forwards a random slice of one or two sources, then a marker,
// as ingest's batches do: with the lag of the last poll (ingest polls on a
// ticker, not per batch), and the first batches possibly before the first
// poll; sometimes the batch is written twice (a crash before ingest
// committed).
func (w *world) ingestBatch() bool {
	var open []int
	for src := range w.raw {
		if w.next[src] < len(w.raw[src]) {
			open = append(open, src)
		}
	}
	if len(open) == 0 {
		return false
	}
	w.rng.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
	open = open[:1+w.rng.IntN(min(2, len(open)))]
	maxTimes := map[int]time.Time{}
	var batch []rawMessage
	for _, src := range open {
		n := 1 + w.rng.IntN(800)
		end := min(w.next[src]+n, len(w.raw[src]))
		for _, m := range w.raw[src][w.next[src]:end] {
			batch = append(batch, m)
			if m.event.Time.After(maxTimes[src]) {
				maxTimes[src] = m.event.Time
			}
		}
		w.next[src] = end
	}
	times := 1
	if w.rng.IntN(10) == 0 {
		times = 2
	}
	for range times {
		for _, m := range batch {
			k := detect.PartitionOf(m.event.MSP, normPartitions)
			w.norm[k] = append(w.norm[k], kafka.Message{Topic: "tripline.events", Partition: k, Offset: int64(len(w.norm[k])), Value: m.value})
			w.state.events = append(w.state.events, m.event)
		}
	}
	for src, t := range maxTimes {
		topic, part := sourceName(src)
		w.tracker.Forwarded(topic, part, t)
	}
	w.batches++
	if w.batches > w.firstPoll && w.rng.IntN(3) == 0 {
		w.poll()
	}
	w.mark()
	return true
}

// poll records the group's lag on every source (what is left of each), as
// ingest's ticker does.
func (w *world) poll() {
	lags := make([]watermark.Lag, 0, len(w.raw))
	for src := range w.raw {
		topic, part := sourceName(src)
		lags = append(lags, watermark.Lag{Topic: topic, Partition: part, Lag: int64(len(w.raw[src]) - w.next[src])})
	}
	w.tracker.SetLags(lags)
}

// mark writes a marker to every normalised partition, if the tracker
// makes one.
func (w *world) mark() {
	pr, ok := w.tracker.Progress()
	if !ok {
		return
	}
	msgs, err := pr.Messages("tripline.events", normPartitions)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range msgs {
		k := 0
		fmt.Sscan(string(m.Headers[1].Value), &k)
		m.Partition, m.Offset = k, int64(len(w.norm[k]))
		w.norm[k] = append(w.norm[k], m)
	}
}

// detectBatch hands the detector a batch mixing up to three partitions'
// next messages; it commits, or (rarely) crashes before committing.
func (w *world) detectBatch() bool {
	var batch []kafka.Message
	end := w.position
	for range 1 + w.rng.IntN(3) {
		k := w.rng.IntN(normPartitions)
		n := 1 + w.rng.IntN(600)
		to := min(end[k]+int64(n), int64(len(w.norm[k])))
		batch = append(batch, w.norm[k][end[k]:to]...)
		end[k] = to
	}
	if len(batch) == 0 {
		return false
	}
	w.clock = w.clock.Add(time.Duration(w.rng.IntN(400)) * time.Millisecond)
	if err := w.handler.HandleBatch(context.Background(), batch); err != nil {
		w.t.Fatal(err)
	}
	w.position = end
	if !w.settling && w.rng.IntN(40) == 0 {
		w.startDetector() // SIGKILL: the batch's offsets were not committed
		return true
	}
	w.committed = end
	return true
}

func (w *world) pending() bool {
	for k := range w.norm {
		if w.position[k] < int64(len(w.norm[k])) {
			return true
		}
	}
	return false
}

func TestStreamingEqualsOfflineWhateverTheInterleaving(t *testing.T) {
	raw := corpus(t, 5)
	snap := pack(t)
	evs := make([]contract.Event, len(raw))
	for i := range raw {
		evs[i] = raw[i].event
	}
	want := detectiontest.Offline(snap, evs)
	wantAlerts := detectiontest.OfflineAlerts(snap, evs)
	if correlations := detectiontest.Correlations(snap, want); correlations < 10 {
		t.Fatalf("the corpus raises only %d correlation detections offline: the test would not exercise event time", correlations)
	}
	seeds := 4
	if testing.Short() {
		seeds = 3
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, seed, snap, raw)
			lateDetector := seed%4 == 3
			for {
				// Ingest and detect progress at random relative speeds;
				// every fourth seed the detector starts after ingest is done.
				if lateDetector || w.rng.IntN(3) > 0 {
					if w.ingestBatch() {
						continue
					}
				}
				if !lateDetector && w.detectBatch() {
					continue
				}
				if w.ingestBatch() {
					continue
				}
				lateDetector = false
				if !w.pending() {
					break
				}
				w.detectBatch()
			}
			// The backlog is done: the sources go idle, ingest keeps
			// writing markers, and the watermark follows the clock.
			w.settling = true
			for range 3 {
				w.clock = w.clock.Add(watermark.DefaultIdleTimeout)
				w.poll()
				w.mark()
				for w.pending() {
					w.detectBatch()
				}
			}
			if d := detectiontest.Diff(want, w.found.ids); d != "" {
				t.Fatalf("streaming differs from offline (%d detections offline):\n%s\nstats %+v", len(want), d, w.handler.Stats())
			}
			if d := detectiontest.DiffAlerts(wantAlerts, w.alerts.counts()); d != "" {
				t.Fatalf("streaming alerts differ from offline (%d alerts offline, %d streaming, %d messages):\n%s", len(wantAlerts), len(w.alerts.rows), w.alerts.messages, d)
			}
			if w.alerts.messages == 0 {
				t.Error("no alert message was written")
			}
		})
	}
}
