package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// eventColumnNames is the explicit INSERT column list; the order matches
// eventColumns.appendTo. doc is not in it: the event is stored once, in
// its columns (docs/storage.md), and doc stays empty on new rows.
var eventColumnNames = []string{
	"event_id", "event_type", "time", "msp", "tenant", "tool",
	"actor_user", "actor_ip", "actor_country", "actor_asn", "actor_mfa", "actor_role",
	"target_host", "target_host_count", "target_os", "target_tags",
	"session_id", "session_duration_s", "session_auth_method",
	"credential_name", "credential_privileged",
	"package_name", "package_version", "package_sha256", "package_signer", "package_signed",
	"script_name", "script_sha256", "script_interpreter", "script_command",
	"source_url", "outcome", "reason", "change_ticket",
	"attributes.key", "attributes.value",
	"src_topic", "src_partition", "src_offset", "ingested_at",
	"time_frac_ns", "time_offset_s", "extra",
	"context_msp_known", "context_tenant_contracted", "context_tool_approved", "context_actor_known",
	"context_actor_usual_country", "context_actor_on_shift", "context_in_maintenance_window", "context_in_working_hours",
	"context_local_hour", "context_weekday", "context_asset_tags", "context_update_source_listed",
}

var detectionColumnNames = []string{
	"detection_id", "rule_id", "rule_title", "level", "tags", "msp", "tenant", "actor_user",
	"first_time", "last_time", "event_ids", "summary", "detected_at",
	"src_topic", "src_partition", "src_offset",
	"alert_id", "incident_id", "suppressed_by",
}

// eventColumns holds one batch column by column. The driver copies
// whole-column slices into its buffers without boxing each value, which is
// what keeps InsertEvents at near-zero allocations per row.
type eventColumns struct {
	str      [numStrCols][]string
	times    []time.Time
	ints     [numIntCols][]*int64
	bools    [numBoolCols][]*uint8
	tags     [][]string
	attrKeys [][]string
	attrVals [][]string
	arena    []string
	part     []int32
	offset   []int64
	ingested []time.Time
	frac     []uint32
	ctxTags  [][]string
	offsets  []*int32
	extra    []string

	// offArena backs the *int32 of time_offset_s; zones and local are
	// scratch for checking that an offset reproduces time_local.
	offArena []int32
	zones    map[int32]*time.Location
	local    []byte

	// boolVals backs the *uint8 of Nullable(UInt8) columns: every true
	// points at boolVals[1], every false at boolVals[0].
	boolVals [2]uint8
}

// String columns of eventColumns.str, in column-list order among strings.
const (
	sEventID = iota
	sEventType
	sMSP
	sTenant
	sTool
	sActorUser
	sActorIP
	sActorCountry
	sActorRole
	sTargetHost
	sTargetOS
	sSessionID
	sSessionAuth
	sCredName
	sPkgName
	sPkgVersion
	sPkgSHA
	sPkgSigner
	sScriptName
	sScriptSHA
	sScriptInterp
	sScriptCmd
	sSourceURL
	sOutcome
	sReason
	sChangeTicket
	sTopic
	sCtxWeekday
	numStrCols
)

const (
	iASN = iota
	iHostCount
	iDuration
	iCtxLocalHour
	numIntCols
)

const (
	bMFA = iota
	bPrivileged
	bSigned
	bCtxMSPKnown
	bCtxTenantContracted
	bCtxToolApproved
	bCtxActorKnown
	bCtxActorUsualCountry
	bCtxActorOnShift
	bCtxInMaintenance
	bCtxInWorkingHours
	bCtxUpdateSourceListed
	numBoolCols
)

func (c *eventColumns) reset() {
	// Clear, not just truncate: a pooled buffer must not pin the previous
	// batch's events in memory.
	for i := range c.str {
		clear(c.str[i])
		c.str[i] = c.str[i][:0]
	}
	for i := range c.ints {
		clear(c.ints[i])
		c.ints[i] = c.ints[i][:0]
	}
	for i := range c.bools {
		clear(c.bools[i])
		c.bools[i] = c.bools[i][:0]
	}
	clear(c.tags)
	clear(c.attrKeys)
	clear(c.attrVals)
	clear(c.arena)
	clear(c.ctxTags)
	clear(c.offsets)
	clear(c.extra)
	c.offsets, c.extra, c.offArena = c.offsets[:0], c.extra[:0], c.offArena[:0]
	c.times, c.tags, c.attrKeys, c.attrVals, c.arena = c.times[:0], c.tags[:0], c.attrKeys[:0], c.attrVals[:0], c.arena[:0]
	c.part, c.offset, c.ingested, c.frac, c.ctxTags = c.part[:0], c.offset[:0], c.ingested[:0], c.frac[:0], c.ctxTags[:0]
	c.boolVals = [2]uint8{0, 1}
}

// grow makes room for n more rows in every fixed-width column, so a batch
// bigger than any before it allocates each once instead of doubling.
func (c *eventColumns) grow(n int) {
	for i := range c.str {
		c.str[i] = slices.Grow(c.str[i], n)
	}
	for i := range c.ints {
		c.ints[i] = slices.Grow(c.ints[i], n)
	}
	for i := range c.bools {
		c.bools[i] = slices.Grow(c.bools[i], n)
	}
	c.times, c.ingested = slices.Grow(c.times, n), slices.Grow(c.ingested, n)
	c.tags, c.attrKeys, c.attrVals, c.ctxTags = slices.Grow(c.tags, n), slices.Grow(c.attrKeys, n), slices.Grow(c.attrVals, n), slices.Grow(c.ctxTags, n)
	c.part, c.offset, c.frac = slices.Grow(c.part, n), slices.Grow(c.offset, n), slices.Grow(c.frac, n)
	c.offsets, c.extra = slices.Grow(c.offsets, n), slices.Grow(c.extra, n)
}

func (c *eventColumns) boolPtr(b *bool) *uint8 {
	if b == nil {
		return nil
	}
	if *b {
		return &c.boolVals[1]
	}
	return &c.boolVals[0]
}

// add appends one event. extra lists the fields no column holds
// (eventExtra).
func (c *eventColumns) add(r *record.Event, ingested time.Time, extra []extraField) error {
	e := r.Event
	s := &c.str
	s[sEventID] = append(s[sEventID], e.EventID)
	s[sEventType] = append(s[sEventType], e.EventType)
	s[sMSP] = append(s[sMSP], e.MSP)
	s[sTenant] = append(s[sTenant], e.Tenant)
	s[sTool] = append(s[sTool], e.Tool)
	s[sActorUser] = append(s[sActorUser], e.Actor.User)
	s[sActorIP] = append(s[sActorIP], e.Actor.IP)
	s[sActorCountry] = append(s[sActorCountry], e.Actor.Country)
	s[sActorRole] = append(s[sActorRole], e.Actor.Role)
	s[sTargetHost] = append(s[sTargetHost], e.Target.Host)
	s[sTargetOS] = append(s[sTargetOS], e.Target.OS)
	s[sSessionID] = append(s[sSessionID], e.Session.ID)
	s[sSessionAuth] = append(s[sSessionAuth], e.Session.AuthMethod)
	s[sCredName] = append(s[sCredName], e.Credential.Name)
	s[sPkgName] = append(s[sPkgName], e.Package.Name)
	s[sPkgVersion] = append(s[sPkgVersion], e.Package.Version)
	s[sPkgSHA] = append(s[sPkgSHA], e.Package.SHA256)
	s[sPkgSigner] = append(s[sPkgSigner], e.Package.Signer)
	s[sScriptName] = append(s[sScriptName], e.Script.Name)
	s[sScriptSHA] = append(s[sScriptSHA], e.Script.SHA256)
	s[sScriptInterp] = append(s[sScriptInterp], e.Script.Interpreter)
	s[sScriptCmd] = append(s[sScriptCmd], e.Script.Command)
	s[sSourceURL] = append(s[sSourceURL], e.Source.URL)
	s[sOutcome] = append(s[sOutcome], e.Outcome)
	s[sReason] = append(s[sReason], e.Reason)
	s[sChangeTicket] = append(s[sChangeTicket], e.Change.Ticket)
	s[sTopic] = append(s[sTopic], r.Topic)

	c.times = append(c.times, e.Time)
	c.ints[iASN] = append(c.ints[iASN], e.Actor.ASN)
	c.ints[iHostCount] = append(c.ints[iHostCount], e.Target.HostCount)
	c.ints[iDuration] = append(c.ints[iDuration], e.Session.DurationS)
	c.bools[bMFA] = append(c.bools[bMFA], c.boolPtr(e.Actor.MFA))
	c.bools[bPrivileged] = append(c.bools[bPrivileged], c.boolPtr(e.Credential.Privileged))
	c.bools[bSigned] = append(c.bools[bSigned], c.boolPtr(e.Package.Signed))
	c.tags = append(c.tags, e.Target.Tags)

	// Attribute keys are stored sorted (stable, readable arrays). Keys and
	// values are carved out of one per-batch arena instead of two
	// allocations per event; a sub-slice stays valid when a later append
	// moves the arena, because nothing writes to the old array again.
	var keys, vals []string
	if n := len(e.Attributes); n > 0 {
		start := len(c.arena)
		for k := range e.Attributes {
			c.arena = append(c.arena, k)
		}
		keys = c.arena[start : start+n : start+n]
		slices.Sort(keys)
		for _, k := range keys {
			c.arena = append(c.arena, e.Attributes[k])
		}
		vals = c.arena[start+n : start+2*n : start+2*n]
	}
	c.attrKeys = append(c.attrKeys, keys)
	c.attrVals = append(c.attrVals, vals)

	c.part = append(c.part, int32(r.Partition))
	c.offset = append(c.offset, r.Offset)
	c.ingested = append(c.ingested, ingested)
	// time keeps whole seconds (18.16) or milliseconds; the fraction
	// makes the stored time exact whatever the column's precision.
	c.frac = append(c.frac, uint32(e.Time.Nanosecond()))
	c.addContext(e.Context)

	off, exact := c.timeOffset(e)
	c.offsets = append(c.offsets, off)
	var x string
	if len(extra) > 0 || !exact {
		b, err := appendExtra(nil, e, extra, !exact)
		if err != nil {
			return err
		}
		x = string(b)
	}
	c.extra = append(c.extra, x)
	return nil
}

// timeOffset returns the time_offset_s of e (nil when it has no time_local)
// and whether it reproduces time_local exactly; when not, the text goes
// to extra.
func (c *eventColumns) timeOffset(e *contract.Event) (*int32, bool) {
	if e.TimeLocal == "" {
		return nil, true
	}
	off, ok := localOffset(e.TimeLocal)
	if !ok {
		return nil, false
	}
	loc := c.zones[off]
	if loc == nil {
		if c.zones == nil {
			c.zones = map[int32]*time.Location{}
		}
		loc = time.FixedZone("", int(off))
		c.zones[off] = loc
	}
	c.local = e.Time.In(loc).AppendFormat(c.local[:0], localLayout)
	if string(c.local) != e.TimeLocal {
		return nil, false
	}
	// Pointers into the arena stay valid when a later append moves it:
	// nothing writes to the old array again.
	c.offArena = append(c.offArena, off)
	return &c.offArena[len(c.offArena)-1], true
}

// addContext appends the registry context's columns; all NULL or empty
// for an event stored without one.
func (c *eventColumns) addContext(x *contract.Context) {
	if x == nil {
		x = &contract.Context{}
	}
	c.bools[bCtxMSPKnown] = append(c.bools[bCtxMSPKnown], c.boolPtr(x.MSPKnown))
	c.bools[bCtxTenantContracted] = append(c.bools[bCtxTenantContracted], c.boolPtr(x.TenantContracted))
	c.bools[bCtxToolApproved] = append(c.bools[bCtxToolApproved], c.boolPtr(x.ToolApproved))
	c.bools[bCtxActorKnown] = append(c.bools[bCtxActorKnown], c.boolPtr(x.ActorKnown))
	c.bools[bCtxActorUsualCountry] = append(c.bools[bCtxActorUsualCountry], c.boolPtr(x.ActorUsualCountry))
	c.bools[bCtxActorOnShift] = append(c.bools[bCtxActorOnShift], c.boolPtr(x.ActorOnShift))
	c.bools[bCtxInMaintenance] = append(c.bools[bCtxInMaintenance], c.boolPtr(x.InMaintenanceWindow))
	c.bools[bCtxInWorkingHours] = append(c.bools[bCtxInWorkingHours], c.boolPtr(x.InWorkingHours))
	c.ints[iCtxLocalHour] = append(c.ints[iCtxLocalHour], x.LocalHour)
	c.str[sCtxWeekday] = append(c.str[sCtxWeekday], x.Weekday)
	c.ctxTags = append(c.ctxTags, x.AssetTags)
	c.bools[bCtxUpdateSourceListed] = append(c.bools[bCtxUpdateSourceListed], c.boolPtr(x.UpdateSourceListed))
}

// appendTo hands rows [from, to) of every column to the batch, in
// eventColumnNames order.
func (c *eventColumns) appendTo(b driver.Batch, from, to int) error {
	s := &c.str
	cols := []any{
		s[sEventID], s[sEventType], c.times, s[sMSP], s[sTenant], s[sTool],
		s[sActorUser], s[sActorIP], s[sActorCountry], c.ints[iASN], c.bools[bMFA], s[sActorRole],
		s[sTargetHost], c.ints[iHostCount], s[sTargetOS], c.tags,
		s[sSessionID], c.ints[iDuration], s[sSessionAuth],
		s[sCredName], c.bools[bPrivileged],
		s[sPkgName], s[sPkgVersion], s[sPkgSHA], s[sPkgSigner], c.bools[bSigned],
		s[sScriptName], s[sScriptSHA], s[sScriptInterp], s[sScriptCmd],
		s[sSourceURL], s[sOutcome], s[sReason], s[sChangeTicket],
		c.attrKeys, c.attrVals,
		s[sTopic], c.part, c.offset, c.ingested,
		c.frac, c.offsets, c.extra,
		c.bools[bCtxMSPKnown], c.bools[bCtxTenantContracted], c.bools[bCtxToolApproved], c.bools[bCtxActorKnown],
		c.bools[bCtxActorUsualCountry], c.bools[bCtxActorOnShift], c.bools[bCtxInMaintenance], c.bools[bCtxInWorkingHours],
		c.ints[iCtxLocalHour], s[sCtxWeekday], c.ctxTags, c.bools[bCtxUpdateSourceListed],
	}
	for i, col := range cols {
		sub, err := sliceColumn(col, from, to)
		if err != nil {
			return fmt.Errorf("column %s: %w", eventColumnNames[i], err)
		}
		cols[i] = sub
	}
	return appendColumns(b, eventColumnNames, cols)
}

// sliceColumn returns rows [from, to) of one of eventColumns' columns.
func sliceColumn(col any, from, to int) (any, error) {
	switch v := col.(type) {
	case []string:
		return v[from:to], nil
	case [][]string:
		return v[from:to], nil
	case []time.Time:
		return v[from:to], nil
	case []*int64:
		return v[from:to], nil
	case []*int32:
		return v[from:to], nil
	case []*uint8:
		return v[from:to], nil
	case []int32:
		return v[from:to], nil
	case []int64:
		return v[from:to], nil
	case []uint32:
		return v[from:to], nil
	}
	return nil, fmt.Errorf("internal: cannot slice a column of %T", col)
}

// insertBlockRows is how many rows of an events insert go into one block
// of the native protocol. The server squashes an INSERT's blocks into one
// part (min_insert_block_size_rows, 1,048,576 by default), so a batch of
// any size still makes one part, while the driver's column buffers stay
// this size and are reused from block to block instead of growing with the
// batch: 20,000-event batches sent whole cost the client 16.4 µs an event
// against 12.3 in 5,000-row blocks (BenchmarkInsertEvents,
// client-µs/event). The driver's buffers are new for every INSERT (its
// first block comes from the server), so each batch still grows them to
// one block's size: 1,000-row blocks cost the client 4.7-5.6 µs an event
// against 6.8-7.5 for 5,000 and 5.5-6.6 for 2,500 (3 interleaved runs,
// load 14-22), with the server's CPU per event within the noise
// (11.6-12.7, 10.4-13.2, 8.7-13.6).
const insertBlockRows = 1000

// appendColumns appends whole columns. Arrays go row by row through
// AppendRow: the driver's whole-column Append for arrays walks them with
// reflection, its per-row path does not.
func appendColumns(b driver.Batch, names []string, cols []any) error {
	if len(cols) != len(names) {
		return fmt.Errorf("internal: %d columns for %d names", len(cols), len(names))
	}
	// Boxing a slice into an interface allocates; most rows have no tags or
	// attributes, so box the empty row once.
	var empty any = []string(nil)
	for i, col := range cols {
		bc := b.Column(i)
		var err error
		if arr, ok := col.([][]string); ok {
			for _, row := range arr {
				if len(row) == 0 {
					err = bc.AppendRow(empty)
				} else {
					err = bc.AppendRow(row)
				}
				if err != nil {
					break
				}
			}
		} else {
			err = bc.Append(col)
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", names[i], err)
		}
	}
	return nil
}

// eventColumnsSlot keeps one eventColumns between InsertEvents calls. A
// sync.Pool did this before, but the collector empties a pool within two
// cycles, and ingest collects several times between two batches: the
// buffers were lost and regrown, doubling, batch after batch (growslice
// was 12 % of ingest's CPU in make bench-e2e). The slot holds them for
// the Store's life, at most the largest batch's worth (about 760 bytes a
// row: 16 bytes for each of 28 string columns, 8 for each of 16 pointer
// columns, and the rest; 15 MB for 20,000 rows), cleared so it pins no
// event. Concurrent inserts
// (which ingest does not make) each get buffers; one of them is kept.
type eventColumnsSlot struct {
	mu sync.Mutex
	c  *eventColumns
}

// take returns the kept buffers, empty, or new ones.
func (s *eventColumnsSlot) take() *eventColumns {
	s.mu.Lock()
	c := s.c
	s.c = nil
	s.mu.Unlock()
	if c == nil {
		c = &eventColumns{}
		c.reset()
	}
	return c
}

// put keeps c for the next insert, cleared (so take need not clear it),
// unless another insert's buffers are already kept.
func (s *eventColumnsSlot) put(c *eventColumns) {
	c.reset()
	s.mu.Lock()
	if s.c == nil {
		s.c = c
	}
	s.mu.Unlock()
}

// InsertEvents writes rows as one batch and returns once ClickHouse has
// acknowledged it. Rows already stored (same event_id, msp, tenant, time)
// collapse in the background: the events table is a ReplacingMergeTree, so
// replaying a Kafka range is safe.
func (s *Store) InsertEvents(ctx context.Context, rows []record.Event) error {
	if len(rows) == 0 {
		return nil
	}
	c := s.eventCols.take()
	defer s.eventCols.put(c)
	c.grow(len(rows))

	ingested := time.Now().UTC()
	for i := range rows {
		r := &rows[i]
		if r.Event == nil {
			return fmt.Errorf("insert events: row %d (%s/%d@%d) has no event", i, r.Topic, r.Partition, r.Offset)
		}
		if err := c.add(r, ingested, s.extra); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
	}

	// One block per insertBlockRows rows, one part for the batch. Not on a
	// cluster: a synchronous insert into a Distributed table is not
	// squashed (18.16), so every block there would be a part on a shard.
	block := len(rows)
	if s.cfg.Cluster == "" {
		block = insertBlockRows
	}
	fill := func(b driver.Batch) error {
		for from := 0; from < len(rows); from += block {
			to := min(from+block, len(rows))
			if err := c.appendTo(b, from, to); err != nil {
				return err
			}
			if to < len(rows) {
				if err := b.Flush(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := s.sendBatch(ctx, "events", eventColumnNames, fill); err != nil {
		return fmt.Errorf("insert events: %d rows: %w", len(rows), err)
	}
	return nil
}

// InsertDetections writes detections as one batch and returns once
// ClickHouse has acknowledged it. Re-inserted detections (same
// detection_id) collapse like events do.
func (s *Store) InsertDetections(ctx context.Context, ds []record.Detection) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	now := time.Now().UTC()
	var (
		id, rule, title, level, msp, tenant, user, summary, topic = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
		first, last, at = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		tags, eventIDs  = make([][]string, n), make([][]string, n)
		part            = make([]int32, n)
		offset          = make([]int64, n)
	)
	alertID, incidentID, suppressed := make([]string, n), make([]string, n), make([]string, n)
	for i := range ds {
		d := &ds[i]
		if d.DetectionID == "" {
			return fmt.Errorf("insert detections: row %d (rule %s) has no detection_id", i, d.RuleID)
		}
		id[i], rule[i], title[i], level[i] = d.DetectionID, d.RuleID, d.RuleTitle, d.Level
		msp[i], tenant[i], user[i], summary[i], topic[i] = d.MSP, d.Tenant, d.ActorUser, d.Summary, d.Topic
		first[i], last[i], at[i] = detectionTimes(d, now)
		tags[i], eventIDs[i] = d.Tags, d.EventIDs
		part[i], offset[i] = int32(d.Partition), d.Offset
		alertID[i], incidentID[i], suppressed[i] = d.AlertID, d.IncidentID, d.SuppressedBy
	}
	cols := []any{id, rule, title, level, tags, msp, tenant, user, first, last, eventIDs, summary, at, topic, part, offset,
		alertID, incidentID, suppressed}
	err := s.sendBatch(ctx, "detections", detectionColumnNames, func(b driver.Batch) error {
		return appendColumns(b, detectionColumnNames, cols)
	})
	if err != nil {
		return fmt.Errorf("insert detections: %d rows: %w", n, err)
	}
	return nil
}

// detectionTimes fills zero times rather than rejecting the detection: a
// zero time.Time would be stored as a wrapped-around DateTime, and refusing
// the row would stall the detect stage on one malformed detection.
func detectionTimes(d *record.Detection, now time.Time) (first, last, at time.Time) {
	first, last, at = d.FirstTime, d.LastTime, d.DetectedAt
	if at.IsZero() {
		at = now
	}
	if first.IsZero() {
		first = at
	}
	if last.IsZero() || last.Before(first) {
		last = first
	}
	return first, last, at
}

// sendBatch prepares an INSERT with an explicit column list, fills it and
// sends it, waiting for the server's acknowledgement.
func (s *Store) sendBatch(ctx context.Context, table string, cols []string, fill func(driver.Batch) error) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table(table)+" ("+columnList(cols)+")")
	if err != nil {
		return s.redact(err)
	}
	if err := fill(b); err != nil {
		return errors.Join(s.redact(err), s.redact(b.Abort()))
	}
	if err := b.Send(); err != nil {
		return s.redact(err)
	}
	return nil
}
