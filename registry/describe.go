package registry

import (
	"slices"
	"time"
)

// TenantView is what the registry documents about one tenant of one MSP,
// for reports that show the relationship rather than enrich events.
type TenantView struct {
	// Contracted: the tenant is one of the MSP's tenants.
	Contracted bool
	// Zone is the tenant's time zone ("" when none is documented).
	Zone string
	// Tools are the tools approved at the tenant (the MSP's and its own),
	// sorted.
	Tools []string
	// Maintenance and Working give, per weekday (time.Weekday order) and
	// local hour, how many minutes of that hour the tenant's maintenance
	// windows and working hours cover (0-60). HasMaintenance and
	// HasWorking say whether any are documented.
	Maintenance    [7][24]uint8
	Working        [7][24]uint8
	HasMaintenance bool
	HasWorking     bool
}

// Tenant describes tenant of msp; ok is false when the MSP is not in the
// registry. Names match as Context matches them.
func (r *Registry) Tenant(mspID, tenantID string) (TenantView, bool) {
	var v TenantView
	if r == nil {
		return v, false
	}
	m := lookup(r.msps, mspID)
	if m == nil {
		return v, false
	}
	tools := m.tools
	t := lookup(m.tenants, tenantID)
	if t != nil {
		v.Contracted = true
		tools = t.tools
		if t.loc != nil {
			v.Zone = t.loc.String()
		}
		if t.maintenance != nil {
			v.HasMaintenance = true
			v.Maintenance = hourCoverage(t.maintenance)
		}
		if t.working != nil {
			v.HasWorking = true
			v.Working = hourCoverage(t.working)
		}
	}
	for tool := range tools {
		v.Tools = append(v.Tools, tool)
	}
	slices.Sort(v.Tools)
	return v, true
}

// Technicians returns the users the registry lists for msp, as written
// there, sorted; nil when the MSP is unknown or lists none.
func (r *Registry) Technicians(mspID string) []string {
	if r == nil {
		return nil
	}
	m := lookup(r.msps, mspID)
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.techs))
	for _, t := range m.techs {
		out = append(out, t.user)
	}
	slices.Sort(out)
	return out
}

// IsTechnician reports whether user is one of msp's technicians (matched
// as Context matches actor.user).
func (r *Registry) IsTechnician(mspID, user string) bool {
	if r == nil {
		return false
	}
	m := lookup(r.msps, mspID)
	return m != nil && lookup(m.techs, user) != nil
}

func hourCoverage(m *weekMask) (out [7][24]uint8) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		for h := 0; h < 24; h++ {
			base := int(d)*1440 + h*60
			n := uint8(0)
			for i := 0; i < 60; i++ {
				if m.has(base + i) {
					n++
				}
			}
			out[d][h] = n
		}
	}
	return out
}
