package pipeline_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/deadletter"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/detection/detectiontest"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/pipeline"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/store/storetest"
	"github.com/tripline/tripline/watermark"
)

// invalid is malformed input, each with the reason the dead letter must carry.
var invalid = []struct {
	topic, value string
	reason       contract.Reason
}{
	{kafkaio.TopicRemoteSessions, `{"event_type":"auth.login"`, contract.ReasonMalformedJSON},
	{kafkaio.TopicRemoteSessions, "{\"event_type\":\"auth.login\",\"msp\":\"\xfe\"}", contract.ReasonInvalidUTF8},
	{kafkaio.TopicRemoteSessions, `{"event_type":"auth.logout","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, contract.ReasonUnknownEventType},
	{kafkaio.TopicSoftwareUpdates, `{"event_type":"software.push","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`, contract.ReasonMissingField},
	{kafkaio.TopicSoftwareUpdates, `{"event_type":"script.run","time":"2099-01-01T00:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"}}`, contract.ReasonTimeOutOfRange},
	{kafkaio.TopicSoftwareUpdates, `{"event_type":"script.run","time":"2026-11-20T10:00:00Z","msp":"m","tenant":["t"],"tool":"x","actor":{"user":"u"}}`, contract.ReasonWrongType},
}

type world struct {
	broker *broker.Broker
	store  *store.Store
	rules  *rules.Manager
	// enricher, when set, is ingest's registry.
	enricher ingest.Enricher
	// reg holds the metrics of the last run.
	reg *prometheus.Registry
}

func setup(t *testing.T) *world {
	t.Helper()
	srv := chserver.ForTest(t)
	st := storetest.Migrated(t, srv.Addr())
	mgr, err := rules.NewManager(rules.ManagerConfig{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return &world{broker: broker.ForTest(t, broker.Options{Partitions: 3}), store: st, rules: mgr}
}

// run runs the pipeline with the given consumer groups until both have
// consumed everything.
func (w *world) run(t *testing.T, ingestGroup, detectGroup string) {
	t.Helper()
	w.runWith(t, ingestGroup, detectGroup, nil)
}

// runWith is run with during, when set, called once the pipeline is
// started (a fault injected while it works); the catch-up wait begins
// when during returns.
func (w *world) runWith(t *testing.T, ingestGroup, detectGroup string, during func(prometheus.Gatherer)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	reg := prometheus.NewRegistry()
	w.reg = reg
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{
			Kafka: w.broker.Config(), Store: w.store, Rules: w.rules, Enricher: w.enricher,
			IngestGroup: ingestGroup, DetectGroup: detectGroup,
			BatchSize: 2000, FlushInterval: 50 * time.Millisecond, Log: testLogger(t), Registerer: reg,
			// Default lateness; the producer has finished before the
			// workers start, so sources may go idle sooner than the
			// default timeout.
			Watermark: watermark.Merger{IdleTimeout: 2 * time.Second}, MarkInterval: 500 * time.Millisecond,
		})
	}()
	if during != nil {
		during(reg)
	}
	cfg := w.broker.Config()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		time.Sleep(200 * time.Millisecond)
		il, err1 := cfg.GroupLag(ctx, ingestGroup, kafkaio.RawTopics())
		dl, err2 := cfg.GroupLag(ctx, detectGroup, []string{kafkaio.TopicEvents})
		if err1 == nil && err2 == nil && il == 0 && dl == 0 && pipeline.Settled(reg, watermark.DefaultLateness) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("pipeline stopped early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("pipeline did not catch up: ingest lag %d (%v), detect lag %d (%v)", il, err1, dl, err2)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("pipeline: %v", err)
	}
}

func testLogger(t *testing.T) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	}
	return zerolog.Nop()
}

// produceSimulated sends simulated traffic plus the invalid messages and
// returns the event IDs of valid events by scenario ("" = benign).
func produceSimulated(t *testing.T, cfg kafkaio.Config, n int, scenarios []string) (ids map[string]string, valid [][]byte) {
	t.Helper()
	gen, err := simulate.New(simulate.Config{Seed: 42, Events: n, Start: time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour), Scenarios: scenarios})
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{}
	ids = map[string]string{}
	var msgs []kafka.Message
	for {
		m, ok := gen.Next()
		if !ok {
			break
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatalf("simulator produced an invalid event: %v\n%s", err, m.Value)
		}
		if _, dup := ids[ev.EventID]; dup {
			t.Fatalf("simulator produced two events with ID %s", ev.EventID)
		}
		ids[ev.EventID] = m.Scenario
		valid = append(valid, m.Value)
		msgs = append(msgs, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
		// Poison messages between valid ones, not at the end.
		if i := len(msgs); i%(n/len(invalid)+1) == 0 && i/(n/len(invalid)+1) <= len(invalid) {
			bad := invalid[i/(n/len(invalid)+1)-1]
			msgs = append(msgs, kafka.Message{Topic: bad.topic, Value: []byte(bad.value)})
		}
	}
	w := cfg.NewWriter()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(kafkaio.SummariseWriteError(err))
	}
	if got := len(msgs) - len(ids); got != len(invalid) {
		t.Fatalf("sent %d invalid messages, want %d", got, len(invalid))
	}
	return ids, valid
}

// offlineDetections evaluates the embedded pack on values the way
// `tripline rules eval` does: detection ID -> rule.
func offlineDetections(t *testing.T, values [][]byte) map[string]string {
	t.Helper()
	bundle, evs := offlineInput(t, values)
	return detectiontest.Offline(bundle, evs)
}

// offlineAlerts is what `rules eval --alerts` forms from the same events:
// alert ID -> count.
func offlineAlerts(t *testing.T, values [][]byte) map[string]uint64 {
	t.Helper()
	bundle, evs := offlineInput(t, values)
	return detectiontest.OfflineAlerts(bundle, evs)
}

func offlineInput(t *testing.T, values [][]byte) (*detection.Snapshot, []contract.Event) {
	t.Helper()
	bundle, errs := rules.LoadBundle(rules.Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var dec contract.Decoder
	evs := make([]contract.Event, 0, len(values))
	for _, v := range values {
		ev, err := dec.Decode(v)
		if err != nil {
			t.Fatalf("offline decode: %v", err)
		}
		evs = append(evs, ev)
	}
	return bundle, evs
}

// kaseyaRules are rules the Kaseya-style push must raise.
var kaseyaRules = []string{"Pushed Script Disables or Blinds Microsoft Defender", "Unsigned Package Pushed Through an RMM Tool"}

// readTopic returns every message on topic, all partitions.
func readTopic(t *testing.T, cfg kafkaio.Config, topic string) []kafka.Message {
	t.Helper()
	conn, err := kafka.Dial("tcp", cfg.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	w := setup(t)
	ctx := context.Background()
	const n = 20000
	ids, valid := produceSimulated(t, w.broker.Config(), n, []string{"kaseya-style", "stolen-credential"})
	w.run(t, "ingest-1", "detect-1")

	// Every valid event exactly once.
	rows, distinct, err := w.store.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if distinct != uint64(len(ids)) {
		t.Fatalf("events: %d distinct IDs in ClickHouse, want %d (rows %d)", distinct, len(ids), rows)
	}

	// Every invalid message exactly once in the dead-letter topic, with its reason.
	dlq := readTopic(t, w.broker.Config(), kafkaio.TopicDLQ)
	if len(dlq) != len(invalid) {
		t.Fatalf("dead letters: %d, want %d", len(dlq), len(invalid))
	}
	want := map[string]contract.Reason{}
	for _, bad := range invalid {
		want[bad.value] = bad.reason
	}
	for _, m := range dlq {
		reason, ok := want[string(m.Value)]
		if !ok {
			t.Errorf("unexpected dead letter %q", m.Value)
			continue
		}
		if got := deadletter.Header(m, deadletter.HeaderReason); got != string(reason) {
			t.Errorf("dead letter %q: reason %q, want %q", m.Value, got, reason)
		}
		if deadletter.Header(m, deadletter.HeaderSourceTopic) == "" || deadletter.Header(m, deadletter.HeaderSourceOffset) == "" {
			t.Errorf("dead letter %q lacks its source coordinates", m.Value)
		}
	}

	// Detections: the injected attacks are caught, benign traffic raises none.
	dets, err := w.store.Detections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byScenario := map[string]map[string]int{}
	for _, d := range dets {
		// A correlation may legitimately pull benign events into an
		// attack's detection (the real technician's login beside the
		// attacker's in "impossible travel"); only a detection formed by
		// benign events alone is a false positive.
		scenarios := map[string]bool{}
		for _, id := range d.EventIDs {
			sc, known := ids[id]
			if !known {
				t.Errorf("detection %s refers to unknown event %s", d.DetectionID, id)
				continue
			}
			if sc != "" {
				scenarios[sc] = true
			}
		}
		if len(scenarios) == 0 {
			t.Errorf("benign events alone raised %s: %s", d.RuleID, d.Summary)
			continue
		}
		for sc := range scenarios {
			if byScenario[sc] == nil {
				byScenario[sc] = map[string]int{}
			}
			byScenario[sc][d.RuleTitle]++
		}
	}
	expect := map[string][]string{
		"kaseya-style":      kaseyaRules,
		"stolen-credential": {"RMM Console Login Without MFA"},
	}
	for sc, titles := range expect {
		for _, title := range titles {
			if byScenario[sc][title] == 0 {
				t.Errorf("scenario %s: no %q detection (got %v)", sc, title, byScenario[sc])
			}
		}
	}
	t.Logf("detections by scenario: %v", byScenario)

	// The streaming detector (partitions, batches, two raw topics
	// interleaved by ingest, default lateness) stores exactly the
	// detections `rules eval` finds in the same events.
	streamed := map[string]string{}
	for _, d := range dets {
		streamed[d.DetectionID] = d.RuleID
	}
	offline := offlineDetections(t, valid)
	if d := detectiontest.Diff(offline, streamed); d != "" {
		t.Errorf("detector and rules eval differ:\n%s", d)
	}
	// And the same alerts, each counting the same detections; every
	// detection row names its alert.
	alerts, err := w.store.Alerts(ctx, store.AllMSPs(), store.AlertFilter{Limit: store.MaxAlertLimit})
	if err != nil {
		t.Fatal(err)
	}
	streamedAlerts := map[string]uint64{}
	for _, a := range alerts {
		streamedAlerts[a.AlertID] = a.Count
	}
	if d := detectiontest.DiffAlerts(offlineAlerts(t, valid), streamedAlerts); d != "" {
		t.Errorf("detector and rules eval --alerts differ:\n%s", d)
	}
	for _, d := range dets {
		if _, ok := streamedAlerts[d.AlertID]; !ok {
			t.Errorf("detection %s (%s) names alert %q, which is not stored", d.DetectionID, d.RuleID, d.AlertID)
		}
	}
	if n := len(readTopic(t, w.broker.Config(), kafkaio.TopicAlerts)); n < len(alerts) {
		t.Errorf("%d messages on %s for %d alerts: every alert opens with one", n, kafkaio.TopicAlerts, len(alerts))
	}
	// The Kaseya-style push is one incident per msp, not an alert per
	// tenant to correlate by hand.
	incidents, err := w.store.Incidents(ctx, store.AllMSPs(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	pushIncidents := map[string]map[string]bool{}
	for _, a := range alerts {
		if slices.Contains(kaseyaRules, a.RuleTitle) {
			if pushIncidents[a.MSP] == nil {
				pushIncidents[a.MSP] = map[string]bool{}
			}
			pushIncidents[a.MSP][a.IncidentID] = true
		}
	}
	for msp, incs := range pushIncidents {
		if len(incs) != 1 {
			t.Errorf("msp %s: the mass push's alerts fall into %d incidents, want 1", msp, len(incs))
		}
	}
	if len(pushIncidents) == 0 {
		t.Error("no alert of the mass push")
	}
	t.Logf("%d detections formed %d alerts and %d incidents; the mass push is one incident in each of %d msps", len(dets), len(alerts), len(incidents), len(pushIncidents))

	// A replay of the same input through fresh consumer groups leaves the
	// deduplicated counts unchanged.
	before := len(dets)
	w.run(t, "ingest-replay", "detect-replay")
	rows2, distinct2, err := w.store.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if distinct2 != distinct || rows2 != rows {
		t.Fatalf("after replay: %d rows / %d distinct, want %d / %d", rows2, distinct2, rows, distinct)
	}
	dets2, err := w.store.Detections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets2) != before {
		t.Fatalf("after replay: %d detections, want %d", len(dets2), before)
	}
}
