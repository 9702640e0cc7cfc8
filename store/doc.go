// Package store is tripline's ClickHouse storage: the schema and its
// migrations, the batched writes of the ingest and detect stages, and the
// few queries tests and the demo need.
//
// # Connection
//
// Open speaks the native protocol (port 9000, 9440 with TLS) through
// clickhouse-go v2; the HTTP interface is not used. It probes the server
// version from the handshake and picks the schema features the server
// supports (see Features): current releases (24.x) get LowCardinality
// strings, DateTime64(3, 'UTC') times, TTL retention and data-skipping
// indices; 18.16, still what Debian ships and what the tests run against,
// gets plain String and DateTime('UTC') and no TTL. DDL returns the exact
// statements for either.
//
// # Tables
//
// events holds one row per normalised contract.Event, stored once: every
// field in a column of its own (the registry context in context_*, the
// fraction of a second the time column cannot hold in time_frac_ns), from
// which the readers rebuild the normalised JSON byte for byte. doc, the
// whole event again as JSON, is empty on rows written since migration
// 0007; older rows keep theirs and readers use it (docs/storage.md).
// detections holds one row per rule match. Both are ReplacingMergeTree
// tables whose sorting key contains the deterministic ID (event_id,
// detection_id), so a replayed Kafka range inserts duplicates that collapse
// in background merges: queries that must not double-count use FINAL or
// uniqExact on the ID. events is sorted by (msp, tenant, time, event_id)
// because analysts almost always filter by MSP, tenant and time range.
//
// # Writes
//
// InsertEvents and InsertDetections send one batch each and return only
// after the server acknowledged it, so callers may commit Kafka offsets
// afterwards. Batches are built column by column to keep allocations per
// row near zero on the pipeline's hot path.
//
// # Analyst queries
//
// queries.sql (AnalystQueries) holds example queries for SOC analysts.
package store
