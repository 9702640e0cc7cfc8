package adapt

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
)

// encodeEntraSignIn writes a Microsoft Graph signIn record for a person's
// console login: an MSP that signs its technicians in to its RMM and
// remote-access consoles through its Entra ID tenant (single sign-on) has
// every such login, whatever the console, in that tenant's sign-in log,
// with the address, its country and network, and how the second factor
// went. client is the Entra tenant id: the MSP's own for a login of no
// tenant ("" leaves tenantId out), the client's for a login into a tenant, which is a GDAP
// sign-in (crossTenantAccessType serviceProvider; the adapter marks the
// actor as the service provider's technician).
//
// Not expressible: other event types; logins of service, automation and
// integration accounts or by API key or token (not interactive sign-ins
// of a person; their record would not say the role the MFA rules spare
// them by). The console's Entra app is named as its vendor's guide names
// it (entraConsoleNames), so the adapter gives the sign-in the console's
// tool; a console missing from that table is lost (tool entra-id, the name
// in attributes.app). Lost: the actor's role, the authentication method (Entra's
// clientAppUsed, "Browser", takes its place), the MFA of a failed
// sign-in, and free-form attributes.
func encodeEntraSignIn(ev *contract.Event, client string, seq uint64) (Record, error) {
	const format = "entra-signin"
	if ev.EventType != contract.TypeAuthLogin && ev.EventType != contract.TypeAuthFailure {
		return Record{}, inexpressible(format, "no sign-in for "+ev.EventType)
	}
	if serviceAccount(ev) {
		return Record{}, inexpressible(format, "a service account's or API key's login is not a person's sign-in")
	}
	if ev.Tenant != "" && client == "" || ev.Actor.User == "" {
		return Record{}, inexpressible(format, "a sign-in without its user, or into a tenant without its Entra id")
	}
	out := said(ev, "")
	app := entraAppName(ev.Tool)
	out.Tool = entraTool(app)
	at := out.Attributes
	r := obj{}
	r.put("id", scGUID(seq))
	r.put("createdDateTime", ev.Time.UTC().Format(time.RFC3339Nano))
	r.put("userPrincipalName", ev.Actor.User)
	r.put("appDisplayName", app)
	at["app"] = app
	r.put("ipAddress", ev.Actor.IP)
	r.put("clientAppUsed", "Browser")
	out.Actor.User, out.Actor.IP, out.Session.AuthMethod = ev.Actor.User, ev.Actor.IP, "Browser"
	status := obj{{"errorCode", 0}}
	if ev.EventType == contract.TypeAuthFailure {
		status = obj{{"errorCode", 50126}}
		status.put("failureReason", ev.Reason)
		out.Outcome, out.Reason = "failure", ev.Reason
	} else {
		out.Outcome = "success"
	}
	r.put("status", status)
	if ev.Actor.Country != "" {
		r.put("location", obj{{"countryOrRegion", ev.Actor.Country}})
		out.Actor.Country = ev.Actor.Country
	}
	if ev.Actor.ASN != nil {
		r.put("autonomousSystemNumber", *ev.Actor.ASN)
		out.Actor.ASN = ptr(*ev.Actor.ASN)
	}
	r.put("tenantId", client)
	if ev.Tenant != "" {
		r.put("crossTenantAccessType", "serviceProvider")
		out.Tenant, out.Actor.Role = ev.Tenant, "service-provider"
		at["msp_technician"] = "true"
	} else {
		r.put("crossTenantAccessType", "none")
	}
	if m := ev.Actor.MFA; m != nil && ev.EventType == contract.TypeAuthLogin {
		steps := []obj{{{"authenticationMethod", "Password"}, {"succeeded", true}}}
		req := "singleFactorAuthentication"
		if *m {
			req = "multiFactorAuthentication"
			steps = append(steps, obj{{"authenticationMethod", "Mobile app notification"}, {"succeeded", true}})
		}
		r.put("authenticationRequirement", req)
		r.put("authenticationDetails", steps)
		out.Actor.MFA = ptr(*m)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: b, Event: out}, nil
}

// serviceAccount says whether a login is a service, automation or
// integration account's, or by API key or token: the role and method
// patterns the console-login rules spare (rules/msp/remote_session).
func serviceAccount(ev *contract.Event) bool {
	role := strings.ToLower(ev.Actor.Role)
	for _, p := range []string{"service", "svc", "automation", "integration", "api", "system", "bot"} {
		if strings.HasPrefix(role, p) {
			return true
		}
	}
	return apiKeyAuth(ev)
}

// apiKeyAuth says whether a login authenticated by API key, token, client
// credentials or certificate: not a person at a console.
func apiKeyAuth(ev *contract.Event) bool {
	m := strings.ToLower(ev.Session.AuthMethod)
	return strings.Contains(m, "key") || strings.Contains(m, "token") || strings.Contains(m, "client") ||
		strings.HasPrefix(m, "service") || m == "certificate"
}
