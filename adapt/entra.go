package adapt

import (
	"strings"

	"github.com/tripline/tripline/contract"
)

// entraSignIn reads Microsoft Graph sign-in records (GET
// /auditLogs/signIns, v1.0 or beta; a page {"value":[…]} or one record).
// crossTenantAccessType "serviceProvider" marks a partner (MSP)
// technician signing in to a client tenant through GDAP: the home tenant
// is the MSP's, the resource tenant the client's. Field names are from the
// Graph signIn resource as remembered (docs/sources.md).
type entraSignIn struct{}

func (entraSignIn) Name() string { return "entra-signin" }

func (a entraSignIn) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(a.Name(), raw, msp, entraPageKeys, a.record, emit)
}

// entraIDTool is the tool of a sign-in to an app that names no MSP
// console (entraConsoleApps).
const entraIDTool = "entra-id"

// entraConsoleApps maps the appDisplayName of an MSP console's Entra app,
// lower-cased, to the console's tool slug, so that a technician's sign-in
// to NinjaOne through Entra single sign-on is a NinjaOne login. Only a
// whole name that is the product's own name, or the name its vendor's
// Entra SSO guide tells the admin to give the app, counts; nothing is
// matched in part (docs/sources.md). These consoles have no Entra gallery
// app with a fixed appId (NinjaOne, ScreenConnect, Kaseya VSA, KaseyaOne,
// Datto RMM: a non-gallery SAML app the admin names; AnyDesk, N-central:
// an app registration the admin names; TeamViewer: the "TeamViewer"
// gallery app), so the appId is a tenant's own and the name is what can
// be read. The first name of each tool is the one the record encoder
// writes. KaseyaOne, which signs in to several Kaseya consoles, is not
// one of them: its sign-ins stay entra-id.
var entraConsoleApps = func() map[string]string {
	m := map[string]string{}
	for _, a := range entraConsoleNames {
		m[strings.ToLower(a[0])] = a[1]
	}
	return m
}()

// entraConsoleNames are the console app names, {name, tool}.
var entraConsoleNames = [...][2]string{
	{"NinjaOne", "ninjaone"},
	{"NinjaRMM", "ninjaone"}, // NinjaOne's name until 2021
	{"ScreenConnect", "screenconnect"},
	{"ConnectWise ScreenConnect", "screenconnect"},
	{"ConnectWise Control", "screenconnect"}, // ScreenConnect's name 2015-2023
	{"TeamViewer", "teamviewer"},
	{"Datto RMM", "datto-rmm"},
	{"Kaseya VSA", "kaseya-vsa"},
	{"N-able", "n-able"},
	{"N-central", "n-central"},
	{"N-able N-central", "n-central"},
	{"N-sight", "n-sight"},
	{"N-able N-sight", "n-sight"},
	{"AnyDesk", "anydesk"},
	{"my.anydesk", "anydesk"},
	{"Atera", "atera"},
	{"Splashtop", "splashtop"},
}

// entraTool is the tool of a sign-in to app: its console's slug if
// entraConsoleApps names it, else entra-id. The lookup lower-cases app in
// a stack buffer (a map index by string(bytes) does not allocate).
func entraTool(app string) string {
	app = strings.TrimSpace(app)
	var buf [32]byte
	if app == "" || len(app) > len(buf) {
		return entraIDTool
	}
	b := buf[:0]
	for i := 0; i < len(app); i++ {
		c := app[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	if tool, ok := entraConsoleApps[string(b)]; ok {
		return tool
	}
	return entraIDTool
}

// entraAppName is the app name a console's sign-ins carry: the first of
// entraConsoleNames for the tool, else the tool itself.
func entraAppName(tool string) string {
	for _, a := range entraConsoleNames {
		if a[1] == tool {
			return a[0]
		}
	}
	return tool
}

// entraSingleFactor are authenticationDetails methods that are not a
// second factor.
var entraSingleFactor = map[string]bool{"Password": true, "": true}

func (entraSignIn) record(r *rec, msp string) ([]*contract.Event, string, error) {
	r.id = r.str("id")
	if r.id == "" {
		return nil, "", errorf("no id")
	}
	st := r.obj("status")
	code := st.str("errorCode")
	typ := contract.TypeAuthLogin
	if code != "" && code != "0" {
		typ = contract.TypeAuthFailure
	}
	app := r.str("appDisplayName")
	ev := r.newEvent(r.join("entra:", r.id), typ, msp, entraTool(app))
	at := r.attrsOf(ev)
	t, err := parseTime(r.str("createdDateTime"), false)
	if err != nil {
		return nil, "", errorf("createdDateTime: %v", err)
	}
	ev.Time = t
	// An unread fallback stays in attributes under its own name.
	if ev.Actor.User = r.str("userPrincipalName"); ev.Actor.User == "" {
		ev.Actor.User = r.str("userId")
	}
	ev.Actor.IP = ip(r.str("ipAddress"), at, "ipAddress")
	loc := r.obj("location")
	ev.Actor.Country = country(loc.str("countryOrRegion"), at, "location.countryOrRegion")
	if asn := r.integer("autonomousSystemNumber"); asn != nil && *asn >= 0 {
		ev.Actor.ASN = asn
	}

	home, resource, own := r.str("homeTenantId"), r.str("resourceTenantId"), r.str("tenantId")
	access := r.str("crossTenantAccessType")
	at.set("entra.cross_tenant_access_type", access)
	at.set("entra.home_tenant", r.tenantID("entra", "tenant", home))
	if resource == "" {
		resource = own
	} else {
		at.set("tenantId", own)
	}
	ev.Tenant = r.tenantID("entra", "tenant", resource)
	if strings.EqualFold(access, "serviceProvider") {
		at.put("msp_technician", "true")
		ev.Actor.Role = "service-provider"
	}

	// MFA: a succeeded step with a method other than a password, or the
	// requirement met on a successful sign-in; single factor is false;
	// neither field means unknown.
	req := r.str("authenticationRequirement")
	var mfa *bool
	if req == "singleFactorAuthentication" {
		mfa = r.boolp(false)
	}
	if req == "multiFactorAuthentication" && typ == contract.TypeAuthLogin {
		mfa = r.boolp(true)
	}
	steps := r.objs("authenticationDetails")
	methods := make([]string, 0, len(steps))
	for _, s := range steps {
		m := s.str("authenticationMethod")
		ok := s.boolean("succeeded")
		if ok != nil && *ok {
			methods = append(methods, m)
			if !entraSingleFactor[m] {
				mfa = r.boolp(true)
			}
		}
	}
	if mfa == nil && len(steps) > 0 {
		mfa = r.boolp(false)
	}
	ev.Actor.MFA = mfa
	if len(methods) > 0 {
		at.put("entra.auth_methods", r.joinSep(methods, ","))
	}
	ev.Session.AuthMethod = r.str("clientAppUsed")
	at.set("app", app)
	at.set("resource", r.str("resourceDisplayName"))
	dev := r.obj("deviceDetail")
	at.set("device.os", dev.str("operatingSystem"))
	at.set("device.name", dev.str("displayName"))
	if typ == contract.TypeAuthFailure {
		ev.Outcome = "failure"
		ev.Reason = st.str("failureReason")
		at.put("entra.error_code", code)
	} else {
		ev.Outcome = "success"
	}
	return r.events(ev), "", nil
}
