package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// ch is one ClickHouse server for every test of this package; each test
// works in its own database.
var ch chserver.Shared

func TestMain(m *testing.M) { os.Exit(ch.Run(m)) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openTest opens a store on the shared server in a database named after
// the test, migrated.
func openTest(t testing.TB, db string) *Store {
	t.Helper()
	srv := ch.Get(t)
	ctx := testCtx(t)
	s, err := Open(ctx, Config{Addr: srv.Addr(), Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func decode(t testing.TB, raw string) *contract.Event {
	t.Helper()
	ev, err := (&contract.Decoder{}).Decode([]byte(raw))
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return &ev
}

// recent formats a time d before now in the contract's RFC 3339 form.
func recent(d time.Duration) string {
	return time.Now().Add(-d).UTC().Format(time.RFC3339Nano)
}

const fullEventFmt = `{"event_id":"%s","event_type":"software.push","time":"%s","msp":"msp-a","tenant":"acme","tool":"kaseya-vsa",
 "actor":{"user":"jdoe","ip":"203.0.113.7","country":"de","asn":64500,"mfa":false,"role":"tech"},
 "target":{"host":"srv-01","host_count":40,"os":"windows","tags":["Critical","dc"]},
 "session":{"id":"s-1","duration_s":0,"auth_method":"sso"},
 "credential":{"name":"domain-admin","privileged":true},
 "package":{"name":"agent","version":"1.0","sha256":"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789","signer":"Acme Inc","signed":true},
 "script":{"name":"install.ps1","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","interpreter":"PowerShell","command":"install.ps1 -quiet"},
 "source":{"url":"https://updates.example.com/agent.msi"},
 "outcome":"success","reason":"scheduled","change":{"ticket":"CHG-42"},
 "attributes":{"zeta":"last","alpha":"first"}}`

// minimalEvent has every optional field absent.
func minimalEvent(t testing.TB, i int, age time.Duration) *contract.Event {
	return decode(t, fmt.Sprintf(`{"event_id":"ev-%06d","event_type":"auth.login","time":"%s","msp":"msp-%d","tool":"rmm","actor":{"user":"u%d"}}`,
		i, recent(age), i%3, i%7))
}

func TestMigrateIdempotent(t *testing.T) {
	s := openTest(t, "t_migrate") // first Migrate inside
	ctx := testCtx(t)
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Migrate applied %v", applied)
	}
	rows, err := s.conn.Query(ctx, "SELECT version, name, count(), any(server_version), any(features) FROM t_migrate.schema_migrations GROUP BY version, name ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			v          uint32
			name, sv   string
			n          uint64
			featureSet string
		)
		if err := rows.Scan(&v, &name, &n, &sv, &featureSet); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("migration %d recorded %d times", v, n)
		}
		if sv != s.ServerVersion().String() || featureSet != s.Features().String() {
			t.Errorf("migration %d recorded server %q features %q, want %q %q", v, sv, featureSet, s.ServerVersion(), s.Features())
		}
		got = append(got, fmt.Sprintf("%04d_%s", v, name))
	}
	if want := []string{"0001_create_events", "0002_create_detections", "0003_create_correlation_frontiers", "0004_create_alerts", "0005_create_triage", "0006_create_alert_deliveries", "0007_events_store_once"}; !slices.Equal(got, want) {
		t.Fatalf("schema_migrations = %v, want %v", got, want)
	}
}

func TestMigrateFirstRunReportsApplied(t *testing.T) {
	srv := ch.Get(t)
	ctx := testCtx(t)
	s, err := Open(ctx, Config{Addr: srv.Addr(), Database: "t_fresh"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0001_create_events", "0002_create_detections", "0003_create_correlation_frontiers", "0004_create_alerts", "0005_create_triage", "0006_create_alert_deliveries", "0007_events_store_once"}; !slices.Equal(applied, want) {
		t.Fatalf("first Migrate applied %v, want %v", applied, want)
	}
}

func TestMigrateConcurrent(t *testing.T) {
	srv := ch.Get(t)
	ctx := testCtx(t)
	// Two stores stand in for two processes starting at once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	stores := make([]*Store, 4)
	for i := range stores {
		s, err := Open(ctx, Config{Addr: srv.Addr(), Database: "t_concurrent"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
	}
	var versions, rowsFinal uint64
	if err := stores[0].conn.QueryRow(ctx, "SELECT uniqExact(version), count() FROM t_concurrent.schema_migrations FINAL").Scan(&versions, &rowsFinal); err != nil {
		t.Fatal(err)
	}
	if n := uint64(len(migrations(stores[0].cfg, stores[0].features))); versions != n || rowsFinal != n {
		t.Fatalf("after concurrent Migrate: %d versions in %d rows (FINAL), want %d and %d", versions, rowsFinal, n, n)
	}
	if applied, err := stores[0].Migrate(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("Migrate after the race: %v, %v", applied, err)
	}
}

func columnType(t *testing.T, s *Store, table, column string) string {
	t.Helper()
	var typ string
	err := s.conn.QueryRow(testCtx(t), "SELECT type FROM system.columns WHERE database = ? AND table = ? AND name = ?",
		s.Database(), table, column).Scan(&typ)
	if err != nil {
		t.Fatalf("type of %s.%s: %v", table, column, err)
	}
	return typ
}

func TestVersionGating(t *testing.T) {
	s := openTest(t, "t_gating")
	v := s.ServerVersion()
	if v.Major == 0 {
		t.Fatalf("server version not probed: %v", v)
	}
	t.Logf("server %s, features %s", v, s.Features())
	wantTime, wantLC := "DateTime('UTC')", "String"
	if s.Features().DateTime64 {
		wantTime = "DateTime64(3, 'UTC')"
	}
	if s.Features().LowCardinality {
		wantLC = "LowCardinality(String)"
	}
	if v.Major == 18 && (wantTime != "DateTime('UTC')" || wantLC != "String") {
		t.Fatalf("18.x must get the legacy schema, features %s", s.Features())
	}
	// system.columns quotes the time zone with backslashes on some versions.
	norm := func(s string) string { return strings.ReplaceAll(s, `\'`, `'`) }
	if got := norm(columnType(t, s, "events", "time")); got != wantTime {
		t.Errorf("events.time is %s, want %s", got, wantTime)
	}
	if got := norm(columnType(t, s, "detections", "first_time")); got != wantTime {
		t.Errorf("detections.first_time is %s, want %s", got, wantTime)
	}
	if got := columnType(t, s, "events", "msp"); got != wantLC {
		t.Errorf("events.msp is %s, want %s", got, wantLC)
	}
	if got := columnType(t, s, "events", "attributes.key"); got != "Array(String)" {
		t.Errorf("events.attributes.key is %s, want Array(String)", got)
	}
}

func TestFeaturesFor(t *testing.T) {
	tests := []struct {
		v    Version
		want string
	}{
		{Version{18, 16, 1}, "none"},
		{Version{19, 4, 0}, "lowcardinality"},
		{Version{19, 6, 2}, "lowcardinality,ttl"},
		{Version{20, 1, 2}, "lowcardinality,ttl,datetime64,skipindexes"},
		{Version{24, 8, 4}, "lowcardinality,ttl,datetime64,skipindexes"},
	}
	for _, tt := range tests {
		if got := FeaturesFor(tt.v).String(); got != tt.want {
			t.Errorf("FeaturesFor(%s) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestDDL(t *testing.T) {
	cfg := Config{RetentionDays: 90, DetectionRetentionDays: 400}
	old, err := DDL(cfg, Features{})
	if err != nil {
		t.Fatal(err)
	}
	oldText := strings.Join(old, "\n")
	for _, banned := range []string{"LowCardinality", "DateTime64", "TTL", "INDEX"} {
		if strings.Contains(oldText, banned) {
			t.Errorf("legacy DDL uses %s:\n%s", banned, oldText)
		}
	}
	modern, err := DDL(cfg, FeaturesFor(Version{24, 8, 0}))
	if err != nil {
		t.Fatal(err)
	}
	modernText := strings.Join(modern, "\n")
	for _, want := range []string{"time DateTime64(3, 'UTC')", "msp LowCardinality(String)",
		"TTL toDateTime(time) + INTERVAL 90 DAY", "TTL toDateTime(first_time) + INTERVAL 400 DAY",
		"INDEX idx_package_sha256", "INDEX idx_first_time"} {
		if !strings.Contains(modernText, want) {
			t.Errorf("modern DDL lacks %q:\n%s", want, modernText)
		}
	}
	if _, err := DDL(Config{Database: "x; DROP TABLE y"}, Features{}); err == nil {
		t.Error("DDL accepted a database name that is not an identifier")
	}
}

func TestInsertEventsTwiceCollapses(t *testing.T) {
	s := openTest(t, "t_dedup")
	ctx := testCtx(t)
	const n = 500
	rows := make([]record.Event, n)
	for i := range rows {
		rows[i] = record.Event{Event: minimalEvent(t, i, time.Duration(i)*time.Minute), Topic: "events", Partition: i % 4, Offset: int64(i)}
	}
	for range 2 {
		if err := s.InsertEvents(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	stored, distinct, err := s.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored != n || distinct != n {
		t.Fatalf("CountEvents = %d rows, %d distinct; want %d, %d", stored, distinct, n, n)
	}
	var raw, final, uniq uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM t_dedup.events").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.QueryRow(ctx, "SELECT count(), uniqExact(event_id) FROM t_dedup.events FINAL").Scan(&final, &uniq); err != nil {
		t.Fatal(err)
	}
	if final != n || uniq != n || raw < n || raw > 2*n {
		t.Fatalf("raw %d, FINAL count %d, uniqExact %d; want FINAL and uniqExact %d", raw, final, uniq, n)
	}
	// A merge makes the collapse physical, so a bare count agrees too.
	if err := s.conn.Exec(ctx, "OPTIMIZE TABLE t_dedup.events FINAL"); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM t_dedup.events").Scan(&raw); err != nil || raw != n {
		t.Fatalf("after OPTIMIZE FINAL: %d rows (%v), want %d", raw, err, n)
	}
}

func TestEventRoundTrip(t *testing.T) {
	s := openTest(t, "t_roundtrip")
	ctx := testCtx(t)
	full := decode(t, fmt.Sprintf(fullEventFmt, "ev-full", recent(time.Hour)))
	bare := minimalEvent(t, 1, 2*time.Hour)
	doc, err := full.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	err = s.InsertEvents(ctx, []record.Event{
		{Event: full, Doc: doc, Topic: "tripline.events", Partition: 3, Offset: 1234567890123},
		{Event: bare, Topic: "tripline.events", Partition: 0, Offset: 7}, // Doc nil: marshalled by the store
	})
	if err != nil {
		t.Fatal(err)
	}

	type row struct {
		eventType, msp, tenant, user, ip, country, role, host, os, pkgSHA, scriptInterp, ticket, gotDoc, topic string
		eventTime                                                                                              time.Time
		asn, hostCount, duration                                                                               *int64
		mfa, privileged, signed                                                                                *uint8
		tags, keys, values                                                                                     []string
		partition                                                                                              int32
		offset                                                                                                 int64
	}
	read := func(id string) row {
		t.Helper()
		var r row
		err := s.conn.QueryRow(ctx, `SELECT event_type, msp, tenant, actor_user, actor_ip, actor_country, actor_role,
			target_host, target_os, package_sha256, script_interpreter, change_ticket, doc, src_topic, time,
			actor_asn, target_host_count, session_duration_s, actor_mfa, credential_privileged, package_signed,
			target_tags, attributes.key, attributes.value, src_partition, src_offset
			FROM t_roundtrip.events WHERE event_id = ?`, id).Scan(
			&r.eventType, &r.msp, &r.tenant, &r.user, &r.ip, &r.country, &r.role,
			&r.host, &r.os, &r.pkgSHA, &r.scriptInterp, &r.ticket, &r.gotDoc, &r.topic, &r.eventTime,
			&r.asn, &r.hostCount, &r.duration, &r.mfa, &r.privileged, &r.signed,
			&r.tags, &r.keys, &r.values, &r.partition, &r.offset)
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		return r
	}

	f := read("ev-full")
	if f.eventType != "software.push" || f.msp != "msp-a" || f.tenant != "acme" || f.user != "jdoe" ||
		f.ip != "203.0.113.7" || f.country != "DE" || f.role != "tech" || f.host != "srv-01" || f.os != "windows" ||
		f.pkgSHA != strings.ToLower("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789") ||
		f.scriptInterp != "powershell" || f.ticket != "CHG-42" || f.topic != "tripline.events" {
		t.Errorf("scalar columns: %+v", f)
	}
	if f.asn == nil || *f.asn != 64500 || f.hostCount == nil || *f.hostCount != 40 || f.duration == nil || *f.duration != 0 {
		t.Errorf("nullable ints: asn %v host_count %v duration %v", f.asn, f.hostCount, f.duration)
	}
	// mfa:false must stay a stored 0, distinct from absent (NULL).
	if f.mfa == nil || *f.mfa != 0 || f.privileged == nil || *f.privileged != 1 || f.signed == nil || *f.signed != 1 {
		t.Errorf("nullable bools: mfa %v privileged %v signed %v", f.mfa, f.privileged, f.signed)
	}
	if !slices.Equal(f.tags, []string{"critical", "dc"}) {
		t.Errorf("target_tags = %v", f.tags)
	}
	if !slices.Equal(f.keys, []string{"alpha", "zeta"}) || !slices.Equal(f.values, []string{"first", "last"}) {
		t.Errorf("attributes = %v / %v", f.keys, f.values)
	}
	// The event is stored once: in its columns, not again as JSON.
	if f.gotDoc != "" {
		t.Errorf("doc = %s, want empty", f.gotDoc)
	}
	if !f.eventTime.Equal(full.Time.Truncate(time.Second)) && !f.eventTime.Equal(full.Time.Truncate(time.Millisecond)) {
		t.Errorf("time = %v, want %v", f.eventTime, full.Time)
	}
	if f.partition != 3 || f.offset != 1234567890123 {
		t.Errorf("kafka coordinates = %d@%d", f.partition, f.offset)
	}

	b := read("ev-000001")
	if b.asn != nil || b.hostCount != nil || b.duration != nil || b.mfa != nil || b.privileged != nil || b.signed != nil {
		t.Errorf("absent optionals must be NULL: %+v", b)
	}
	if len(b.tags) != 0 || len(b.keys) != 0 || len(b.values) != 0 || b.tenant != "" {
		t.Errorf("absent arrays/strings must be empty: %+v", b)
	}
	if b.gotDoc != "" {
		t.Errorf("doc = %s, want empty", b.gotDoc)
	}
	// What readers rebuild from the columns is what ingest produced.
	wantDoc, _ := bare.MarshalJSON()
	got := replayDocs(t, s, "msp-1", bare.Time)
	if len(got) != 1 || got[0] != string(wantDoc) {
		t.Errorf("replayed %q, want %s", got, wantDoc)
	}
	if got := replayDocs(t, s, "msp-a", full.Time); len(got) != 1 || got[0] != string(doc) {
		t.Errorf("replayed %q, want %s", got, doc)
	}
}

// replayDocs returns the documents ReplayEvents rebuilds for msp's events
// around at.
func replayDocs(t *testing.T, s *Store, msp string, at time.Time) []string {
	t.Helper()
	var out []string
	err := s.ReplayEvents(testCtx(t), msp, at.Add(-time.Minute), at.Add(time.Minute), func(doc []byte) error {
		out = append(out, string(doc))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInsertEventsRejectsNilEvent(t *testing.T) {
	s := &Store{cfg: Config{Database: "x"}}
	err := s.InsertEvents(context.Background(), []record.Event{{Topic: "t", Offset: 9}})
	if err == nil || !strings.Contains(err.Error(), "no event") {
		t.Fatalf("got %v", err)
	}
}

func TestDetectionsRoundTrip(t *testing.T) {
	s := openTest(t, "t_detections")
	ctx := testCtx(t)
	first := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	at := time.Now().UTC().Truncate(time.Second)
	ds := []record.Detection{
		{DetectionID: "d1", RuleID: "r-unsigned", RuleTitle: "Unsigned package push", Level: "high",
			Tags: []string{"attack.t1072", "supply_chain"}, MSP: "msp-a", Tenant: "acme", ActorUser: "jdoe",
			FirstTime: first, LastTime: first.Add(time.Minute), EventIDs: []string{"e1", "e2"},
			Summary: "jdoe pushed unsigned agent to 40 hosts", DetectedAt: at, Topic: "tripline.events", Partition: 2, Offset: 99},
		{DetectionID: "d2", RuleID: "r-unsigned", Level: "high", MSP: "msp-b", FirstTime: first, LastTime: first,
			EventIDs: []string{"e3"}, DetectedAt: at},
		{DetectionID: "d3", RuleID: "r-geo", Level: "medium", MSP: "msp-a", FirstTime: first, DetectedAt: at}, // LastTime unset
	}
	for range 2 { // a replay re-inserts the same detections
		if err := s.InsertDetections(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	byRule, err := s.DetectionsByRule(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if byRule["r-unsigned"] != 2 || byRule["r-geo"] != 1 || len(byRule) != 2 {
		t.Fatalf("DetectionsByRule = %v", byRule)
	}
	var final uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM t_detections.detections FINAL").Scan(&final); err != nil || final != 3 {
		t.Fatalf("FINAL count = %d (%v), want 3", final, err)
	}
	all, err := s.Detections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].DetectionID != "d1" || all[0].Partition != 2 || all[0].Offset != 99 ||
		!slices.Equal(all[0].EventIDs, []string{"e1", "e2"}) || !all[0].FirstTime.Equal(first) {
		t.Fatalf("Detections = %+v", all)
	}
	var d3Last time.Time
	if err := s.conn.QueryRow(ctx, "SELECT last_time FROM t_detections.detections WHERE detection_id = 'd3' LIMIT 1").Scan(&d3Last); err != nil || !d3Last.Equal(first) {
		t.Fatalf("unset LastTime stored as %v (%v), want FirstTime %v", d3Last, err, first)
	}

	var (
		title, level, tenant, user, summary, topic string
		tags, eventIDs                             []string
		gotFirst, gotLast, gotAt                   time.Time
		partition                                  int32
		offset                                     int64
	)
	err = s.conn.QueryRow(ctx, `SELECT rule_title, level, tenant, actor_user, summary, src_topic, tags, event_ids,
		first_time, last_time, detected_at, src_partition, src_offset FROM t_detections.detections FINAL WHERE detection_id = 'd1'`).Scan(
		&title, &level, &tenant, &user, &summary, &topic, &tags, &eventIDs, &gotFirst, &gotLast, &gotAt, &partition, &offset)
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	if title != d.RuleTitle || level != d.Level || tenant != d.Tenant || user != d.ActorUser || summary != d.Summary || topic != d.Topic ||
		!slices.Equal(tags, d.Tags) || !slices.Equal(eventIDs, d.EventIDs) ||
		!gotFirst.Equal(d.FirstTime) || !gotLast.Equal(d.LastTime) || !gotAt.Equal(d.DetectedAt) || partition != 2 || offset != 99 {
		t.Fatalf("round trip mismatch: %q %q %q %q %q %q %v %v %v %v %v %d %d", title, level, tenant, user, summary, topic,
			tags, eventIDs, gotFirst, gotLast, gotAt, partition, offset)
	}
}

func TestAnalystQueriesRun(t *testing.T) {
	// The queries name the default database.
	runAnalystQueries(t, openTest(t, DefaultDatabase))
}

// runAnalystQueries seeds s and runs every query of queries.sql, each of
// which must answer with rows; TestCluster runs it on a cluster too.
func runAnalystQueries(t *testing.T, s *Store) {
	ctx := testCtx(t)
	var rows []record.Event
	yes, no := true, false
	for i := range 20 {
		rows = append(rows, record.Event{Event: decode(t, fmt.Sprintf(fullEventFmt, fmt.Sprintf("q-%d", i), recent(time.Duration(i)*time.Hour)))})
		session := decode(t, fmt.Sprintf(
			`{"event_type":"session.start","time":"%s","msp":"msp-a","tenant":"t%d","tool":"screenconnect","actor":{"user":"jdoe","country":"ru","ip":"198.51.100.%d","mfa":false},"session":{"id":"x%d","duration_s":%d}}`,
			recent(time.Duration(i)*time.Hour), i%3, i, i, i*60))
		session.Context = &contract.Context{MSPKnown: &yes, TenantContracted: &yes, ToolApproved: &no}
		rows = append(rows, record.Event{Event: session})
	}
	if err := s.InsertEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := s.InsertDetections(ctx, []record.Detection{
		{DetectionID: "a", RuleID: "r1", Level: "high", MSP: "msp-a", FirstTime: now.Add(-time.Hour), LastTime: now, DetectedAt: now},
		{DetectionID: "b", RuleID: "r2", Level: "critical", MSP: "msp-b", FirstTime: now.Add(-2 * time.Hour), LastTime: now, DetectedAt: now},
	}); err != nil {
		t.Fatal(err)
	}

	queries := AnalystQueries()
	if len(queries) < 4 {
		t.Fatalf("only %d analyst queries parsed", len(queries))
	}
	results := map[string]int{}
	for _, q := range queries {
		if q.Name == "" || q.Description == "" || !strings.HasPrefix(q.SQL, "SELECT") {
			t.Errorf("malformed query entry: %+v", q)
			continue
		}
		rs, err := s.conn.Query(ctx, q.SQL)
		if err != nil {
			t.Errorf("%s: %v\n%s", q.Name, err, q.SQL)
			continue
		}
		n := 0
		for rs.Next() {
			n++
		}
		if err := rs.Err(); err != nil {
			t.Errorf("%s: %v", q.Name, err)
		}
		rs.Close()
		results[q.Name] = n
	}
	// The seeded data answers each query with at least one row.
	for name, n := range results {
		if n == 0 {
			t.Errorf("%s returned no rows on seeded data", name)
		}
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	srv := ch.Get(t)
	const secret = "hunter2-Zq9!unlikely"
	cfg := Config{Addr: srv.Addr(), Password: secret, DialTimeout: 5 * time.Second}
	_, err := Open(testCtx(t), cfg)
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks the password: %v", err)
	}
	if strings.Contains(cfg.String(), secret) || strings.Contains(fmt.Sprint(cfg.LogValue()), secret) {
		t.Fatal("Config's String or LogValue leaks the password")
	}
	if got := redact(fmt.Errorf("auth %s failed", secret), secret).Error(); strings.Contains(got, secret) {
		t.Fatalf("redact left the password in %q", got)
	}
}

// A batch larger than one block of the native protocol is still one part
// (the server squashes an INSERT's blocks), and every block carries its
// own rows: a full event in a later block and the last row read back as
// written.
func TestInsertEventsOnePartPerBatch(t *testing.T) {
	s := openTest(t, "t_one_part")
	ctx := testCtx(t)
	n := 2*insertBlockRows + 17
	rows := make([]record.Event, n)
	for i := range rows {
		rows[i] = record.Event{Event: minimalEvent(t, i, time.Minute), Topic: "tripline.events", Offset: int64(i)}
	}
	full := decode(t, fmt.Sprintf(fullEventFmt, "ev-full", recent(time.Minute)))
	rows[insertBlockRows+3].Event = full
	if err := s.InsertEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var parts, level, partRows uint64
	if err := s.conn.QueryRow(ctx, "SELECT count(), toUInt64(max(level)), max(rows) FROM system.parts WHERE database = 't_one_part' AND table = 'events' AND active").
		Scan(&parts, &level, &partRows); err != nil {
		t.Fatal(err)
	}
	if parts != 1 || level != 0 || partRows != uint64(n) {
		t.Fatalf("%d rows made %d parts (level %d, largest %d rows), want one part of them all", n, parts, level, partRows)
	}
	var user, ticket string
	var offset int64
	if err := s.conn.QueryRow(ctx, "SELECT actor_user, change_ticket, src_offset FROM t_one_part.events WHERE event_id = 'ev-full'").Scan(&user, &ticket, &offset); err != nil {
		t.Fatal(err)
	}
	if user != full.Actor.User || ticket != full.Change.Ticket || offset != int64(insertBlockRows+3) {
		t.Fatalf("full event read back as %q %q @%d", user, ticket, offset)
	}
	last := rows[n-1].Event
	if err := s.conn.QueryRow(ctx, "SELECT actor_user, src_offset FROM t_one_part.events WHERE event_id = ?", last.EventID).Scan(&user, &offset); err != nil {
		t.Fatal(err)
	}
	if user != last.Actor.User || offset != int64(n-1) {
		t.Fatalf("last event read back as %q @%d, want %q @%d", user, offset, last.Actor.User, n-1)
	}
}

// BenchmarkInsertEvents measures InsertEvents with batches of the sizes a
// worker sends (--batch-size, or fewer when --flush-interval cuts a batch
// short) against the private server: one round trip and server-side insert
// per batch. The events carry a registry context, as in the pipeline.
//
// server-µs/event is the ClickHouse server's CPU per event, its background
// merges included: each batch becomes a part and the server merges small
// parts into bigger ones, rewriting every row again at each level. The
// benchmark waits for the merges its inserts started before reading it
// (events/s does not include that wait). docs/storage.md explains the
// figures.
func BenchmarkInsertEvents(b *testing.B) {
	for _, batch := range []int{5_000, 20_000, 50_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchmarkInsertEvents(b, batch)
		})
	}
}

func benchmarkInsertEvents(b *testing.B, batch int) {
	s := openTest(b, fmt.Sprintf("b_insert_%d", batch))
	srv := ch.Get(b)
	ctx := context.Background()
	// Every operation writes the same number of events, in batches of the
	// size under test, so the sizes compare per operation too.
	const perOp = 100_000
	rows := make([]record.Event, perOp)
	yes, no, hour := true, false, int64(14)
	for i := range rows {
		ev := decode(b, fmt.Sprintf(fullEventFmt, fmt.Sprintf("bench-%d", i), recent(time.Duration(i)*time.Second)))
		ev.Context = &contract.Context{MSPKnown: &yes, TenantContracted: &yes, ToolApproved: &no, ActorKnown: &yes,
			ActorUsualCountry: &yes, ActorOnShift: &no, InMaintenanceWindow: &no, InWorkingHours: &yes,
			LocalHour: &hour, Weekday: "wed", AssetTags: []string{"critical", "dc"}}
		rows[i] = record.Event{Event: ev, Topic: "tripline.events", Partition: i % 12, Offset: int64(i)}
	}
	waitMerges(b, s)
	cpu0, cpuErr := srv.CPU()
	self0, selfErr := selfCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for chunk := range slices.Chunk(rows, batch) {
			if err := s.InsertEvents(ctx, chunk); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := float64(b.N * perOp)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	if self1, err := selfCPU(); err == nil && selfErr == nil {
		b.ReportMetric(float64((self1-self0).Microseconds())/n, "client-µs/event")
	}
	waitMerges(b, s)
	if cpu1, err := srv.CPU(); err == nil && cpuErr == nil {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/n, "server-µs/event")
	}
}

// selfCPU is the CPU time this process has used: the client's side of
// the inserts in BenchmarkInsertEvents (columns built, encoded, sent).
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// waitMerges waits until the server runs no merge of the store's
// database (for at most a minute).
func waitMerges(b *testing.B, s *Store) {
	b.Helper()
	ctx := testCtx(b)
	for idle, start := 0, time.Now(); idle < 3 && time.Since(start) < time.Minute; {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", s.Database()).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLowCardinalityPath exercises the LowCardinality schema and insert path
// on the old test server by enabling its experimental setting: the only
// part of the modern schema 18.16 can run. It is skipped on servers that
// pick LowCardinality anyway (the other tests cover it there).
func TestLowCardinalityPath(t *testing.T) {
	srv := ch.Get(t)
	ctx := testCtx(t)
	s, err := Open(ctx, Config{Addr: srv.Addr(), Database: "t_lowcard"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Features().LowCardinality {
		t.Skip("server uses LowCardinality already")
	}
	if s.ServerVersion().Major != 18 || s.ServerVersion().Minor < 12 {
		t.Skip("LowCardinality needs 18.12+")
	}
	s.features.LowCardinality = true
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := columnType(t, s, "events", "msp"); got != "LowCardinality(String)" {
		t.Fatalf("events.msp is %s", got)
	}
	full := decode(t, fmt.Sprintf(fullEventFmt, "lc-1", recent(time.Minute)))
	rows := []record.Event{{Event: full, Topic: "tripline.events"}}
	for i := range 50 {
		rows = append(rows, record.Event{Event: minimalEvent(t, i, time.Minute), Topic: "tripline.events"})
	}
	if err := s.InsertEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertDetections(ctx, []record.Detection{{DetectionID: "x", RuleID: "r", Level: "low", MSP: "msp-a", FirstTime: full.Time}}); err != nil {
		t.Fatal(err)
	}
	n, distinct, err := s.CountEvents(ctx)
	if err != nil || n != 51 || distinct != 51 {
		t.Fatalf("CountEvents = %d, %d, %v", n, distinct, err)
	}
	var msp, country, interp string
	if err := s.conn.QueryRow(ctx, "SELECT msp, actor_country, script_interpreter FROM t_lowcard.events WHERE event_id = 'lc-1'").Scan(&msp, &country, &interp); err != nil {
		t.Fatal(err)
	}
	if msp != "msp-a" || country != "DE" || interp != "powershell" {
		t.Fatalf("LowCardinality round trip: %q %q %q", msp, country, interp)
	}
	byRule, err := s.DetectionsByRule(ctx)
	if err != nil || byRule["r"] != 1 {
		t.Fatalf("DetectionsByRule = %v, %v", byRule, err)
	}
}

// Frontiers: the newest row per msp wins.
func TestFrontiers(t *testing.T) {
	s := openTest(t, "t_frontiers")
	ctx := testCtx(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 123456789, time.UTC)
	if err := s.SaveFrontiers(ctx, "g", []record.Frontier{{MSP: "a", Time: t0, EventID: "e1"}, {MSP: "b", Time: t0, EventID: "e2"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveFrontiers(ctx, "g", []record.Frontier{{MSP: "a", Time: t0.Add(time.Hour), EventID: "e3"}}); err != nil {
		t.Fatal(err)
	}
	// Another consumer group's frontiers are its own.
	if err := s.SaveFrontiers(ctx, "other", []record.Frontier{{MSP: "a", Time: t0.Add(2 * time.Hour), EventID: "e9"}}); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Frontiers(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Frontier{{MSP: "a", Time: t0.Add(time.Hour), EventID: "e3"}, {MSP: "b", Time: t0, EventID: "e2"}}
	if !slices.EqualFunc(fs, want, func(a, b record.Frontier) bool {
		return a.MSP == b.MSP && a.Time.Equal(b.Time) && a.EventID == b.EventID
	}) {
		t.Fatalf("frontiers %v, want %v", fs, want)
	}
}
