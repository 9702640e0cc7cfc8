package contract

import (
	"bytes"
	stdjson "encoding/json"
	"strconv"

	"github.com/tripline/tripline/fields"
)

// Context is what ingest derives about an event from the MSP relationship
// registry (package registry): is the tenant under contract, is the tool
// approved there, is the actor a known technician, is it inside the
// tenant's maintenance window... Rules read it as context.* fields.
//
// Context is not part of what a producer sends: ingest discards any
// "context" a producer puts in a message (Decoder.DiscardContext) and sets
// its own, or none when no registry is configured. Downstream decoders
// (the detector reading tripline.events, stateful rules rebuilding from
// ClickHouse, `rules eval` and rule tests) read it back from the
// normalised JSON.
//
// A field is nil (absent) when the registry cannot say: the MSP is not in
// the registry, the tenant has no time zone, the MSP lists no
// technicians... so a rule testing `context.tool_approved: false` stays
// silent rather than firing on missing data.
//
// The pointers may be shared between events (the registry points at
// constants): treat a Context as read-only.
type Context struct {
	// MSPKnown: the event's msp is in the registry.
	MSPKnown *bool `json:"msp_known,omitempty"`
	// TenantContracted: the tenant is one of the MSP's contracted tenants
	// (absent for events without a tenant).
	TenantContracted *bool `json:"tenant_contracted,omitempty"`
	// ToolApproved: the tool is approved for the tenant (or, for events
	// without a tenant, for the MSP); absent when no approved list applies.
	ToolApproved *bool `json:"tool_approved,omitempty"`
	// ActorKnown: actor.user is one of the MSP's technicians; absent when
	// the MSP lists none or the event names no user.
	ActorKnown *bool `json:"actor_known,omitempty"`
	// ActorUsualCountry: actor.country is one of the technician's usual
	// countries; absent when either is unknown.
	ActorUsualCountry *bool `json:"actor_usual_country,omitempty"`
	// ActorOnShift: the event time falls in the technician's documented
	// hours (their shift, on the MSP's clock); absent when the actor is
	// unknown or the registry lists no hours for them. A night-shift NOC
	// working at 03:00 is on shift; the day admin's account at 03:00 is not.
	ActorOnShift *bool `json:"actor_on_shift,omitempty"`
	// InMaintenanceWindow: the event time falls in one of the tenant's
	// maintenance windows; absent when the tenant defines none.
	InMaintenanceWindow *bool `json:"in_maintenance_window,omitempty"`
	// InWorkingHours: the event time falls in the tenant's (or the MSP's)
	// working hours; absent when none are defined.
	InWorkingHours *bool `json:"in_working_hours,omitempty"`
	// LocalHour (0-23) and Weekday ("mon".."sun") are the event time in the
	// tenant's time zone (the MSP's for events without a tenant).
	LocalHour *int64 `json:"local_hour,omitempty"`
	Weekday   string `json:"weekday,omitempty"`
	// AssetTags are the registry's tags for target.host merged with the
	// event's target.tags.
	AssetTags []string `json:"asset_tags,omitempty"`
	// UpdateSourceListed: source.url is HTTPS from a host the MSP lists
	// in update_sources for this tool (its own mirror, an on-premises
	// server), in addition to the vendors' domains the pack knows; absent
	// when the MSP lists none or the event has no source.url.
	UpdateSourceListed *bool `json:"update_source_listed,omitempty"`
}

// ContextPaths lists the context.* fields Lookup resolves. They exist only
// on events enriched by an ingest worker running with a registry.
var ContextPaths = []string{
	"context.msp_known", "context.tenant_contracted", "context.tool_approved",
	"context.actor_known", "context.actor_usual_country", "context.actor_on_shift",
	"context.in_maintenance_window", "context.in_working_hours",
	"context.local_hour", "context.weekday", "context.asset_tags",
	"context.update_source_listed",
}

func (e *Event) lookupContext(path string) fields.Value {
	c := e.Context
	if c == nil {
		return fields.Value{}
	}
	switch path {
	case "context.msp_known":
		return boolean(c.MSPKnown)
	case "context.tenant_contracted":
		return boolean(c.TenantContracted)
	case "context.tool_approved":
		return boolean(c.ToolApproved)
	case "context.actor_known":
		return boolean(c.ActorKnown)
	case "context.actor_usual_country":
		return boolean(c.ActorUsualCountry)
	case "context.actor_on_shift":
		return boolean(c.ActorOnShift)
	case "context.in_maintenance_window":
		return boolean(c.InMaintenanceWindow)
	case "context.in_working_hours":
		return boolean(c.InWorkingHours)
	case "context.local_hour":
		return num(c.LocalHour)
	case "context.weekday":
		return str(c.Weekday)
	case "context.asset_tags":
		if len(c.AssetTags) == 0 {
			return fields.Value{}
		}
		return fields.Value{Kind: fields.Strings, Strs: c.AssetTags}
	case "context.update_source_listed":
		return boolean(c.UpdateSourceListed)
	}
	return fields.Value{}
}

// AppendJSON appends c as JSON, byte for byte what encoding/json produces
// for it, without reflection.
func (c *Context) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	key := func(k string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, k...)
		dst = append(dst, '"', ':')
	}
	boolField := func(k string, b *bool) {
		if b != nil {
			key(k)
			dst = strconv.AppendBool(dst, *b)
		}
	}
	boolField("msp_known", c.MSPKnown)
	boolField("tenant_contracted", c.TenantContracted)
	boolField("tool_approved", c.ToolApproved)
	boolField("actor_known", c.ActorKnown)
	boolField("actor_usual_country", c.ActorUsualCountry)
	boolField("actor_on_shift", c.ActorOnShift)
	boolField("in_maintenance_window", c.InMaintenanceWindow)
	boolField("in_working_hours", c.InWorkingHours)
	if c.LocalHour != nil {
		key("local_hour")
		dst = strconv.AppendInt(dst, *c.LocalHour, 10)
	}
	if c.Weekday != "" {
		key("weekday")
		dst = appendJSONString(dst, c.Weekday)
	}
	if len(c.AssetTags) > 0 {
		key("asset_tags")
		dst = append(dst, '[')
		for i, t := range c.AssetTags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, t)
		}
		dst = append(dst, ']')
	}
	boolField("update_source_listed", c.UpdateSourceListed)
	return append(dst, '}')
}

// appendJSONString quotes s as encoding/json does (which escapes <, > and &
// too); strings needing escapes, rare here, go through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := stdjson.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// WithContext returns doc, the normalised JSON of an event without context
// (MarshalJSON's output), with c added: the bytes MarshalJSON produces for
// the event with Context set to c ("context" is the last field). doc is not
// modified. A nil c returns doc unchanged.
func WithContext(doc []byte, c *Context) []byte {
	if c == nil {
		return doc
	}
	body := bytes.TrimRight(doc, " \n")
	if len(body) == 0 || body[len(body)-1] != '}' {
		return doc
	}
	body = body[:len(body)-1]
	out := make([]byte, 0, len(body)+len(`,"context":{}}`)+256)
	out = append(out, body...)
	if len(body) > 1 {
		out = append(out, ',')
	}
	out = append(out, `"context":`...)
	out = c.AppendJSON(out)
	return append(out, '}')
}
