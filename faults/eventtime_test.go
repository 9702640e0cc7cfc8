package faults

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection/detectiontest"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
)

// The event-time tests run the shipped pack, correlations included, with
// the detector's default flags, and require the detection IDs in
// ClickHouse to equal what `tripline rules eval` finds in the same events,
// whatever order Kafka consumption and the faults impose.

// pack is how the detect worker is started here: the embedded pack.
var pack = []string{"--rules", ""}

// correlationData is simulated traffic of two MSPs over four days, every
// attack injected, split by raw topic, with the detections offline
// evaluation finds in it.
type correlationData struct {
	byTopic map[string][]kafka.Message
	want    map[string]string // detection ID -> rule
	events  int
}

func newCorrelationData(t *testing.T) *correlationData {
	t.Helper()
	var names []string
	for _, s := range simulate.Scenarios() {
		names = append(names, s.Name)
	}
	// Old enough that every window has closed once the sources go idle.
	start := time.Now().UTC().Add(-6 * 24 * time.Hour).Truncate(time.Hour)
	g, err := simulate.New(simulate.Config{
		Seed: 11, Start: start, Duration: 4 * 24 * time.Hour, MSPs: 2, TenantsPerMSP: 5,
		OnboardAt: 2 * 24 * time.Hour, Scenarios: names, ScenarioAt: 2*24*time.Hour + 2*time.Hour, ScenarioSpacing: 3 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, errs := rules.LoadBundle(rules.Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := &correlationData{byTopic: map[string][]kafka.Message{}}
	var evs []contract.Event
	dec := contract.Decoder{DiscardContext: true}
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		// As ingest normalises it.
		_, doc, err := dec.DecodeNormalised(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := dec.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		d.byTopic[m.Topic] = append(d.byTopic[m.Topic], kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
		d.events++
	}
	d.want = detectiontest.Offline(snap, evs)
	n := detectiontest.Correlations(snap, d.want)
	if n < 10 {
		t.Fatalf("only %d correlation detections offline: the test would prove nothing", n)
	}
	t.Logf("%d events, %d detections offline (%d from correlations)", d.events, len(d.want), n)
	return d
}

// stored reads the distinct detections from ClickHouse.
func (e *env) stored() map[string]string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := e.conn.Query(ctx, "SELECT DISTINCT detection_id, rule_id FROM tripline.detections")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, rule string
		if err := rows.Scan(&id, &rule); err != nil {
			e.t.Fatal(err)
		}
		out[id] = rule
	}
	return out
}

// waitDetections waits until ClickHouse holds exactly want, failing with
// the difference after timeout. The last windows close once the sources
// have been idle for the detector's idle timeout (30 s by default).
func (e *env) waitDetections(want map[string]string, timeout time.Duration, ws ...*worker) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, w := range ws {
			if !w.running() {
				e.t.Fatalf("worker %s exited unexpectedly: %v\n%s", w.name, w.err, w.logTail(30))
			}
		}
		got := e.stored()
		d := detectiontest.Diff(want, got)
		if d == "" {
			e.t.Logf("ClickHouse holds exactly the %d detections of offline evaluation", len(want))
			return
		}
		extra := false
		for id := range got {
			if _, ok := want[id]; !ok {
				extra = true // never taken back: fail now
			}
		}
		if extra || time.Now().After(deadline) {
			e.t.Fatalf("detections differ from offline evaluation:\n%s", d)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (d *correlationData) all() []kafka.Message {
	var out []kafka.Message
	for _, topic := range rawTopics {
		out = append(out, d.byTopic[topic]...)
	}
	return out
}

// TestEventTimeBacklog: both raw topics hold four days of traffic before
// the workers start.
func TestEventTimeBacklog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newCorrelationData(t)
	e.produce(d.all())
	ing := e.startWorker("ingest", "ingest", 1000)
	det := e.startWorker("detect", "detect", 1000, pack...)
	e.waitDetections(d.want, 3*time.Minute, ing, det)
}

// TestEventTimePausedProducer: one topic's producer stops halfway through
// its event time while the other topic runs on to the end, then resumes
// a few seconds later (within the idle timeout).
func TestEventTimePausedProducer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newCorrelationData(t)
	ing := e.startWorker("ingest", "ingest", 500)
	det := e.startWorker("detect", "detect", 500, pack...)
	updates := d.byTopic[rawTopics[1]]
	half := len(updates) / 2
	e.produce(updates[:half])
	e.produce(d.byTopic[rawTopics[0]])
	time.Sleep(8 * time.Second)
	e.produce(updates[half:])
	e.waitDetections(d.want, 3*time.Minute, ing, det)
}

// TestEventTimeDetectorLate: ingest works through everything and idles
// before the detector starts.
func TestEventTimeDetectorLate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newCorrelationData(t)
	e.produce(d.all())
	ing := e.startWorker("ingest", "ingest", 1000)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lag, err := e.kafka.GroupLag(context.Background(), ingestGroup, rawTopics)
		if err == nil && lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not catch up: %d %v", lag, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	det := e.startWorker("detect", "detect", 1000, pack...)
	e.waitDetections(d.want, 3*time.Minute, ing, det)
}

// TestEventTimeSIGKILL: ingest and detect are SIGKILLed at random points
// while they work through a backlog produced in chunks, and restarted.
func TestEventTimeSIGKILL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newCorrelationData(t)
	rng := rand.New(rand.NewPCG(faultSeed(t), 1))
	all := d.all()
	ing := e.startWorker("ingest", "ingest", 300, "--kafka-session-timeout", "6s")
	det := e.startWorker("detect", "detect", 300, append([]string{"--kafka-session-timeout", "6s"}, pack...)...)
	const kills = 4
	per := (len(all) + kills - 1) / kills
	for i := 0; i < kills; i++ {
		e.produce(all[i*per : min((i+1)*per, len(all))])
		victims := []*worker{det}
		if rng.IntN(2) == 0 {
			victims = append(victims, ing)
		}
		// Kill once the victims are working, at a random point within the
		// next few batches.
		e.waitWorking(victims...)
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		for _, w := range victims {
			handled := w.handled()
			w.kill()
			t.Logf("kill %d: SIGKILL %s after it handled %.0f messages in this run", i+1, w.name, handled)
		}
		for _, w := range victims {
			w.start()
		}
	}
	e.waitDetections(d.want, 4*time.Minute, ing, det)
}

// TestEventTimeRebalance: a second detector joins mid-stream and leaves
// again, so partitions (and their correlation state) move between them.
func TestEventTimeRebalance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newCorrelationData(t)
	all := d.all()
	ing := e.startWorker("ingest", "ingest", 300)
	det1 := e.startWorker("detect", "detect-1", 300, pack...)
	e.produce(all[:len(all)/3])
	det2 := e.startWorker("detect", "detect-2", 300, pack...)
	time.Sleep(3 * time.Second)
	e.produce(all[len(all)/3 : 2*len(all)/3])
	time.Sleep(3 * time.Second)
	e.stopWorkers(det2)
	e.produce(all[2*len(all)/3:])
	e.waitDetections(d.want, 4*time.Minute, ing, det1)
}
