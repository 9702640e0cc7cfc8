package simulate

import (
	"fmt"
	"strconv"
)

// VendorClientID is the id a tool's own logs give a tenant of an MSP, for
// the formats whose records the simulator can write (simulate/vendor): a
// NinjaOne organization id, a ScreenConnect company name (the trigger's
// CustomProperty1), a TeamViewer group id, a Datto RMM site uid, an Entra
// tenant id (sign-ins and the Microsoft 365 audit log), the tenant uid of
// the OCSF that a Kaseya VSA or N-able MSP's SIEM forwards. ok is false when
// the MSP does not run that tool at the tenant (an attacker's remote tool
// logs nowhere the MSP forwards) or the format has no client id. The
// registry lists every id as the tenant's vendor_ids, so ingest maps them
// back. For tenant "" (an event of no tenant, such as a console login), ok
// says whether the MSP runs the tool at all, and id is the MSP's own id
// where the format has one: every simulated MSP has its own Entra ID
// tenant (its Microsoft 365 side, through which its technicians sign in to
// their consoles), which its registry lists as the msp's own vendor_ids,
// and each client has its own, which the MSP reaches through GDAP.
func (g *Generator) VendorClientID(format, msp, tenant string) (id string, ok bool) {
	for mi := range g.w.msps {
		m := &g.w.msps[mi]
		if m.id != msp {
			continue
		}
		if tenant == "" {
			// The MSP's own id, if the format has one; else an event of
			// no tenant (a console login) is in the tool's logs if the
			// MSP runs the tool anywhere.
			if id, ok := ownVendorID(mi, format); ok {
				return id, true
			}
			for ti := range m.tenants {
				if _, ok := vendorClientID(m, mi, ti, format); ok {
					return "", true
				}
			}
			return "", false
		}
		for ti := range m.tenants {
			if m.tenants[ti].name == tenant {
				return vendorClientID(m, mi, ti, format)
			}
		}
	}
	return "", false
}

// ownVendorID is the MSP's own id in a format (its Entra tenant's, for
// sign-ins and audit records), told apart from its clients' by a tenant
// number of 0.
func ownVendorID(mi int, format string) (string, bool) {
	if format == "entra-signin" || format == "m365-audit" {
		return entraTenantID(mi, -1), true
	}
	return "", false
}

// entraTenantID is the Entra tenant id of tenant ti of MSP mi (-1: the
// MSP's own).
func entraTenantID(mi, ti int) string {
	return fmt.Sprintf("%08x-e17a-4c1d-9a7e-%012x", mi+1, ti+1)
}

// ownVendorIDs are the registry's vendor_ids of MSP mi itself, as the
// adapters name them.
func ownVendorIDs(mi int) []string {
	id, _ := ownVendorID(mi, "entra-signin")
	return []string{"entra:tenant:" + id}
}

// vendorClientID is VendorClientID by index.
func vendorClientID(m *msp, mi, ti int, format string) (string, bool) {
	t := &m.tenants[ti]
	uses := func(tool uint8) bool { return m.spec.rmm == tool || t.remote == tool }
	switch format {
	case "ninjaone":
		if uses(toolNinjaOne) {
			return strconv.Itoa(100*(mi+1) + ti + 1), true
		}
	case "screenconnect":
		if uses(toolScreenConnect) {
			return t.name, true
		}
	case "teamviewer":
		if uses(toolTeamViewer) {
			return "g" + strconv.Itoa(1000*(mi+1)+ti+1), true
		}
	case "datto-rmm":
		if uses(toolDatto) {
			return fmt.Sprintf("%08x-da70-4e5f-9a6b-%012x", mi+1, ti+1), true
		}
	case "ocsf":
		// An MSP whose RMM has no vendor format here (Kaseya VSA,
		// N-able) forwards its tools' activity through its SIEM, which
		// writes OCSF with the client as the tenant uid.
		if m.spec.rmm == toolKaseya || m.spec.rmm == toolNAble {
			return fmt.Sprintf("%08x-0c5f-4f1e-8a3d-%012x", mi+1, ti+1), true
		}
	case "entra-signin", "m365-audit":
		return entraTenantID(mi, ti), true
	}
	return "", false
}

// vendorIDs are the registry's vendor_ids of a tenant, as the adapters
// name them (entra-signin and m365-audit share the entra:tenant: ids).
func vendorIDs(m *msp, mi, ti int) []string {
	var ids []string
	for _, f := range [...][2]string{{"ninjaone", "ninjaone:org:"}, {"screenconnect", "screenconnect:company:"},
		{"teamviewer", "teamviewer:group:"}, {"datto-rmm", "datto-rmm:site:"}, {"entra-signin", "entra:tenant:"},
		{"ocsf", "ocsf:tenant:"}} {
		if id, ok := vendorClientID(m, mi, ti, f[0]); ok {
			ids = append(ids, f[1]+id)
		}
	}
	return ids
}
