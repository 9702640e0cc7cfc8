package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chcluster"
	"github.com/tripline/tripline/detection/detectiontest"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/store"
)

// TestClusterEndToEndServerKilled runs the pipeline against a real
// ClickHouse cluster (2 shards, one with 2 replicas, ZooKeeper; the
// workers write through the Distributed tables) and SIGKILLs the server
// both workers talk to once a third of the events are stored, restarting
// it 3 s later. Batches fail, some after a shard took its part, and are
// retried: every event must still be stored once after dedup, and the
// detections must be exactly those `rules eval` finds in the same events.
func TestClusterEndToEndServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test on a ClickHouse cluster")
	}
	c := chcluster.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: c.Addr(), Database: store.DefaultDatabase, Cluster: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mgr, err := rules.NewManager(rules.ManagerConfig{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{broker: broker.ForTest(t, broker.Options{Partitions: 3}), store: st, rules: mgr}
	ids, valid := produceSimulated(t, w.broker.Config(), 8000, []string{"kaseya-style", "stolen-credential"})

	entry := c.Replicas[0]
	w.runWith(t, "ingest-cluster", "detect-cluster", func(reg prometheus.Gatherer) {
		deadline := time.Now().Add(3 * time.Minute)
		for ops.Sum(reg, "tripline_ingest_events_stored_total") < float64(len(ids)/3) {
			if time.Now().After(deadline) {
				t.Fatalf("ingest stored %v events in 3 minutes, want %d before the kill", ops.Sum(reg, "tripline_ingest_events_stored_total"), len(ids)/3)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stored := ops.Sum(reg, "tripline_ingest_events_stored_total")
		if err := entry.Kill(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if err := entry.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s SIGKILLed after %v of %d events were stored, serving again 3 s later", entry.Name, stored, len(ids))
	})

	rows, distinct, err := st.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != uint64(len(ids)) || distinct != uint64(len(ids)) {
		t.Errorf("events after the kill: count() FINAL = %d, distinct IDs %d, want %d", rows, distinct, len(ids))
	}
	dets, err := st.Detections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	streamed := map[string]string{}
	for _, d := range dets {
		streamed[d.DetectionID] = d.RuleID
	}
	if d := detectiontest.Diff(offlineDetections(t, valid), streamed); d != "" {
		t.Errorf("detector on the cluster and rules eval differ:\n%s", d)
	}
	t.Logf("%d events, %d detections, equal to rules eval", len(ids), len(streamed))
}
