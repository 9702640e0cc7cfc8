package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
)

// The events table stores each field of a normalised event once, in a
// column of its own. The contract grows (a field, a context.* flag) before
// the schema can: whatever no column holds goes to the extra column, a
// JSON object of only those members, so nothing is lost in between and the
// readers still rebuild the exact document. A field gets a column (a
// migration, and its path in columnPaths) once it is worth filtering on.

// columnPaths are the JSON paths of contract.Event that the events
// table's columns hold (eventColumnNames, eventReadColumns).
var columnPaths = []string{
	"event_id", "event_type", "time", "time_local", "msp", "tenant", "tool",
	"actor.user", "actor.ip", "actor.country", "actor.asn", "actor.mfa", "actor.role",
	"target.host", "target.host_count", "target.os", "target.tags",
	"session.id", "session.duration_s", "session.auth_method",
	"credential.name", "credential.privileged",
	"package.name", "package.version", "package.sha256", "package.signer", "package.signed",
	"script.name", "script.sha256", "script.interpreter", "script.command",
	"source.url", "outcome", "reason", "change.ticket", "attributes",
	"context.msp_known", "context.tenant_contracted", "context.tool_approved", "context.actor_known",
	"context.actor_usual_country", "context.actor_on_shift", "context.in_maintenance_window", "context.in_working_hours",
	"context.local_hour", "context.weekday", "context.asset_tags", "context.update_source_listed",
}

// extraField is a field of contract.Event that no column holds.
type extraField struct {
	path  []string // JSON member names from the top
	index []int    // reflect field index, through pointers to structs
}

// uncovered lists the leaf fields of t (a struct type) whose JSON path is
// not in covered. Structs and pointers to structs are walked into, every
// other type (time.Time, maps, slices, scalars) is a leaf.
func uncovered(t reflect.Type, covered []string) []extraField {
	set := make(map[string]bool, len(covered))
	for _, p := range covered {
		set[p] = true
	}
	var out []extraField
	var walk func(t reflect.Type, path []string, index []int)
	walk = func(t reflect.Type, path []string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := append(append([]string(nil), path...), name)
			idx := append(append([]int(nil), index...), i)
			if set[strings.Join(p, ".")] {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
				walk(ft, p, idx)
				continue
			}
			out = append(out, extraField{path: p, index: idx})
		}
	}
	walk(t, nil, nil)
	return out
}

// eventExtra is the extra column of the fields of contract.Event that no
// column holds, computed once: it depends only on the compiled types.
var eventExtra = uncovered(reflect.TypeFor[contract.Event](), columnPaths)

// appendExtra appends the extra column's JSON for e to dst: the members
// of fields that are set and that no column holds (fields), plus
// time_local when the time_offset_s column cannot reproduce it (local).
// Nothing is appended when there are none, the usual case.
func appendExtra(dst []byte, e *contract.Event, fields []extraField, local bool) ([]byte, error) {
	var root map[string]any
	set := func(path []string, v any) {
		if root == nil {
			root = map[string]any{}
		}
		m := root
		for _, name := range path[:len(path)-1] {
			sub, _ := m[name].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				m[name] = sub
			}
			m = sub
		}
		m[path[len(path)-1]] = v
	}
	if len(fields) > 0 {
		ev := reflect.ValueOf(e).Elem()
		for _, f := range fields {
			v, err := ev.FieldByIndexErr(f.index)
			if err != nil || v.IsZero() {
				continue // under a nil pointer, or unset (omitted in the document too)
			}
			set(f.path, v.Interface())
		}
	}
	if local {
		set([]string{"time_local"}, e.TimeLocal)
	}
	if root == nil {
		return dst, nil
	}
	b, err := json.Marshal(root)
	if err != nil {
		return dst, fmt.Errorf("event %s: extra fields: %w", e.EventID, err)
	}
	return append(dst, b...), nil
}

// localLayout formats time_local (contract.Event.TimeLocal) from the time
// and time_offset_s. The writer checks that it reproduces the event's text
// and stores the text in extra otherwise, so a change of the contract's
// layout costs bytes, never data.
const localLayout = "2006-01-02T15:04:05.999999999-07:00"

// localOffset returns the UTC offset in seconds that an RFC 3339 local
// time ends with (±hh:mm).
func localOffset(local string) (int32, bool) {
	n := len(local)
	if n < 6 || local[n-3] != ':' || (local[n-6] != '+' && local[n-6] != '-') {
		return 0, false
	}
	digit := func(c byte) (int32, bool) { return int32(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := digit(local[n-5])
	h2, ok2 := digit(local[n-4])
	m1, ok3 := digit(local[n-2])
	m2, ok4 := digit(local[n-1])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	off := (h1*10+h2)*3600 + (m1*10+m2)*60
	if local[n-6] == '-' {
		off = -off
	}
	return off, true
}

// localTime is time_local rebuilt from the event time and its offset.
func localTime(t time.Time, offset int32) string {
	return t.In(time.FixedZone("", int(offset))).Format(localLayout)
}
