package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/tripline/tripline/chcluster"
	"github.com/tripline/tripline/record"
)

func TestClusterStatementsCoverSchema(t *testing.T) {
	for _, f := range []Features{{}, FeaturesFor(Version{Major: 24, Minor: 8})} {
		ddl, err := DDL(Config{Cluster: "c"}, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range ddl {
			if strings.HasPrefix(q, "DROP TABLE") && !strings.Contains(q, LocalSuffix) {
				continue // a Distributed table recreated after an ALTER
			}
			if !strings.Contains(q, "ON CLUSTER `c`") {
				t.Errorf("statement without ON CLUSTER: %s", q)
			}
			if strings.Contains(q, "ENGINE = ReplacingMergeTree") || strings.Contains(q, "ENGINE = MergeTree") {
				t.Errorf("unreplicated table on a cluster: %s", q)
			}
		}
	}
	if _, err := clusterStatements("CREATE TABLE IF NOT EXISTS `db`.unknown (\n x UInt8\n) ENGINE = MergeTree()\nORDER BY x", "c"); err == nil {
		t.Error("a table without a sharding key was accepted")
	}
	if _, err := clusterStatements("DROP TABLE x", "c"); err == nil {
		t.Error("an unknown statement shape was passed through")
	}
	if _, err := Open(context.Background(), Config{Cluster: "a b"}); err == nil {
		t.Error("a cluster name with a space was accepted")
	}
}

// TestCluster runs the store on a real cluster (chcluster: ZooKeeper, two
// shards, the first with two replicas). Subtests share the cluster and run
// in order.
func TestCluster(t *testing.T) {
	t0 := time.Now()
	c := chcluster.ForTest(t)
	t.Logf("cluster of %d servers up in %s", len(c.Replicas), time.Since(t0).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	open := func(t *testing.T, addr string) *Store {
		t.Helper()
		s, err := Open(ctx, Config{Addr: addr, Database: DefaultDatabase, Cluster: c.Name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	replica := func(t *testing.T, r *chcluster.Replica) driver.Conn {
		t.Helper()
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{r.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	count := func(t *testing.T, conn driver.Conn, q string) uint64 {
		t.Helper()
		var n uint64
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	syncReplicas := func(t *testing.T, table string) {
		t.Helper()
		for _, r := range c.Replicas {
			if err := replica(t, r).Exec(ctx, "SYSTEM SYNC REPLICA tripline."+table+LocalSuffix); err != nil {
				t.Fatalf("sync %s on %s: %v", table, r.Name, err)
			}
		}
	}

	t.Run("MigrateConcurrent", func(t *testing.T) {
		// One migrator per server, all at once, as three processes
		// starting together would.
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, len(c.Replicas))
		stores := make([]*Store, len(c.Replicas))
		for i, r := range c.Replicas {
			stores[i] = open(t, r.Addr())
		}
		for i, s := range stores {
			wg.Go(func() { _, errs[i] = s.Migrate(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("migrator on %s: %v", c.Replicas[i].Name, err)
			}
		}
		t.Logf("3 concurrent migrators done in %s", time.Since(start).Round(time.Millisecond))
		for i, s := range stores {
			if applied, err := s.Migrate(ctx); err != nil || len(applied) != 0 {
				t.Fatalf("second Migrate on %s: %v, %v", c.Replicas[i].Name, applied, err)
			}
		}
		for _, r := range c.Replicas {
			conn := replica(t, r)
			if n := count(t, conn, "SELECT uniqExact(version) FROM tripline.schema_migrations"); n != uint64(len(migrations(Config{}, Features{}))) {
				t.Errorf("%s: schema_migrations has %d versions", r.Name, n)
			}
			if n := count(t, conn, "SELECT count() FROM system.tables WHERE database = 'tripline' AND engine LIKE 'Replicated%'"); n != uint64(len(shardKeys)+1) {
				t.Errorf("%s: %d replicated tables, want %d", r.Name, n, len(shardKeys)+1)
			}
			if n := count(t, conn, "SELECT count() FROM system.tables WHERE database = 'tripline' AND engine = 'Distributed'"); n != uint64(len(shardKeys)) {
				t.Errorf("%s: %d distributed tables, want %d", r.Name, n, len(shardKeys))
			}
			if n := count(t, conn, "SELECT count() FROM system.columns WHERE database = 'tripline' AND name = 'alert_id' AND table IN ('detections', 'detections_local')"); n != 2 {
				t.Errorf("%s: detections and detections_local have alert_id %d times, want 2", r.Name, n)
			}
			// Migration 0007's columns on the shards and the Distributed table over them.
			if n := count(t, conn, "SELECT count() FROM system.columns WHERE database = 'tripline' AND name IN ('extra', 'time_frac_ns', 'context_asset_tags') AND table IN ('events', 'events_local')"); n != 6 {
				t.Errorf("%s: events and events_local have %d of the store-once columns, want 6", r.Name, n)
			}
		}
	})

	t.Run("InsertReadDedup", func(t *testing.T) {
		s := open(t, c.Addr())
		var rows []record.Event
		for i := range 300 {
			rows = append(rows, record.Event{Event: minimalEvent(t, i, time.Duration(i)*time.Minute)})
		}
		for range 2 { // a replay writes everything again
			if err := s.InsertEvents(ctx, rows); err != nil {
				t.Fatal(err)
			}
		}
		got, distinct, err := s.CountEvents(ctx)
		if err != nil || got != 300 || distinct != 300 {
			t.Fatalf("CountEvents through Distributed FINAL = %d rows, %d ids (%v), want 300", got, distinct, err)
		}
		// The documents rebuilt through the Distributed table are the
		// ones ingest would have produced, each once.
		want := map[string]string{}
		for _, r := range rows {
			if r.Event.MSP == "msp-1" {
				doc, _ := r.Event.MarshalJSON()
				want[r.Event.EventID] = string(doc)
			}
		}
		replayed := 0
		if err := s.ReplayEvents(ctx, "msp-1", time.Now().Add(-400*time.Minute), time.Now().Add(time.Minute), func(doc []byte) error {
			replayed++
			if id := idOf(t, doc); want[id] != string(doc) {
				t.Errorf("replayed %s\n %s\nwant\n %s", id, doc, want[id])
			}
			return nil
		}); err != nil || replayed != len(want) {
			t.Fatalf("replayed %d of msp-1's %d events (%v)", replayed, len(want), err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		ds := []record.Detection{
			{DetectionID: "d1", RuleID: "r1", Level: "high", MSP: "msp-0", FirstTime: now, LastTime: now, DetectedAt: now, EventIDs: []string{"ev-000000"}},
			{DetectionID: "d2", RuleID: "r1", Level: "high", MSP: "msp-1", FirstTime: now, LastTime: now, DetectedAt: now},
			{DetectionID: "d3", RuleID: "r2", Level: "low", MSP: "msp-2", FirstTime: now, LastTime: now, DetectedAt: now},
		}
		for range 2 {
			if err := s.InsertDetections(ctx, ds); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.Detections(ctx)
		if err != nil || len(all) != 3 {
			t.Fatalf("Detections through Distributed FINAL = %d (%v), want 3", len(all), err)
		}
		// Every MSP lives on exactly one shard, and both replicas of
		// shard 1 hold the same rows.
		syncReplicas(t, "events")
		perShard := map[int]map[string]bool{}
		perReplica := map[string]uint64{}
		for _, r := range c.Replicas {
			conn := replica(t, r)
			rs, err := conn.Query(ctx, "SELECT DISTINCT msp FROM tripline.events_local")
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				var msp string
				rs.Scan(&msp)
				if perShard[r.Shard] == nil {
					perShard[r.Shard] = map[string]bool{}
				}
				perShard[r.Shard][msp] = true
			}
			rs.Close()
			perReplica[r.Name] = count(t, conn, "SELECT count() FROM tripline.events_local FINAL")
		}
		for msp := range perShard[1] {
			if perShard[2][msp] {
				t.Errorf("msp %s on both shards", msp)
			}
		}
		if perReplica["s1r1"] != perReplica["s1r2"] || perReplica["s1r1"]+perReplica["s2r1"] != 300 {
			t.Errorf("rows per replica %v: shard 1's replicas differ or shards do not add up to 300", perReplica)
		}
		t.Logf("events per replica (FINAL): %v", perReplica)
	})

	t.Run("AnalystQueries", func(t *testing.T) {
		runAnalystQueries(t, open(t, c.Addr()))
	})

	t.Run("Triage", func(t *testing.T) {
		// The alert list joins alerts to their actions with IN
		// subqueries: on a cluster they read each shard's local tables
		// (distributed_product_mode=local), right because both are
		// sharded by msp.
		s := open(t, c.Addr())
		base := time.Now().UTC().Truncate(time.Second)
		if err := s.InsertAlerts(ctx, testAlerts(base)); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendActions(ctx, OnlyMSP("msp-a"), []record.AlertAction{{ActionID: "act-1", AlertID: "a1", MSP: "msp-a",
			At: base, Actor: "alice", Action: ActionAck, StatusFrom: StatusOpen, StatusTo: StatusAcknowledged}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Alerts(ctx, AllMSPs(), AlertFilter{Status: StatusAcknowledged})
		if err != nil || len(got) != 1 || got[0].AlertID != "a1" {
			t.Fatalf("acknowledged alerts on the cluster = %v (%v), want a1", ids(got), err)
		}
		open, err := s.Alerts(ctx, AllMSPs(), AlertFilter{Status: StatusOpen})
		if err != nil || len(open) != 3 {
			t.Fatalf("open alerts on the cluster = %v (%v), want a2 a3 a4", ids(open), err)
		}
	})

	// killDuringInserts SIGKILLs victim a third of the way through 40
	// batches of 250 events (prefix in their IDs and MSPs), restarts it
	// after down, and checks every event is stored once and the replicas
	// converge. The writer retries a failed batch as a worker does.
	killDuringInserts := func(t *testing.T, victim *chcluster.Replica, prefix string, down time.Duration) {
		s := open(t, c.Addr())
		const batches, perBatch = 40, 250
		var (
			wg      sync.WaitGroup
			retries int
			insErr  error
		)
		killAt := make(chan struct{})
		insertDeadline := time.Now().Add(2 * time.Minute)
		wg.Go(func() {
			for b := range batches {
				if b == batches/3 {
					close(killAt)
				}
				var rows []record.Event
				for i := range perBatch {
					n := b*perBatch + i
					rows = append(rows, record.Event{Event: decode(t, fmt.Sprintf(
						`{"event_id":"%s-%06d","event_type":"auth.login","time":"%s","msp":"%s-%d","tool":"rmm","actor":{"user":"u"}}`,
						prefix, n, recent(time.Duration(n)*time.Second), prefix, n%16))})
				}
				// A worker retries a failed batch until it is stored
				// (at-least-once); duplicates collapse under FINAL.
				for {
					err := s.InsertEvents(ctx, rows)
					if err == nil {
						break
					}
					retries++
					if time.Now().After(insertDeadline) || ctx.Err() != nil {
						insErr = fmt.Errorf("batch %d: %w", b, err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
		<-killAt
		if err := victim.Kill(); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		time.Sleep(down)
		if err := victim.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		wg.Wait()
		if insErr != nil {
			t.Fatal(insErr)
		}
		t.Logf("replica %s SIGKILLed during %d inserts, serving again %s later; all inserts done %s after the kill; %d retried batches",
			victim.Name, batches, restarted.Sub(killed).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond), retries)
		syncReplicas(t, "events")
		conn := replica(t, c.Replicas[0])
		const want = batches * perBatch
		if n := count(t, conn, "SELECT count() FROM tripline.events FINAL WHERE msp LIKE '"+prefix+"-%'"); n != want {
			t.Errorf("after the kill: %d events (FINAL), want %d", n, want)
		}
		if n := count(t, conn, "SELECT uniqExact(event_id) FROM tripline.events WHERE msp LIKE '"+prefix+"-%'"); n != want {
			t.Errorf("after the kill: %d distinct event ids, want %d", n, want)
		}
		// The restarted replica catches up with what its peer took while
		// it was down. Right after a restart SYNC REPLICA can return
		// before the replica has pulled its queue from ZooKeeper, so
		// poll.
		held := map[string]uint64{}
		deadline := time.Now().Add(90 * time.Second)
		for {
			for _, r := range c.Replicas {
				held[r.Name] = count(t, replica(t, r), "SELECT count() FROM tripline.events_local FINAL WHERE msp LIKE '"+prefix+"-%'")
			}
			if held["s1r1"] != 0 && held["s1r1"] == held["s1r2"] && held["s1r1"]+held["s2r1"] == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("events per replica after the kill %v: shard 1's replicas differ or shards do not add up to %d", held, want)
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("replicas converged %s after the restart: %v", time.Since(restarted).Round(time.Millisecond), held)
	}

	t.Run("ReplicaKilledDuringInserts", func(t *testing.T) {
		// Not the server the writer talks to: the Distributed insert
		// fails over to the other replica of shard 1.
		killDuringInserts(t, c.Replicas[1], "kill1", 0)
	})
	t.Run("EntryServerKilledDuringInserts", func(t *testing.T) {
		// The server the writer talks to, down for 3 s: batches fail,
		// some after a shard took its part, and are retried.
		killDuringInserts(t, c.Replicas[0], "kill2", 3*time.Second)
	})
}

// BenchmarkClusterInsertEvents compares InsertEvents on one server with
// the same batches written through the cluster's Distributed tables
// (insert_distributed_sync=1: each batch is split by msp and written to
// one replica of each shard before the call returns). docs/cluster.md
// quotes it.
func BenchmarkClusterInsertEvents(b *testing.B) {
	const batch = 10_000
	rows := make([]record.Event, batch)
	for i := range rows {
		raw := strings.Replace(fmt.Sprintf(fullEventFmt, fmt.Sprintf("bench-%d", i), recent(time.Duration(i)*time.Second)),
			`"msp":"msp-a"`, fmt.Sprintf(`"msp":"msp-%d"`, i%50), 1)
		ev := decode(b, raw)
		doc, err := ev.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = record.Event{Event: ev, Doc: doc, Topic: "tripline.events", Partition: i % 12, Offset: int64(i)}
	}
	run := func(b *testing.B, s *Store) {
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if err := s.InsertEvents(ctx, rows); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("single", func(b *testing.B) { run(b, openTest(b, "b_cluster_single")) })
	b.Run("distributed-sync", func(b *testing.B) {
		c := chcluster.ForTest(b)
		ctx := context.Background()
		s, err := Open(ctx, Config{Addr: c.Addr(), Database: "b_cluster", Cluster: c.Name})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		run(b, s)
	})
}
