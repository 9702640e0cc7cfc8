package store

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// fillEvent sets every exported field of the contract event v, recursing
// into structs and pointers to structs, with values derived from n. A
// field of a kind it does not know fails the test: a new contract field
// must get a column (and a case here) before it can be stored once.
func fillEvent(t *testing.T, v reflect.Value, path string, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 5, 10, 0, *n%60, 123456789, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fillEvent(t, v.Field(i), path+"."+f.Name, n)
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillEvent(t, p.Elem(), path, n)
		v.Set(p)
	case reflect.String:
		// Quotes, markup and non-ASCII: the JSON encoder escapes them on
		// both paths.
		v.SetString(fmt.Sprintf(`v%d "é" <&>`, *n))
	case reflect.Bool:
		v.SetBool(*n%2 == 0)
	case reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			t.Fatalf("%s: slice of %s: no column for it", path, v.Type().Elem())
		}
		v.Set(reflect.ValueOf([]string{fmt.Sprintf("a%d", *n), "", fmt.Sprintf("z%d", *n)}))
	case reflect.Map:
		if v.Type() != reflect.TypeOf(map[string]string{}) {
			t.Fatalf("%s: %s: no column for it", path, v.Type())
		}
		v.Set(reflect.ValueOf(map[string]string{"zeta": "last", "alpha": fmt.Sprint(*n), "empty": ""}))
	default:
		t.Fatalf("%s: %s: no column for it", path, v.Kind())
	}
}

// TestEventStoredOnce: every field of a normalised event survives the
// columns, so the readers rebuild exactly the document ingest produced,
// and nothing is stored twice (doc stays empty).
func TestEventStoredOnce(t *testing.T) {
	s := openTest(t, "t_store_once")
	ctx := testCtx(t)

	var every contract.Event
	n := 0
	fillEvent(t, reflect.ValueOf(&every).Elem(), "Event", &n)
	every.EventID, every.MSP, every.Tenant = "every-field", "msp-every", "t1"
	if every.Context == nil || every.Context.LocalHour == nil || every.Attributes == nil {
		t.Fatalf("fillEvent left fields empty: %+v", every)
	}
	no, yes := false, true
	hour := int64(0)
	cases := []struct {
		name string
		ev   contract.Event
	}{
		{"every field", every},
		{"nothing optional", contract.Event{EventID: "bare", EventType: "auth.login", MSP: "msp-every", Tenant: "t1", Tool: "rmm",
			Time: time.Date(2026, 11, 5, 10, 1, 0, 0, time.UTC)}},
		{"false and zero are not absent", contract.Event{EventID: "falsy", EventType: "session.start", MSP: "msp-every", Tenant: "t1", Tool: "rmm",
			Time:    time.Date(2026, 11, 5, 10, 2, 0, 1, time.UTC),
			Actor:   contract.Actor{User: "u", MFA: &no, ASN: &hour},
			Session: contract.Session{DurationS: &hour}, Package: contract.Package{Signed: &no},
			Context: &contract.Context{MSPKnown: &no, LocalHour: &hour, ToolApproved: &yes}}},
		{"local offsets", contract.Event{EventID: "local", EventType: "auth.login", MSP: "msp-every", Tenant: "t1", Tool: "rmm",
			Time: time.Date(2026, 11, 5, 10, 4, 0, 500_000_000, time.UTC), TimeLocal: "2026-11-05T15:34:00.5+05:30"}},
		{"zero offset", contract.Event{EventID: "zero-offset", EventType: "auth.login", MSP: "msp-every", Tenant: "t1", Tool: "rmm",
			Time: time.Date(2026, 11, 5, 10, 5, 0, 0, time.UTC), TimeLocal: "2026-11-05T10:05:00+00:00"}},
		{"time_local the offset cannot reproduce", contract.Event{EventID: "odd-local", EventType: "auth.login", MSP: "msp-every", Tenant: "t1", Tool: "rmm",
			Time: time.Date(2026, 11, 5, 10, 6, 0, 0, time.UTC), TimeLocal: "2026-11-05T03:06:00.000-07:00"}},
		{"millisecond time, context with tags only", contract.Event{EventID: "ms", EventType: "software.push", MSP: "msp-every", Tenant: "t1", Tool: "rmm",
			Time:    time.Date(2026, 11, 5, 10, 3, 0, 999_000_000, time.UTC),
			Context: &contract.Context{AssetTags: []string{`"context":{"tool_approved":true}`, "critical"}}}},
	}
	var rows []record.Event
	want := map[string]string{}
	for _, c := range cases {
		ev := c.ev
		doc, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want[ev.EventID] = string(doc)
		rows = append(rows, record.Event{Event: &ev, Topic: "tripline.events"})
	}
	if err := s.InsertEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}

	var docs, extras uint64
	if err := s.conn.QueryRow(ctx, "SELECT countIf(doc != ''), countIf(extra != '') FROM t_store_once.events").Scan(&docs, &extras); err != nil || docs != 0 {
		t.Fatalf("%d rows with a doc (%v), want none", docs, err)
	}
	// Only what the columns cannot hold goes to extra: the filled event's
	// time_local (no offset in it) and the odd one's (trailing zeros).
	if extras != 2 {
		t.Errorf("%d rows with extra, want 2", extras)
	}

	from, to := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 11, 0, 0, 0, time.UTC)
	replayed := map[string]string{}
	err := s.ReplayEvents(ctx, "msp-every", from, to, func(doc []byte) error {
		replayed[idOf(t, doc)] = string(doc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	shown, err := s.Events(ctx, AllMSPs(), "msp-every", []string{"every-field", "bare", "falsy", "ms", "local", "zero-offset", "odd-local"})
	if err != nil {
		t.Fatal(err)
	}
	console := map[string]EventRow{}
	for _, e := range shown {
		console[e.EventID] = e
	}
	report := map[string]string{}
	err = s.ReportEvents(ctx, AllMSPs(), "msp-every", "t1", from, to, nil, func(e *ReportEvent) error {
		report[e.EventID] = e.Context
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.ev.EventID
			if replayed[id] != want[id] {
				t.Errorf("replayed\n %s\nwant\n %s", replayed[id], want[id])
			}
			if console[id].Doc != want[id] {
				t.Errorf("console document\n %s\nwant\n %s", console[id].Doc, want[id])
			}
			if !console[id].Time.Equal(c.ev.Time) {
				t.Errorf("console time %v, want %v", console[id].Time, c.ev.Time)
			}
			wantCtx := ""
			if c.ev.Context != nil {
				wantCtx = string(c.ev.Context.AppendJSON(nil))
			}
			if report[id] != wantCtx {
				t.Errorf("report context %q, want %q", report[id], wantCtx)
			}
		})
	}
}

// idOf reads the event_id of a normalised document (its first member).
func idOf(t *testing.T, doc []byte) string {
	t.Helper()
	rest, ok := strings.CutPrefix(string(doc), `{"event_id":"`)
	id, _, found := strings.Cut(rest, `"`)
	if !ok || !found {
		t.Fatalf("document without a leading event_id: %s", doc)
	}
	return id
}

// TestLegacyRowsAfterMigration: rows written with the whole event in doc
// (before migration 0007, or by a worker not yet upgraded) read the same
// as rows stored once, through every reader.
func TestLegacyRowsAfterMigration(t *testing.T) {
	srv := ch.Get(t)
	ctx := testCtx(t)
	s, err := Open(ctx, Config{Addr: srv.Addr(), Database: "t_legacy"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The schema as it was before 0007.
	if err := s.exec(ctx, "CREATE DATABASE IF NOT EXISTS `t_legacy`"); err != nil {
		t.Fatal(err)
	}
	if err := s.exec(ctx, migrationsTableDDL("t_legacy")); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations(s.cfg, s.features) {
		if m.version >= versionStoreOnce {
			continue
		}
		for _, stmt := range m.statements {
			if err := s.exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.recordMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	at := time.Date(2026, 11, 5, 10, 0, 0, 250_000_000, time.UTC)
	mk := func(id string, ctxFields bool) contract.Event {
		yes, hour := true, int64(11)
		ev := contract.Event{EventID: id, EventType: "session.start", Time: at, MSP: "m", Tenant: "t", Tool: "anydesk",
			Actor: contract.Actor{User: "u", Country: "DE"}, Attributes: map[string]string{"context": `{"tool_approved":true}`}}
		if ctxFields {
			ev.Context = &contract.Context{MSPKnown: &yes, LocalHour: &hour, Weekday: "thu", AssetTags: []string{"dc"}}
		}
		return ev
	}
	// insertLegacy writes rows as the code before 0007 did: columns plus
	// doc, the normalised document with the context spliced on.
	insertLegacy := func(evs ...contract.Event) {
		t.Helper()
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO t_legacy.events (event_id, event_type, time, msp, tenant, tool, actor_user, actor_country, "+
			"attributes.key, attributes.value, doc, src_topic, ingested_at)")
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			plain := ev
			plain.Context = nil
			doc, err := plain.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			keys := ev.AttributeKeys()
			vals := make([]string, len(keys))
			for i, k := range keys {
				vals[i] = ev.Attributes[k]
			}
			if err := b.Append(ev.EventID, ev.EventType, ev.Time, ev.MSP, ev.Tenant, ev.Tool, ev.Actor.User, ev.Actor.Country,
				keys, vals, string(contract.WithContext(doc, ev.Context)), "tripline.events", time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	insertLegacy(mk("old-ctx", true), mk("old-plain", false))

	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0] != "0007_events_store_once" {
		t.Fatalf("Migrate applied %v, want 0007 only", applied)
	}
	// A worker not yet upgraded keeps writing doc after the migration.
	insertLegacy(mk("late-ctx", true))
	newCtx, newPlain := mk("new-ctx", true), mk("new-plain", false)
	if err := s.InsertEvents(ctx, []record.Event{{Event: &newCtx}, {Event: &newPlain}}); err != nil {
		t.Fatal(err)
	}

	// Each row's documents and context, with its event_id made neutral:
	// every layout must read the same.
	neutral := func(id, doc string) string { return strings.Replace(doc, `"event_id":"`+id+`"`, `"event_id":"X"`, 1) }
	replayed := map[string]string{}
	if err := s.ReplayEvents(ctx, "m", at.Add(-time.Hour), at.Add(time.Hour), func(doc []byte) error {
		id := idOf(t, doc)
		replayed[id] = neutral(id, string(doc))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ids := []string{"old-ctx", "old-plain", "late-ctx", "new-ctx", "new-plain"}
	shown, err := s.Events(ctx, AllMSPs(), "m", ids)
	if err != nil {
		t.Fatal(err)
	}
	console := map[string]string{}
	for _, e := range shown {
		console[e.EventID] = neutral(e.EventID, e.Doc)
		if !e.Time.Equal(at) || !slices.Equal(e.AttrKeys, []string{"context"}) {
			t.Errorf("%s: console row time %v attributes %v", e.EventID, e.Time, e.AttrKeys)
		}
	}
	report := map[string]string{}
	if err := s.ReportEvents(ctx, AllMSPs(), "m", "t", at.Add(-time.Hour), at.Add(time.Hour), nil, func(e *ReportEvent) error {
		report[e.EventID] = e.Context
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantWith, _ := newCtx.MarshalJSON()
	wantWithout, _ := newPlain.MarshalJSON()
	wantCtx := string(newCtx.Context.AppendJSON(nil))
	for _, c := range []struct {
		id      string
		doc     string
		context string
	}{
		{"old-ctx", neutral("new-ctx", string(wantWith)), wantCtx},
		{"late-ctx", neutral("new-ctx", string(wantWith)), wantCtx},
		{"new-ctx", neutral("new-ctx", string(wantWith)), wantCtx},
		{"old-plain", neutral("new-plain", string(wantWithout)), ""},
		{"new-plain", neutral("new-plain", string(wantWithout)), ""},
	} {
		if replayed[c.id] != c.doc {
			t.Errorf("%s: replayed\n %s\nwant\n %s", c.id, replayed[c.id], c.doc)
		}
		if console[c.id] != c.doc {
			t.Errorf("%s: console document\n %s\nwant\n %s", c.id, console[c.id], c.doc)
		}
		if got, ok := report[c.id]; !ok || got != c.context {
			t.Errorf("%s: report context %q (read: %v), want %q", c.id, got, ok, c.context)
		}
	}
}

// TestExtraFields: a contract field without a column is written to extra,
// as a JSON object of only the fields set, and merged back on read.
func TestExtraFields(t *testing.T) {
	var narrowed []string
	for _, p := range columnPaths {
		if p != "actor.role" && p != "context.weekday" && p != "target.tags" {
			narrowed = append(narrowed, p)
		}
	}
	fields := uncovered(reflect.TypeFor[contract.Event](), narrowed)
	var names []string
	for _, f := range fields {
		names = append(names, strings.Join(f.path, "."))
	}
	for _, want := range []string{"actor.role", "context.weekday", "target.tags"} {
		if !slices.Contains(names, want) {
			t.Errorf("uncovered = %v, want %s among them", names, want)
		}
	}
	for _, f := range eventExtra {
		if p := strings.Join(f.path, "."); slices.Contains(columnPaths, p) {
			t.Errorf("eventExtra lists %s, which has a column", p)
		}
	}

	for _, c := range []struct {
		name  string
		ev    contract.Event
		extra string
	}{
		{"none set", contract.Event{EventID: "a", Actor: contract.Actor{User: "u"}}, ""},
		{"nested", contract.Event{EventID: "b", Actor: contract.Actor{User: "u", Role: "noc"}, Target: contract.Target{Tags: []string{"dc"}},
			Context: &contract.Context{Weekday: "mon"}}, `{"actor":{"role":"noc"},"context":{"weekday":"mon"},"target":{"tags":["dc"]}}`},
		{"context without those fields", contract.Event{EventID: "c", Context: &contract.Context{LocalHour: new(int64)}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := appendExtra(nil, &c.ev, fields, false)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.extra {
				t.Fatalf("extra = %s, want %s", b, c.extra)
			}
			// A row whose columns lack those fields reads them back from extra.
			var r storedEvent
			r.ev = c.ev
			r.ev.Actor.Role, r.ev.Target.Tags = "", nil
			if c.ev.Context != nil {
				r.ctx.localHour = c.ev.Context.LocalHour
			}
			r.frac = uint32(c.ev.Time.Nanosecond())
			r.extra = string(b)
			got, err := r.event()
			if err != nil {
				t.Fatal(err)
			}
			gotDoc, _ := got.MarshalJSON()
			wantDoc, _ := c.ev.MarshalJSON()
			if string(gotDoc) != string(wantDoc) {
				t.Errorf("rebuilt\n %s\nwant\n %s", gotDoc, wantDoc)
			}
		})
	}
}

func TestLocalOffset(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int32
		ok   bool
	}{
		{"2026-11-05T15:34:00+05:30", 5*3600 + 30*60, true},
		{"2026-11-05T03:06:00-07:00", -7 * 3600, true},
		{"2026-11-05T10:05:00+00:00", 0, true},
		{"2026-11-05T10:05:00Z", 0, false},
		{"+1:00", 0, false},
		{"2026-11-05T10:05:00+0a:00", 0, false},
		{"", 0, false},
	} {
		got, ok := localOffset(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("localOffset(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
