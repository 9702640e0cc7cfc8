package registry

import (
	"path"
	"slices"
	"time"

	"github.com/tripline/tripline/contract"
)

// Constants the contexts point at: enrichment allocates the Context and,
// only when both the registry and the event tag the target, the merged
// tag list; nothing else.
var (
	yes, no = true, false
	hours   = func() (h [24]int64) {
		for i := range h {
			h[i] = int64(i)
		}
		return h
	}()
)

func flag(b bool) *bool {
	if b {
		return &yes
	}
	return &no
}

// Context derives the context.* fields of ev (see contract.Context for
// each field's meaning and when it is absent). A nil Registry yields nil:
// without a registry events carry no context. An MSP missing from the
// registry yields only msp_known: false (and the event's target tags).
//
// Names match as events carry them or case-insensitively (msp, tenant,
// actor.user, target.host); tools are slugs, lower-case on both sides.
// Times are the event's own time, so a replay enriches the same way.
func (r *Registry) Context(ev *contract.Event) *contract.Context {
	if r == nil {
		return nil
	}
	c := &contract.Context{}
	m := lookup(r.msps, ev.MSP)
	if m == nil {
		c.MSPKnown = &no
		c.AssetTags = ev.Target.Tags
		return c
	}
	c.MSPKnown = &yes

	var t *tenant
	if ev.Tenant != "" {
		t = lookup(m.tenants, ev.Tenant)
		c.TenantContracted = flag(t != nil)
	}

	// Tools: the tenant's approved list (which includes the MSP's); for
	// console-level events without a tenant, the MSP's.
	switch {
	case t != nil && len(t.tools) > 0:
		c.ToolApproved = flag(t.tools[ev.Tool])
	case ev.Tenant == "" && len(m.tools) > 0:
		c.ToolApproved = flag(m.tools[ev.Tool])
	}

	if ev.Actor.User != "" && len(m.techs) > 0 {
		tech := lookup(m.techs, ev.Actor.User)
		c.ActorKnown = flag(tech != nil)
		if tech != nil && len(tech.countries) > 0 && ev.Actor.Country != "" {
			c.ActorUsualCountry = flag(slices.Contains(tech.countries, ev.Actor.Country))
		}
		// Shifts are on the MSP's clock: a technician works one shift
		// whichever tenant's zone the event is in.
		if tech != nil && tech.hours != nil && m.loc != nil {
			c.ActorOnShift = flag(inWindow(tech.hours, m.loc, ev.Time))
		}
	}

	// Local time: the tenant's zone; the MSP's for tenant-less events.
	loc, working := m.loc, m.working
	if t != nil {
		loc, working = t.loc, t.working
	} else if ev.Tenant != "" {
		loc = nil // an uncontracted tenant's zone is unknown
	}
	if loc != nil {
		wd, minuteOfDay := localClock(ev.Time, loc)
		h := minuteOfDay / 60
		minute := int(wd)*1440 + minuteOfDay
		c.LocalHour = &hours[h]
		c.Weekday = weekdayNames[wd]
		if working != nil {
			c.InWorkingHours = flag(working.has(minute))
		}
		if t != nil && t.maintenance != nil {
			c.InMaintenanceWindow = flag(t.maintenance.has(minute))
		}
	}

	if len(m.updateSources) > 0 && ev.Source.URL != "" {
		c.UpdateSourceListed = flag(m.updateListed(ev.Tool, ev.Source.URL))
	}

	c.AssetTags = ev.Target.Tags
	if t != nil && ev.Target.Host != "" {
		c.AssetTags = t.assetTags(ev.Target.Host, ev.Target.Tags)
	}
	return c
}

// localClock is t's weekday and minute of the day on loc's wall clock,
// with one zone lookup (t.In(loc).Clock() and .Weekday() do one each).
func localClock(t time.Time, loc *time.Location) (time.Weekday, int) {
	_, offset := t.In(loc).Zone()
	sec := t.Unix() + int64(offset)
	days := sec / 86400
	rem := sec % 86400
	if rem < 0 {
		days--
		rem += 86400
	}
	// 1970-01-01 was a Thursday.
	wd := (days + 4) % 7
	if wd < 0 {
		wd += 7
	}
	return time.Weekday(wd), int(rem / 60)
}

// assetTags merges the registry's tags for host with the event's own.
func (t *tenant) assetTags(host string, own []string) []string {
	reg := lookup(t.hosts, host)
	for i := range t.patterns {
		p := &t.patterns[i]
		if matchHost(p.glob, host) {
			if reg == nil {
				reg = p.tags
			} else {
				reg = mergeSorted(reg, p.tags)
			}
		}
	}
	switch {
	case len(reg) == 0:
		return own
	case len(own) == 0:
		return reg // shared with the registry: read-only
	}
	out := make([]string, len(reg), len(reg)+len(own))
	copy(out, reg)
	for _, tag := range own {
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

func matchHost(glob, host string) bool {
	if ok, _ := path.Match(glob, host); ok {
		return true
	}
	if !hasUpper(host) {
		return false
	}
	var buf [128]byte
	ok, _ := path.Match(glob, string(lowerInto(buf[:0], host)))
	return ok
}

// lookup finds key in a map of lower-cased keys: as is first, then
// lower-cased in a stack buffer (a map index by string(bytes) does not
// allocate).
func lookup[V any](m map[string]V, key string) V {
	if v, ok := m[key]; ok || !hasUpper(key) {
		return v
	}
	var buf [128]byte
	return m[string(lowerInto(buf[:0], key))]
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// lowerInto appends s with ASCII letters lower-cased (registry keys are
// lower-cased with strings.ToLower; non-ASCII case is compared as is).
func lowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// VendorTenantAttribute keeps, in an event's attributes, the vendor client
// ID that Resolve replaced (or cleared).
const VendorTenantAttribute = "tenant.vendor_id"

// MSPOwnAttribute marks, with "true", an event whose tenant Resolve
// cleared because it was one of the MSP's own vendor ids (the msp's
// vendor_ids): a technician's sign-in to the MSP's own Entra tenant, a
// change to the MSP's own console accounts. The event is MSP-level
// activity, as a console login is; the attribute says where the vendor
// logged it.
const MSPOwnAttribute = "tenant.msp_own"

// EntraIDTool is the tool the entra-signin adapter gives a sign-in to an
// app it does not know as an MSP console (adapt/entra.go); Resolve names
// the console of such a sign-in from the msp's entra_apps.
const EntraIDTool = "entra-id"

// Resolve maps the vendor IDs an adapter left in ev to what the registry
// calls them, and reports whether it changed ev. Ingest calls it before
// Context, so rules, storage and the report see the registry's names.
//
// The tenant: a vendor client ID the registry lists for one of the msp's
// tenants (vendor_ids) becomes that tenant, the raw ID kept in
// attributes. A tenant that is one of the msp's own vendor ids is cleared
// instead, for the event types that may have no tenant (auth.*,
// account.*: contract.RequiresTenant), with the raw ID kept and
// MSPOwnAttribute set: the MSP's own tenant is not a client it lacks a
// contract with. Other event types (a session to the MSP's own office
// machines) need a tenant, and keep the raw ID: an MSP that manages its
// own machines lists its own org as a tenant (docs/registry.md).
//
// The tool: a sign-in the adapter could not place (tool EntraIDTool) to
// an app the msp's entra_apps names, by its appId or its name
// (attributes appId, app; case-insensitive), gets that console's tool.
func (r *Registry) Resolve(ev *contract.Event) bool {
	if r == nil {
		return false
	}
	m := lookup(r.msps, ev.MSP)
	if m == nil {
		return false
	}
	changed := false
	if ev.Tool == EntraIDTool && len(m.entraApps) > 0 {
		tool := lookup(m.entraApps, ev.Attributes["appId"])
		if tool == "" {
			tool = lookup(m.entraApps, ev.Attributes["app"])
		}
		if tool != "" {
			ev.Tool, changed = tool, true
		}
	}
	if ev.Tenant == "" {
		return changed
	}
	t := m.vendorIDs[ev.Tenant]
	own := t == nil && m.own[ev.Tenant] && !contract.RequiresTenant(ev.EventType)
	if t == nil && !own {
		return changed
	}
	if ev.Attributes == nil {
		ev.Attributes = map[string]string{}
	}
	ev.Attributes[VendorTenantAttribute] = ev.Tenant
	if own {
		ev.Attributes[MSPOwnAttribute] = "true"
		ev.Tenant = ""
		return true
	}
	ev.Tenant = t.id
	return true
}
