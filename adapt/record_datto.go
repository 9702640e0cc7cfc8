package adapt

import (
	"encoding/json"
	"strings"

	"github.com/tripline/tripline/contract"
)

// dattoRecordAction is the category/action of a Datto RMM activity for
// each event type it logs (dattoActions's keys; TestRecordRoundTrip
// checks they map back). Account changes pick theirs by
// attributes.change (dattoAccountChange).
var dattoRecordAction = map[string]string{
	contract.TypeScriptRun:       "job/deploy",
	contract.TypeSoftwarePush:    "job/deploy",
	contract.TypeSessionStart:    "remote/connect",
	contract.TypeSessionEnd:      "remote/disconnect",
	contract.TypeAuthLogin:       "user/login",
	contract.TypeAuthFailure:     "user/login_failed",
	contract.TypeAccountCreated:  "user/create",
	contract.TypeAccountChanged:  "user/update",
	contract.TypeAgentUpdate:     "device/agent_update",
	contract.TypeSoftwareInstall: "software/install",
	contract.TypeCredentialUse:   "password/view",
}

var dattoAccountChange = map[string]string{
	"role_changed": "user/role_change",
	"mfa_reset":    "user/2fa_reset",
	"deleted":      "user/delete",
}

// dattoAgent is the package name of Datto RMM's own agent.
const dattoAgent = "Datto RMM Agent"

// encodeDattoRMM writes a Datto RMM activity log entry (API v2
// activity-logs; the format is provisional, as the adapter's) for the
// tool's own activity: jobs (a component run on one or many devices; a
// software push is a job whose component is of Datto's Applications
// category, named for the package it installs), Web Remote sessions,
// console logins, user changes, agent updates, software installs and
// password views, each under its site. Not expressible: another tool's
// activity, a job that carries a command line (the log names the
// component; the command is what the script rules read), an
// authentication by API key (the activity log records console logins),
// a push whose package hash or signature is known (the log names the
// component, not what it installs byte for byte; the package rules read
// them), another product's agent update. Lost: actor country, ASN, role,
// MFA, authentication method; target OS and tags; package and script
// hashes, signer; source URL; change ticket; a failed login's reason;
// session duration; credential privilege; free-form attributes (account
// changes keep account and say change in Datto's words).
func encodeDattoRMM(ev *contract.Event, client string, seq uint64) (Record, error) {
	const format = "datto-rmm"
	if ev.Tool != format {
		return Record{}, inexpressible(format, "tool "+ev.Tool+" is not Datto RMM's own activity")
	}
	key, ok := dattoRecordAction[ev.EventType]
	if !ok {
		return Record{}, inexpressible(format, "no activity for "+ev.EventType)
	}
	if ev.Tenant != "" && client == "" {
		return Record{}, inexpressible(format, "no site for tenant "+ev.Tenant)
	}
	if ev.EventType == contract.TypeScriptRun && ev.Script.Command != "" {
		// The log names the job's component, not what it ran: half the
		// pack reads the command line, so such a run stays contract v1.
		return Record{}, inexpressible(format, "a job's command line (the activity log names the component)")
	}
	if ev.EventType == contract.TypeSoftwarePush && ev.Package.Signed != nil && !*ev.Package.Signed {
		// The job names its component, not whether what it installs is
		// signed: an unsigned push is what the package rules look for,
		// so it stays contract v1.
		return Record{}, inexpressible(format, "an unsigned push (the activity log names the component, not its signature)")
	}
	if (ev.EventType == contract.TypeAuthLogin || ev.EventType == contract.TypeAuthFailure) && apiKeyAuth(ev) {
		return Record{}, inexpressible(format, "an API key's authentication is not a console login")
	}
	out := said(ev, "")
	at := out.Attributes
	details := obj{}
	entity := "DEVICE"
	r := obj{}
	r.put("id", scGUID(seq))
	switch ev.EventType {
	case contract.TypeScriptRun, contract.TypeSoftwarePush:
		// A job: a component run on deviceCount devices (1 when the
		// event names no count).
		if ev.EventType == contract.TypeScriptRun {
			details.put("componentName", ev.Script.Name)
			details.put("scriptType", ev.Script.Interpreter)
			out.Script.Name, out.Script.Interpreter = ev.Script.Name, ev.Script.Interpreter
		} else {
			details.put("componentName", ev.Package.Name)
			details.put("componentCategory", DattoApplications)
			details.put("version", ev.Package.Version)
			out.Package.Name, out.Package.Version = ev.Package.Name, ev.Package.Version
		}
		n := int64(1)
		if c := ev.Target.HostCount; c != nil {
			n = *c
		}
		r.put("deviceCount", n)
		out.Target.HostCount = ptr(n)
	case contract.TypeSessionStart, contract.TypeSessionEnd:
		details.put("sessionId", ev.Session.ID)
		out.Session.ID = ev.Session.ID
	case contract.TypeAuthLogin, contract.TypeAuthFailure:
		entity = "USER"
	case contract.TypeAccountCreated, contract.TypeAccountChanged:
		entity = "USER"
		if k, ok := dattoAccountChange[ev.Attributes["change"]]; ok && ev.EventType == contract.TypeAccountChanged {
			key = k
		}
		details.put("targetUser", ev.Attributes["account"])
		set(at, "account", ev.Attributes["account"])
		at["change"] = key[len("user/"):]
	case contract.TypeAgentUpdate:
		if ev.Package.Name != dattoAgent {
			return Record{}, inexpressible(format, "Datto RMM reports updates of its own agent only, not "+ev.Package.Name)
		}
		details.put("version", ev.Package.Version)
		out.Package.Name, out.Package.Version = dattoAgent, ev.Package.Version
	case contract.TypeSoftwareInstall:
		details.put("softwareName", ev.Package.Name)
		details.put("version", ev.Package.Version)
		out.Package.Name, out.Package.Version = ev.Package.Name, ev.Package.Version
	case contract.TypeCredentialUse:
		details.put("passwordName", ev.Credential.Name)
		out.Credential.Name = ev.Credential.Name
	}
	switch {
	case ev.EventType == contract.TypeAuthLogin:
		out.Outcome = "success"
	case ev.EventType == contract.TypeAuthFailure:
		out.Outcome = "failure"
	case ev.Outcome == "success" || ev.Outcome == "failure":
		details.put("result", ev.Outcome)
		out.Outcome = ev.Outcome
	}
	details.put("ip", ev.Actor.IP)
	out.Actor.IP = ev.Actor.IP
	r.put("entity", entity)
	cat, act, _ := strings.Cut(key, "/")
	r.put("category", cat)
	r.put("action", act)
	r.put("date", epochSeconds(ev.Time))
	if ev.Tenant != "" {
		r.put("site", obj{{"uid", client}})
		out.Tenant = ev.Tenant
	}
	r.put("hostname", ev.Target.Host)
	out.Target.Host = ev.Target.Host
	if ev.Actor.User != "" {
		r.put("user", obj{{"userName", ev.Actor.User}})
		out.Actor.User = ev.Actor.User
	}
	if len(details) > 0 {
		d, err := json.Marshal(details)
		if err != nil {
			return Record{}, err
		}
		r.put("details", string(d))
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: b, Event: out}, nil
}
