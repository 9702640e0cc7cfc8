package chcluster

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// TestClusterStart starts the cluster and checks every replica sees the whole
// topology and that ON CLUSTER DDL reaches every server through ZooKeeper.
func TestClusterStart(t *testing.T) {
	t0 := time.Now()
	c := ForTest(t)
	t.Logf("cluster up in %s", time.Since(t0).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{c.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hosts uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster = ?", c.Name).Scan(&hosts); err != nil {
		t.Fatal(err)
	}
	if hosts != 3 {
		t.Fatalf("system.clusters lists %d hosts of %s, want 3", hosts, c.Name)
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS chcluster_smoke ON CLUSTER "+c.Name); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Replicas {
		rc, err := clickhouse.Open(&clickhouse.Options{Addr: []string{r.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		err = rc.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = 'chcluster_smoke'").Scan(&n)
		rc.Close()
		if err != nil || n != 1 {
			t.Errorf("replica %s: database count %d, %v", r.Name, n, err)
		}
	}
	// Stop leaves no process and no directory behind. (Close the
	// connection first: a server waits for open connections when it
	// shuts down.)
	conn.Close()
	pids := c.PIDs()
	if len(pids) != 4 {
		t.Fatalf("PIDs = %v, want ZooKeeper and 3 servers", pids)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d outlived Stop", pid)
		}
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Errorf("%s still there after Stop (%v)", c.Dir(), err)
	}
}
