package adapt

import (
	"strings"

	"github.com/tripline/tripline/contract"
)

// m365Audit reads Microsoft 365 unified audit log records (the AuditData
// of the Office 365 Management Activity API or Search-UnifiedAuditLog; one
// record, an array, or {"value":[…]}). Operations that change accounts,
// roles and policies, and sign-ins, are mapped; a partner technician
// (UserType PartnerTechnician) is flagged. Operation names and the UserType
// numbers are from Microsoft's documentation as remembered
// (docs/sources.md).
type m365Audit struct{}

func (m365Audit) Name() string { return "m365-audit" }

func (a m365Audit) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(a.Name(), raw, msp, m365PageKeys, a.record, emit)
}

// m365Ops maps Operation to an event type and the kind of change.
var m365Ops = map[string][2]string{
	"UserLoggedIn":    {contract.TypeAuthLogin, ""},
	"UserLoginFailed": {contract.TypeAuthFailure, ""},

	"Add user.":                                     {contract.TypeAccountCreated, "user"},
	"Update user.":                                  {contract.TypeAccountChanged, "user"},
	"Delete user.":                                  {contract.TypeAccountChanged, "user"},
	"Disable account.":                              {contract.TypeAccountChanged, "user"},
	"Enable account.":                               {contract.TypeAccountChanged, "user"},
	"Reset user password.":                          {contract.TypeAccountChanged, "password"},
	"Change user password.":                         {contract.TypeAccountChanged, "password"},
	"Set force change user password.":               {contract.TypeAccountChanged, "password"},
	"Update StsRefreshTokenValidFrom Timestamp.":    {contract.TypeAccountChanged, "sessions revoked"},
	"Add member to role.":                           {contract.TypeAccountChanged, "role"},
	"Remove member from role.":                      {contract.TypeAccountChanged, "role"},
	"Add eligible member to role.":                  {contract.TypeAccountChanged, "role"},
	"Add member to group.":                          {contract.TypeAccountChanged, "group"},
	"Remove member from group.":                     {contract.TypeAccountChanged, "group"},
	"User registered security info":                 {contract.TypeAccountChanged, "mfa"},
	"User deleted security info":                    {contract.TypeAccountChanged, "mfa_deleted"},
	"Admin registered security info":                {contract.TypeAccountChanged, "mfa"},
	"Admin deleted security info":                   {contract.TypeAccountChanged, "mfa_deleted"},
	"Add service principal.":                        {contract.TypeAccountCreated, "service principal"},
	"Add service principal credentials.":            {contract.TypeAccountChanged, "service principal"},
	"Update application.":                           {contract.TypeAccountChanged, "application"},
	"Add app role assignment to service principal.": {contract.TypeAccountChanged, "role"},
	"Add delegated permission grant.":               {contract.TypeAccountChanged, "consent"},
	"Consent to application.":                       {contract.TypeAccountChanged, "consent"},
	"Add partner to company.":                       {contract.TypeAccountChanged, "partner"},
	"Remove partner from company.":                  {contract.TypeAccountChanged, "partner"},
	// Policies: account.changed with change=policy until the contract
	// has a type for configuration changes.
	"Add policy.":                        {contract.TypeAccountChanged, "policy"},
	"Update policy.":                     {contract.TypeAccountChanged, "policy"},
	"Delete policy.":                     {contract.TypeAccountChanged, "policy"},
	"Add conditional access policy.":     {contract.TypeAccountChanged, "policy"},
	"Update conditional access policy.":  {contract.TypeAccountChanged, "policy"},
	"Delete conditional access policy.":  {contract.TypeAccountChanged, "policy"},
	"Set domain authentication.":         {contract.TypeAccountChanged, "policy"},
	"Set federation settings on domain.": {contract.TypeAccountChanged, "policy"},
	"Set Company Information.":           {contract.TypeAccountChanged, "policy"},
	"Add-MailboxPermission":              {contract.TypeAccountChanged, "permission"},
	"Add-RoleGroupMember":                {contract.TypeAccountChanged, "role"},
	"New-ManagementRoleAssignment":       {contract.TypeAccountChanged, "role"},
}

var m365Ignored = map[string]string{
	"MailItemsAccessed": "mailbox read", "FileAccessed": "file read", "FilePreviewed": "file read",
	"FileDownloaded": "file read", "SearchQueryPerformed": "search", "MessageSent": "chat",
}

// m365UserTypes names the numeric UserType values.
var m365UserTypes = map[string]string{
	"0": "Regular", "1": "Reserved", "2": "Admin", "3": "DcAdmin", "4": "System",
	"5": "Application", "6": "ServicePrincipal", "7": "CustomPolicy", "8": "SystemPolicy",
	"9": "PartnerTechnician", "10": "Guest",
}

func (m365Audit) record(r *rec, msp string) ([]*contract.Event, string, error) {
	r.id = r.str("Id")
	if r.id == "" {
		return nil, "", errorf("no Id")
	}
	op := r.str("Operation")
	m, ok := m365Ops[op]
	if !ok {
		if why, ok := m365Ignored[op]; ok {
			return nil, why, nil
		}
		return nil, "", unmapped("Operation", op)
	}
	ev := r.newEvent(r.join("m365:", r.id), m[0], msp, "m365")
	at := r.attrsOf(ev)
	at.put("m365.operation", op)
	at.set("change", m[1])
	// CreationTime is UTC without an offset.
	t, err := parseTime(r.str("CreationTime"), true)
	if err != nil {
		return nil, "", errorf("CreationTime: %v", err)
	}
	ev.Time = t
	ev.Tenant = r.tenantID("entra", "tenant", r.str("OrganizationId"))
	ev.Actor.User = r.str("UserId")
	ev.Actor.IP = ip(r.str("ClientIP"), at, "ClientIP")
	ut := r.str("UserType")
	if n, ok := m365UserTypes[ut]; ok {
		ut = n
	}
	at.set("m365.user_type", ut)
	if ut == "PartnerTechnician" {
		at.put("msp_technician", "true")
		ev.Actor.Role = "partner-technician"
	} else if ut == "Admin" {
		ev.Actor.Role = "admin"
	}
	switch r.lower(r.str("ResultStatus")) {
	case "success", "succeeded", "true":
		ev.Outcome = "success"
	case "failed", "failure", "false":
		ev.Outcome = "failure"
	}
	if ev.EventType == contract.TypeAuthFailure {
		ev.Outcome = "failure"
		ev.Reason = r.str("LogonError")
	}
	// The account changed: the first Target of type User/ServicePrincipal, else ObjectId.
	if ev.EventType != contract.TypeAuthLogin && ev.EventType != contract.TypeAuthFailure {
		acc := r.str("ObjectId")
		for i, tg := range r.objs("Target") {
			id := tg.str("ID")
			at.set(r.join("Target.", itoa(i), ".ID"), id)
			if acc == "" && strings.Contains(id, "@") {
				acc = id
			}
		}
		at.set("account", acc)
		for _, p := range r.objs("ModifiedProperties") {
			name := p.str("Name")
			if name == "" {
				continue
			}
			at.set(r.join("modified.", name), p.str("NewValue"))
			at.set(r.join("modified.", name, ".old"), p.str("OldValue"))
		}
	}
	return r.events(ev), "", nil
}
