// Package chcluster runs a real ClickHouse cluster on loopback for tests:
// one ZooKeeper (Debian's zookeeper package, standalone) and three
// clickhouse-server processes (chserver) forming two shards, the first
// with two replicas. Each server gets macros ({shard}, {replica}), the
// cluster in remote_servers, ZooKeeper and the distributed DDL queue in a
// config.d file, so ON CLUSTER DDL, ReplicatedReplacingMergeTree and
// Distributed tables work as on a production cluster. Every process is a
// child in its own process group that the kernel kills with the test
// binary (Linux), and Stop removes the lot.
//
//	func TestOnCluster(t *testing.T) {
//		c := chcluster.ForTest(t) // skips (fails under CI=true) without ClickHouse or ZooKeeper
//		st, err := store.Open(ctx, store.Config{Addr: c.Addr(), Cluster: c.Name})
//		...
//	}
package chcluster
