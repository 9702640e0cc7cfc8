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
	return run(a.Name(), raw, msp, []string{"value"}, a.record, emit)
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
	ev := r.newEvent("entra:"+r.id, typ, msp, "entra-id")
	at := ev.Attributes
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
	set(at, "entra.cross_tenant_access_type", access)
	set(at, "entra.home_tenant", tenantID("entra", "tenant", home))
	if resource == "" {
		resource = own
	} else {
		set(at, "tenantId", own)
	}
	ev.Tenant = tenantID("entra", "tenant", resource)
	if strings.EqualFold(access, "serviceProvider") {
		at["msp_technician"] = "true"
		ev.Actor.Role = "service-provider"
	}

	// MFA: a succeeded step with a method other than a password, or the
	// requirement met on a successful sign-in; single factor is false;
	// neither field means unknown.
	req := r.str("authenticationRequirement")
	var mfa *bool
	if req == "singleFactorAuthentication" {
		mfa = ptr(false)
	}
	if req == "multiFactorAuthentication" && typ == contract.TypeAuthLogin {
		mfa = ptr(true)
	}
	steps := r.objs("authenticationDetails")
	methods := make([]string, 0, len(steps))
	for _, s := range steps {
		m := s.str("authenticationMethod")
		ok := s.boolean("succeeded")
		if ok != nil && *ok {
			methods = append(methods, m)
			if !entraSingleFactor[m] {
				mfa = ptr(true)
			}
		}
	}
	if mfa == nil && len(steps) > 0 {
		mfa = ptr(false)
	}
	ev.Actor.MFA = mfa
	if len(methods) > 0 {
		at["entra.auth_methods"] = strings.Join(methods, ",")
	}
	ev.Session.AuthMethod = r.str("clientAppUsed")
	set(at, "app", r.str("appDisplayName"))
	set(at, "resource", r.str("resourceDisplayName"))
	dev := r.obj("deviceDetail")
	set(at, "device.os", dev.str("operatingSystem"))
	set(at, "device.name", dev.str("displayName"))
	if typ == contract.TypeAuthFailure {
		ev.Outcome = "failure"
		ev.Reason = st.str("failureReason")
		at["entra.error_code"] = code
	} else {
		ev.Outcome = "success"
	}
	return r.events(ev), "", nil
}
