package chcluster

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tripline/tripline/chserver"
)

// ForTest starts a cluster for one test and stops it in tb.Cleanup. Like
// chserver.ForTest it skips under -short, and skips without a ClickHouse
// or ZooKeeper install unless CI=true, where that fails the test: a CI
// machine without them is a broken build (make test installs both).
func ForTest(tb testing.TB) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping under -short: starts a ClickHouse cluster")
	}
	c, err := Start(context.Background(), Options{})
	if err != nil {
		if (errors.Is(err, chserver.ErrNotFound) || errors.Is(err, ErrZooKeeperNotFound)) && os.Getenv("CI") != "true" {
			tb.Skipf("skipping: %v", err)
		}
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("cluster logs (%s):\n%s", c.Dir(), c.LogTails())
		}
		if err := c.Stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return c
}
