package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/tripline/tripline/chcluster"
)

// TestMigrateCluster: tripline migrate --cluster NAME against a real
// cluster creates the schema on every server; a second run has nothing
// to do.
func TestMigrateCluster(t *testing.T) {
	c := chcluster.ForTest(t)
	args := []string{"migrate", "--clickhouse", c.Addr(), "--cluster", c.Name, "--clickhouse-db", "t_cli_cluster"}
	for i, want := range []string{"applied 0001_create_events", "schema up to date"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), want) {
			t.Fatalf("run %d: exit %d, want %q in output:\n%s%s", i+1, code, want, stdout.String(), stderr.String())
		}
	}
	for _, r := range c.Replicas {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{r.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		var engine string
		err = conn.QueryRow(context.Background(), "SELECT engine FROM system.tables WHERE database = 't_cli_cluster' AND name = 'events_local'").Scan(&engine)
		conn.Close()
		if err != nil || engine != "ReplicatedReplacingMergeTree" {
			t.Errorf("%s: events_local engine %q (%v)", r.Name, engine, err)
		}
	}
}
