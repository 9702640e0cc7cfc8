package store

import (
	"fmt"
	"strings"
)

// migration is one versioned schema step. Every statement must be
// idempotent (IF NOT EXISTS): two migrators racing on a fresh database may
// both run it (see Migrate).
type migration struct {
	version    uint32
	name       string
	statements []string
}

// Migration versions. Append new ones; never renumber or edit an applied
// one, since the migrations table records what ran.
const (
	versionEvents     = 1
	versionDetections = 2
	versionFrontiers  = 3
	versionAlerts     = 4
	versionTriage     = 5
	versionDelivery   = 6
	versionStoreOnce  = 7
)

// types are the column types that depend on the server's features.
type types struct {
	lc   string // a repetitive string: LowCardinality(String) where supported
	time string // an event time: DateTime64(3, 'UTC') where supported
}

func typesFor(f Features) types {
	t := types{lc: "String", time: "DateTime('UTC')"}
	if f.LowCardinality {
		t.lc = "LowCardinality(String)"
	}
	if f.DateTime64 {
		t.time = "DateTime64(3, 'UTC')"
	}
	return t
}

// ttlClause expires rows days after timeCol; empty when unsupported or
// disabled. toDateTime keeps it valid for DateTime64 columns on every
// version that has TTL.
func ttlClause(f Features, timeCol string, days int) string {
	if !f.TTL || days <= 0 {
		return ""
	}
	return fmt.Sprintf("\nTTL toDateTime(%s) + INTERVAL %d DAY", timeCol, days)
}

func migrationsTableDDL(db string) string {
	// ReplacingMergeTree so that the rare duplicate row from two racing
	// migrators collapses; readers that care use FINAL or DISTINCT.
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.schema_migrations (\n"+
		"    version UInt32,\n"+
		"    name String,\n"+
		"    applied_at DateTime('UTC'),\n"+
		"    server_version String,\n"+
		"    features String\n"+
		") ENGINE = ReplacingMergeTree(applied_at)\nORDER BY version", db)
}

func migrations(cfg Config, f Features) []migration {
	db := cfg.Database
	t := typesFor(f)

	var eventIndexes, detectionIndexes string
	if f.SkipIndexes {
		// The sorting key serves msp/tenant/time filters; these serve the
		// cross-tenant hunts (one package hash everywhere, one technician
		// everywhere) and lookups by ID without a full scan.
		eventIndexes = ",\n    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 4" +
			",\n    INDEX idx_package_sha256 package_sha256 TYPE bloom_filter(0.01) GRANULARITY 4" +
			",\n    INDEX idx_script_sha256 script_sha256 TYPE bloom_filter(0.01) GRANULARITY 4" +
			",\n    INDEX idx_actor_user actor_user TYPE bloom_filter(0.01) GRANULARITY 4"
		// "Last 24 hours by level" across all MSPs cannot use the
		// (msp, rule_id, ...) key; a minmax index on first_time prunes it.
		detectionIndexes = ",\n    INDEX idx_first_time first_time TYPE minmax GRANULARITY 1"
	}

	events := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.events (\n"+
		"    event_id String,\n"+
		"    event_type %[2]s,\n"+
		"    time %[3]s,\n"+
		"    msp %[2]s,\n"+
		"    tenant %[2]s,\n"+
		"    tool %[2]s,\n"+
		"    actor_user String,\n"+
		"    actor_ip String,\n"+
		"    actor_country %[2]s,\n"+
		"    actor_asn Nullable(Int64),\n"+
		"    actor_mfa Nullable(UInt8),\n"+
		"    actor_role %[2]s,\n"+
		"    target_host String,\n"+
		"    target_host_count Nullable(Int64),\n"+
		"    target_os %[2]s,\n"+
		"    target_tags Array(String),\n"+
		"    session_id String,\n"+
		"    session_duration_s Nullable(Int64),\n"+
		"    session_auth_method %[2]s,\n"+
		"    credential_name String,\n"+
		"    credential_privileged Nullable(UInt8),\n"+
		"    package_name String,\n"+
		"    package_version String,\n"+
		"    package_sha256 String,\n"+
		"    package_signer String,\n"+
		"    package_signed Nullable(UInt8),\n"+
		"    script_name String,\n"+
		"    script_sha256 String,\n"+
		"    script_interpreter %[2]s,\n"+
		"    script_command String,\n"+
		"    source_url String,\n"+
		"    outcome %[2]s,\n"+
		"    reason String,\n"+
		"    change_ticket String,\n"+
		"    attributes Nested(key String, value String),\n"+
		"    doc String,\n"+
		"    src_topic %[2]s,\n"+
		"    src_partition Int32,\n"+
		"    src_offset Int64,\n"+
		"    ingested_at DateTime('UTC')%[4]s\n"+
		") ENGINE = ReplacingMergeTree(ingested_at)\n"+
		"PARTITION BY toYYYYMM(time)\n"+
		"ORDER BY (msp, tenant, time, event_id)%[5]s",
		db, t.lc, t.time, eventIndexes, ttlClause(f, "time", cfg.RetentionDays))

	detections := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.detections (\n"+
		"    detection_id String,\n"+
		"    rule_id %[2]s,\n"+
		"    rule_title %[2]s,\n"+
		"    level %[2]s,\n"+
		"    tags Array(String),\n"+
		"    msp %[2]s,\n"+
		"    tenant %[2]s,\n"+
		"    actor_user String,\n"+
		"    first_time %[3]s,\n"+
		"    last_time %[3]s,\n"+
		"    event_ids Array(String),\n"+
		"    summary String,\n"+
		"    detected_at DateTime('UTC'),\n"+
		"    src_topic %[2]s,\n"+
		"    src_partition Int32,\n"+
		"    src_offset Int64%[4]s\n"+
		") ENGINE = ReplacingMergeTree(detected_at)\n"+
		"PARTITION BY toYYYYMM(first_time)\n"+
		// detection_id must be in the key for replays to collapse; msp
		// first serves per-MSP views, rule_id next groups a rule's hits.
		// Neither level nor first_time is in the key: a rule's level can
		// change between rule versions and a replay must still collapse
		// onto the same row.
		"ORDER BY (msp, rule_id, detection_id)%[5]s",
		db, t.lc, t.time, detectionIndexes, ttlClause(f, "first_time", cfg.DetectionRetentionDays))

	// One row per detector consumer group, msp and version: how far, in
	// event time, the group has handed that msp's events to the
	// correlations (see detection.Core.Frontier). A restarted or rebalanced
	// detector reads it to know which stored events' correlation results
	// were already written. Times are Unix nanoseconds: 18.16 has no
	// DateTime64.
	frontiers := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.correlation_frontiers (\n"+
		"    consumer_group String,\n"+
		"    msp String,\n"+
		"    frontier_ns Int64,\n"+
		"    frontier_event_id String,\n"+
		"    updated_ns Int64\n"+
		") ENGINE = ReplacingMergeTree(updated_ns)\n"+
		"ORDER BY (consumer_group, msp)", db)

	return []migration{
		{version: versionEvents, name: "create_events", statements: []string{events}},
		{version: versionDetections, name: "create_detections", statements: []string{detections}},
		{version: versionFrontiers, name: "create_correlation_frontiers", statements: []string{frontiers}},
		{version: versionAlerts, name: "create_alerts", statements: alertTables(db, t)},
		{version: versionTriage, name: "create_triage", statements: triageTables(db, t)},
		{version: versionDelivery, name: "create_alert_deliveries", statements: deliveryTables(db, t)},
		{version: versionStoreOnce, name: "events_store_once", statements: []string{storeOnceColumns(db, t)}},
	}
}

// storeOnceColumns adds what the events table lacked to hold a normalised
// event without the doc column (docs/storage.md): the fraction of a second
// of the event time (time holds whole seconds on 18.16 and milliseconds on
// DateTime64 servers; the fraction makes the stored time exact on both),
// the producer's UTC offset (time_local is the time in it), the registry
// context ingest derives (contract.Context), one column per field, and
// extra, a JSON object of the fields no column holds yet (extra.go). From
// this version on the writers leave doc empty; rows written before keep
// their doc and the readers use it (eventrow.go).
func storeOnceColumns(db string, t types) string {
	// 18.16 has no ADD COLUMN IF NOT EXISTS; Migrate tolerates the
	// duplicate-column error of a racing migrator instead.
	return fmt.Sprintf("ALTER TABLE `%s`.events\n"+
		"    ADD COLUMN time_frac_ns UInt32,\n"+
		"    ADD COLUMN time_offset_s Nullable(Int32),\n"+
		"    ADD COLUMN extra String,\n"+
		"    ADD COLUMN context_msp_known Nullable(UInt8),\n"+
		"    ADD COLUMN context_tenant_contracted Nullable(UInt8),\n"+
		"    ADD COLUMN context_tool_approved Nullable(UInt8),\n"+
		"    ADD COLUMN context_actor_known Nullable(UInt8),\n"+
		"    ADD COLUMN context_actor_usual_country Nullable(UInt8),\n"+
		"    ADD COLUMN context_actor_on_shift Nullable(UInt8),\n"+
		"    ADD COLUMN context_in_maintenance_window Nullable(UInt8),\n"+
		"    ADD COLUMN context_in_working_hours Nullable(UInt8),\n"+
		"    ADD COLUMN context_local_hour Nullable(Int64),\n"+
		"    ADD COLUMN context_weekday %s,\n"+
		"    ADD COLUMN context_asset_tags Array(String),\n"+
		"    ADD COLUMN context_update_source_listed Nullable(UInt8)", db, t.lc)
}

// alertTables groups detections into alerts and incidents (docs/alerts.md).
// The detector owns these rows; triage state lives in alert_actions so
// that a detector update never overwrites an analyst's change.
func alertTables(db string, t types) []string {
	// 18.16 has no ADD COLUMN IF NOT EXISTS; Migrate tolerates the
	// duplicate-column error of a racing migrator instead.
	addDetections := fmt.Sprintf("ALTER TABLE `%s`.detections\n"+
		"    ADD COLUMN alert_id String,\n"+
		"    ADD COLUMN incident_id String,\n"+
		"    ADD COLUMN suppressed_by String", db)
	alerts := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.alerts (\n"+
		"    alert_id String,\n"+
		"    fingerprint String,\n"+
		"    rule_id %[2]s,\n"+
		"    rule_title %[2]s,\n"+
		"    level %[2]s,\n"+
		"    tags Array(String),\n"+
		"    msp %[2]s,\n"+
		"    tenant %[2]s,\n"+
		"    actor_user String,\n"+
		"    group_keys Array(String),\n"+
		"    group_values Array(String),\n"+
		"    window_start %[3]s,\n"+
		"    first_time %[3]s,\n"+
		"    last_time %[3]s,\n"+
		"    count UInt64,\n"+
		"    event_ids Array(String),\n"+
		"    incident_id String,\n"+
		"    suppressed_by String,\n"+
		"    summary String,\n"+
		"    updated_ns Int64\n"+
		") ENGINE = ReplacingMergeTree(updated_ns)\n"+
		"PARTITION BY toYYYYMM(window_start)\n"+
		"ORDER BY (msp, alert_id)", db, t.lc, t.time)
	incidents := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.incidents (\n"+
		"    incident_id String,\n"+
		"    msp %[2]s,\n"+
		"    entity_kind %[2]s,\n"+
		"    entity_value String,\n"+
		"    level %[2]s,\n"+
		"    window_start %[3]s,\n"+
		"    first_time %[3]s,\n"+
		"    last_time %[3]s,\n"+
		"    alert_count UInt64,\n"+
		"    alert_ids Array(String),\n"+
		"    tenants Array(String),\n"+
		"    rule_ids Array(String),\n"+
		"    updated_ns Int64\n"+
		") ENGINE = ReplacingMergeTree(updated_ns)\n"+
		"PARTITION BY toYYYYMM(window_start)\n"+
		"ORDER BY (msp, incident_id)", db, t.lc, t.time)
	return []string{addDetections, alerts, incidents}
}

// triageTables hold what analysts do: an append-only action log (the
// current status of an alert is its latest action) and silences.
func triageTables(db string, t types) []string {
	actions := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.alert_actions (\n"+
		"    action_id String,\n"+
		"    alert_id String,\n"+
		"    msp %[2]s,\n"+
		"    at_ns Int64,\n"+
		"    actor String,\n"+
		"    action %[2]s,\n"+
		"    status_from %[2]s,\n"+
		"    status_to %[2]s,\n"+
		"    assignee String,\n"+
		"    reason %[2]s,\n"+
		"    note String\n"+
		") ENGINE = ReplacingMergeTree(at_ns)\n"+
		"ORDER BY (alert_id, at_ns, action_id)", db, t.lc)
	silences := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.silences (\n"+
		"    silence_id String,\n"+
		"    matchers Array(String),\n"+
		"    starts_ns Int64,\n"+
		"    ends_ns Int64,\n"+
		"    author String,\n"+
		"    reason String,\n"+
		"    msp %[2]s,\n"+
		"    created_ns Int64,\n"+
		"    updated_ns Int64\n"+
		") ENGINE = ReplacingMergeTree(updated_ns)\n"+
		"ORDER BY silence_id", db, t.lc)
	return []string{actions, silences}
}

// deliveryTables record every delivery attempt of tripline notify.
func deliveryTables(db string, t types) []string {
	return []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.alert_deliveries (\n"+
		"    at_ns Int64,\n"+
		"    message_id String,\n"+
		"    alert_id String,\n"+
		"    kind %[2]s,\n"+
		"    route %[2]s,\n"+
		"    receiver %[2]s,\n"+
		"    receiver_type %[2]s,\n"+
		"    attempt UInt32,\n"+
		"    result %[2]s,\n"+
		"    status_code Int32,\n"+
		"    error String,\n"+
		"    delay_ms Int64\n"+
		") ENGINE = MergeTree()\n"+
		"ORDER BY (alert_id, at_ns)", db, t.lc)}
}

// DDL returns every statement Migrate would run against a server with
// features f, in order, for review or for applying by hand.
func DDL(cfg Config, f Features) ([]string, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	all := []string{
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s`", cfg.Database),
		migrationsTableDDL(cfg.Database),
	}
	for _, m := range migrations(cfg, f) {
		all = append(all, m.statements...)
	}
	var out []string
	for _, stmt := range all {
		stmts, err := clusterStatements(stmt, cfg.Cluster)
		if err != nil {
			return nil, err
		}
		out = append(out, stmts...)
	}
	return out, nil
}

// columnList joins column names for an INSERT's explicit column list,
// which 18.16 requires and which keeps inserts valid when columns are added.
func columnList(cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`")
		b.WriteString(c)
		b.WriteString("`")
	}
	return b.String()
}
