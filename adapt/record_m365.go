package adapt

import (
	"encoding/json"

	"github.com/tripline/tripline/contract"
)

// m365RecordOps is the unified-audit Operation of an account change by
// what changed (attributes.change, in the simulator's and NinjaOne's
// words); other changes are "Update user.". Each is one of m365Ops's
// keys (TestRecordRoundTrip checks they map back).
var m365RecordOps = map[string]string{
	"role_changed":     "Add member to role.",
	"password_reset":   "Reset user password.",
	"mfa_device_added": "User registered security info",
	"mfa_setup":        "User registered security info",
	"deleted":          "Delete user.",
	"disabled":         "Disable account.",
	"group_membership": "Add member to group.",
}

// encodeM365Audit writes a Microsoft 365 unified audit log record
// (AzureActiveDirectory workload) for a change to a console account: an
// MSP whose consoles sign technicians in through its Entra ID tenant
// creates, changes and deletes those accounts there, and the tenant's
// audit log records it. client is the Entra tenant id (the MSP's own for
// an event of no tenant; "" leaves OrganizationId out). ScreenConnect keeps its own user store (the
// setup wizard of CVE-2024-1709 creates a local user Entra never sees), so
// its account changes are not expressible; an MFA method removed is left
// with the tool's own log (the adapter reads "Admin deleted security info"
// as change "mfa_deleted"). Lost: the console (tool is m365), the actor's
// role unless admin, the change's own word (attributes.change is the
// adapter's: user, role, password, mfa, mfa_deleted, group), actor country and ASN,
// free-form attributes.
func encodeM365Audit(ev *contract.Event, client string, seq uint64) (Record, error) {
	const format = "m365-audit"
	if ev.EventType != contract.TypeAccountCreated && ev.EventType != contract.TypeAccountChanged {
		return Record{}, inexpressible(format, "no audit record for "+ev.EventType)
	}
	if ev.Tool == "screenconnect" {
		return Record{}, inexpressible(format, "ScreenConnect's users are its own, not Entra ID's")
	}
	if ev.Tenant != "" && client == "" || ev.Actor.User == "" {
		return Record{}, inexpressible(format, "an account change without its actor, or at a tenant without its Entra id")
	}
	op := "Add user."
	if ev.EventType == contract.TypeAccountChanged {
		change := ev.Attributes["change"]
		if change == "mfa_reset" {
			return Record{}, inexpressible(format, "an MFA method removed reads as change mfa (docs/sources.md)")
		}
		if op = m365RecordOps[change]; op == "" {
			op = "Update user."
		}
	}
	out := said(ev, "")
	out.Tool = "m365"
	at := out.Attributes
	at["change"] = m365Ops[op][1]
	r := obj{}
	r.put("CreationTime", ev.Time.UTC().Format("2006-01-02T15:04:05.999999999"))
	r.put("Id", scGUID(seq))
	r.put("Operation", op)
	r.put("OrganizationId", client)
	r.put("ResultStatus", "Success")
	out.Outcome = "success"
	if ev.Outcome == "failure" {
		r = append(r[:len(r)-1], member{"ResultStatus", "Failed"})
		out.Outcome = "failure"
	}
	userType := 0
	if ev.Actor.Role == "admin" {
		userType, out.Actor.Role = 2, "admin"
	}
	r.put("UserType", userType)
	r.put("UserId", ev.Actor.User)
	r.put("ClientIP", ev.Actor.IP)
	out.Actor.User, out.Actor.IP = ev.Actor.User, ev.Actor.IP
	r.put("ObjectId", ev.Attributes["account"])
	set(at, "account", ev.Attributes["account"])
	if ev.Tenant != "" {
		out.Tenant = ev.Tenant
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: b, Event: out}, nil
}
