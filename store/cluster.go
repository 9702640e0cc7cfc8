package store

import (
	"fmt"
	"regexp"
	"strings"
)

// On a ClickHouse cluster (Config.Cluster) every table of the
// single-server schema becomes two, created ON CLUSTER:
//
//   - <table>_local on every replica, a ReplicatedReplacingMergeTree (or
//     ReplicatedMergeTree) at /clickhouse/tables/{shard}/<db>/<table>,
//     holding one shard's rows;
//   - <table>, a Distributed table over the _local tables under the usual
//     name, so every reader and writer of this package (and the queries in
//     queries.sql) run unchanged.
//
// The sharding key is the MSP for everything an MSP owns (shardKeys): an
// MSP's events, detections, alerts, incidents and frontiers live on one
// shard, so the correlation rebuild reads one shard, FINAL (which
// collapses duplicates only within a shard) sees every copy of a row, and
// the IN subqueries joining alerts to their actions can run shard-locally
// (distributed_product_mode = local, docs/cluster.md). schema_migrations
// is replicated to every server of the cluster (one ZooKeeper path, not
// per shard): any server answers what ran.

// shardKeys is the Distributed sharding key of every table. A new table
// must be added here: clusterStatements refuses to guess.
var shardKeys = map[string]string{
	"events":                "cityHash64(msp)",
	"detections":            "cityHash64(msp)",
	"correlation_frontiers": "cityHash64(msp)",
	"alerts":                "cityHash64(msp)",
	"incidents":             "cityHash64(msp)",
	"alert_actions":         "cityHash64(msp)",
	// A silence's msp may be empty (every MSP) and is editable; its rows
	// must meet on one shard for ReplacingMergeTree to collapse them.
	"silences":         "cityHash64(silence_id)",
	"alert_deliveries": "cityHash64(alert_id)",
}

// LocalSuffix names the per-shard table behind each Distributed table.
const LocalSuffix = "_local"

var (
	createTableRe = regexp.MustCompile("^CREATE TABLE IF NOT EXISTS `([A-Za-z0-9_]+)`\\.([A-Za-z0-9_]+) \\(")
	engineRe      = regexp.MustCompile(`ENGINE = (ReplacingMergeTree|MergeTree)\(([^)]*)\)`)
	alterTableRe  = regexp.MustCompile("^ALTER TABLE `([A-Za-z0-9_]+)`\\.([A-Za-z0-9_]+)\\s")
	createDBRe    = regexp.MustCompile("^CREATE DATABASE IF NOT EXISTS `([A-Za-z0-9_]+)`$")
)

// clusterStatements rewrites one statement of the single-server schema
// for cluster: ON CLUSTER, replicated local tables and Distributed tables
// over them. With cluster empty it returns stmt unchanged. A statement of
// a shape it does not know is an error, never passed through: it would
// create a table on one server only.
func clusterStatements(stmt, cluster string) ([]string, error) {
	if cluster == "" {
		return []string{stmt}, nil
	}
	on := " ON CLUSTER `" + cluster + "`"
	if m := createDBRe.FindStringSubmatch(stmt); m != nil {
		return []string{stmt + on}, nil
	}
	if m := createTableRe.FindStringSubmatch(stmt); m != nil {
		db, table := m[1], m[2]
		em := engineRe.FindStringSubmatchIndex(stmt)
		if em == nil {
			return nil, fmt.Errorf("cluster schema: %s: engine is not (Replacing)MergeTree", table)
		}
		engine, args := stmt[em[2]:em[3]], stmt[em[4]:em[5]]
		replArgs := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", db, table)
		if table == "schema_migrations" {
			// One path for the whole cluster: every server holds every
			// record (replica names are unique cluster-wide).
			replArgs = fmt.Sprintf("'/clickhouse/tables/all/%s/%s', '{replica}'", db, table)
		}
		if args != "" {
			replArgs += ", " + args
		}
		body := stmt[len(m[0]):]
		body = body[:em[0]-len(m[0])] + "ENGINE = Replicated" + engine + "(" + replArgs + ")" + stmt[em[1]:]
		if table == "schema_migrations" {
			return []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.%s%s (%s", db, table, on, body)}, nil
		}
		key, ok := shardKeys[table]
		if !ok {
			return nil, fmt.Errorf("cluster schema: table %s has no sharding key (store.shardKeys)", table)
		}
		local := table + LocalSuffix
		return []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.%s%s (%s", db, local, on, body),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.%s%s AS `%s`.%s\nENGINE = Distributed(`%s`, `%s`, %s, %s)",
				db, table, on, db, local, cluster, db, local, key),
		}, nil
	}
	if m := alterTableRe.FindStringSubmatch(stmt); m != nil {
		db, table := m[1], m[2]
		key, ok := shardKeys[table]
		if !ok {
			return nil, fmt.Errorf("cluster schema: table %s has no sharding key (store.shardKeys)", table)
		}
		rest := stmt[len(m[0])-1:]
		local := table + LocalSuffix
		// The local tables first: a Distributed table naming a column its
		// shards lack fails every insert. The Distributed table is then
		// created anew rather than altered: 18.16 refuses ALTER ON
		// CLUSTER of a non-replicated table on shards with
		// internal_replication. It holds no data (inserts are
		// synchronous), so only writes during the migration notice, and
		// the workers retry them.
		return []string{
			fmt.Sprintf("ALTER TABLE `%s`.%s%s%s", db, local, on, rest),
			fmt.Sprintf("DROP TABLE IF EXISTS `%s`.%s%s", db, table, on),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.%s%s AS `%s`.%s\nENGINE = Distributed(`%s`, `%s`, %s, %s)",
				db, table, on, db, local, cluster, db, local, key),
		}, nil
	}
	first, _, _ := strings.Cut(stmt, "\n")
	return nil, fmt.Errorf("cluster schema: no cluster form for statement %q", first)
}
