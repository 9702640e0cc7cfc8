package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
)

// Reading stored events back as contract.Events.
//
// Since migration 0007 an event is stored once: its columns hold every
// field of the normalised event (time_frac_ns the part of a second the
// time column cannot, time_offset_s the offset of time_local, the
// context_* columns the registry context, extra the fields no column
// holds yet) and doc stays empty. Rows written before keep their doc, which is the
// normalised event exactly as ingest produced it; readers take it as is
// (docs/storage.md). Every reader goes through storedEvent, so the two
// layouts are told apart in one place.

// eventReadColumns are the columns storedEvent.dest scans, in order.
const eventReadColumns = "event_id, event_type, time, msp, tenant, tool, " +
	"actor_user, actor_ip, actor_country, actor_asn, actor_mfa, actor_role, " +
	"target_host, target_host_count, target_os, target_tags, " +
	"session_id, session_duration_s, session_auth_method, credential_name, credential_privileged, " +
	"package_name, package_version, package_sha256, package_signer, package_signed, " +
	"script_name, script_sha256, script_interpreter, script_command, " +
	"source_url, outcome, reason, change_ticket, attributes.key, attributes.value, " +
	"time_frac_ns, time_offset_s, extra, " + contextReadColumns + ", doc"

// contextReadColumns are the columns contextColumns.dest scans, in order.
const contextReadColumns = "context_msp_known, context_tenant_contracted, context_tool_approved, context_actor_known, " +
	"context_actor_usual_country, context_actor_on_shift, context_in_maintenance_window, context_in_working_hours, " +
	"context_local_hour, context_weekday, context_asset_tags, context_update_source_listed"

// storedEvent is one scanned row of eventReadColumns. Reused across rows:
// dest once, then scan and read each row before the next.
type storedEvent struct {
	ev        contract.Event
	mfa       *uint8
	priv      *uint8
	signed    *uint8
	attrKeys  []string
	attrVals  []string
	frac      uint32
	offset    *int32
	extra     string
	ctx       contextColumns
	doc       string
	destSlice []any
}

// dest returns the scan destinations, in eventReadColumns order.
func (r *storedEvent) dest() []any {
	if r.destSlice != nil {
		return r.destSlice
	}
	e := &r.ev
	d := []any{&e.EventID, &e.EventType, &e.Time, &e.MSP, &e.Tenant, &e.Tool,
		&e.Actor.User, &e.Actor.IP, &e.Actor.Country, &e.Actor.ASN, &r.mfa, &e.Actor.Role,
		&e.Target.Host, &e.Target.HostCount, &e.Target.OS, &e.Target.Tags,
		&e.Session.ID, &e.Session.DurationS, &e.Session.AuthMethod, &e.Credential.Name, &r.priv,
		&e.Package.Name, &e.Package.Version, &e.Package.SHA256, &e.Package.Signer, &r.signed,
		&e.Script.Name, &e.Script.SHA256, &e.Script.Interpreter, &e.Script.Command,
		&e.Source.URL, &e.Outcome, &e.Reason, &e.Change.Ticket, &r.attrKeys, &r.attrVals,
		&r.frac, &r.offset, &r.extra}
	d = append(d, r.ctx.dest()...)
	r.destSlice = append(d, &r.doc)
	return r.destSlice
}

// legacy reports whether the row was written before migration 0007: its
// doc holds the whole normalised event and its newer columns are empty.
func (r *storedEvent) legacy() bool { return r.doc != "" }

// event returns the stored event. The result shares nothing with r, so it
// stays valid after the next scan.
func (r *storedEvent) event() (contract.Event, error) {
	if r.legacy() {
		var ev contract.Event
		if err := json.Unmarshal([]byte(r.doc), &ev); err != nil {
			return ev, fmt.Errorf("event %s: stored document: %w", r.ev.EventID, err)
		}
		return ev, nil
	}
	ev := r.ev
	// A scan reuses the row's pointer and slice targets: detach them.
	ev.Actor.ASN = clonePtr(ev.Actor.ASN)
	ev.Target.HostCount = clonePtr(ev.Target.HostCount)
	ev.Session.DurationS = clonePtr(ev.Session.DurationS)
	bools := new(boolArena) // one allocation for all the event's booleans
	ev.Actor.MFA = bools.of(r.mfa)
	ev.Credential.Privileged = bools.of(r.priv)
	ev.Package.Signed = bools.of(r.signed)
	ev.Target.Tags = cloneStrings(ev.Target.Tags)
	// The time column holds whole seconds or milliseconds; time_frac_ns
	// the exact fraction.
	ev.Time = time.Unix(ev.Time.Unix(), int64(r.frac)).UTC()
	if len(r.attrKeys) > 0 {
		ev.Attributes = make(map[string]string, len(r.attrKeys))
		for i, k := range r.attrKeys {
			if i < len(r.attrVals) {
				ev.Attributes[k] = r.attrVals[i]
			}
		}
	}
	ev.Context = r.ctx.context(bools)
	if r.offset != nil {
		ev.TimeLocal = localTime(ev.Time, *r.offset)
	}
	if r.extra != "" {
		// The members no column holds: decoding merges them into the
		// event (nested objects into the structs already there).
		if err := json.Unmarshal([]byte(r.extra), &ev); err != nil {
			return ev, fmt.Errorf("event %s: extra: %w", ev.EventID, err)
		}
	}
	return ev, nil
}

// normalised returns the event's normalised JSON, byte for byte what
// ingest produced (contract.Event.MarshalJSON with the context spliced on,
// which is the same bytes).
func (r *storedEvent) normalised() ([]byte, error) {
	if r.legacy() {
		return []byte(r.doc), nil
	}
	ev, err := r.event()
	if err != nil {
		return nil, err
	}
	b, err := ev.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("event %s: encode: %w", ev.EventID, err)
	}
	return b, nil
}

// contextJSON returns the event's registry context as a JSON object, ""
// when it was stored without one.
func (r *storedEvent) contextJSON() (string, error) {
	if r.legacy() {
		return legacyContextJSON(r.doc, r.ev.EventID)
	}
	x := r.ctx.context(new(boolArena))
	if strings.Contains(r.extra, `"context"`) {
		// Context fields without a column yet: merged like event does.
		top := struct {
			Context *contract.Context `json:"context"`
		}{x}
		if err := json.Unmarshal([]byte(r.extra), &top); err != nil {
			return "", fmt.Errorf("event %s: extra: %w", r.ev.EventID, err)
		}
		x = top.Context
	}
	if x == nil {
		return "", nil
	}
	return string(x.AppendJSON(nil)), nil
}

// legacyContextJSON returns the "context" object of a document written
// before migration 0007. It is the document's top-level member (ingest
// writes it last, after discarding any a producer sent); a producer's
// text sits inside strings or the attributes object, never at the top
// level, so it cannot plant one.
func legacyContextJSON(doc, id string) (string, error) {
	var top struct {
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return "", fmt.Errorf("event %s: stored document: %w", id, err)
	}
	if len(top.Context) == 0 || string(top.Context) == "null" {
		return "", nil
	}
	return string(top.Context), nil
}

// contextColumns scans the context_* columns (contextReadColumns).
type contextColumns struct {
	bools        [8]*uint8
	localHour    *int64
	weekday      string
	assetTags    []string
	updateSource *uint8
}

func (c *contextColumns) dest() []any {
	return []any{&c.bools[0], &c.bools[1], &c.bools[2], &c.bools[3], &c.bools[4], &c.bools[5], &c.bools[6], &c.bools[7],
		&c.localHour, &c.weekday, &c.assetTags, &c.updateSource}
}

// context returns the scanned context, nil when every column is empty:
// the event was stored without one (ingest ran without a registry). A
// registry's context always says at least whether the MSP is known.
func (c *contextColumns) context(bools *boolArena) *contract.Context {
	empty := c.localHour == nil && c.weekday == "" && len(c.assetTags) == 0 && c.updateSource == nil
	for _, b := range c.bools {
		empty = empty && b == nil
	}
	if empty {
		return nil
	}
	return &contract.Context{
		MSPKnown:            bools.of(c.bools[0]),
		TenantContracted:    bools.of(c.bools[1]),
		ToolApproved:        bools.of(c.bools[2]),
		ActorKnown:          bools.of(c.bools[3]),
		ActorUsualCountry:   bools.of(c.bools[4]),
		ActorOnShift:        bools.of(c.bools[5]),
		InMaintenanceWindow: bools.of(c.bools[6]),
		InWorkingHours:      bools.of(c.bools[7]),
		LocalHour:           clonePtr(c.localHour),
		Weekday:             c.weekday,
		AssetTags:           cloneStrings(c.assetTags),
		UpdateSourceListed:  bools.of(c.updateSource),
	}
}

// boolArena backs the *bool fields of one rebuilt event: one allocation
// instead of one per field, and no pointer shared between events.
type boolArena struct {
	v [12]bool // 3 in the event, 9 in its context
	n int
}

func (a *boolArena) of(p *uint8) *bool {
	if p == nil {
		return nil
	}
	if a.n == len(a.v) { // more fields than planned for: still correct
		b := *p != 0
		return &b
	}
	a.v[a.n] = *p != 0
	a.n++
	return &a.v[a.n-1]
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneStrings copies s, nil when empty (as a decoded event has it).
func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
