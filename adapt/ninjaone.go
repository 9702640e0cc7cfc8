package adapt

import (
	"strings"

	"github.com/tripline/tripline/contract"
)

// ninjaOne reads NinjaOne activities: the objects of GET /v2/activities
// (a page {"lastActivityId":…, "activities":[…]}) and webhook payloads
// (one activity per POST). Field names, activity types and status codes
// are from NinjaOne's public API documentation as remembered, to be
// confirmed on real exports (docs/sources.md).
type ninjaOne struct{}

func (ninjaOne) Name() string { return "ninjaone" }

func (a ninjaOne) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(a.Name(), raw, msp, ninjaPageKeys, a.record, emit)
}

// ninjaStatus maps activityType/statusCode to an event type. Status codes
// not listed are looked up by activity type in ninjaIgnored, then fail.
var ninjaStatus = map[string]string{
	// Scripting and action sets: the request names who ran what.
	"ACTION/START_REQUESTED":    contract.TypeScriptRun,
	"ACTIONSET/START_REQUESTED": contract.TypeScriptRun,
	"SCRIPTING/START_REQUESTED": contract.TypeScriptRun,
	// Remote tools.
	"REMOTE_TOOLS/TEAMVIEWER_CONNECTION":      contract.TypeSessionStart,
	"REMOTE_TOOLS/TEAMVIEWER_DISCONNECTION":   contract.TypeSessionEnd,
	"REMOTE_TOOLS/SPLASHTOP_CONNECTION":       contract.TypeSessionStart,
	"REMOTE_TOOLS/SPLASHTOP_DISCONNECTION":    contract.TypeSessionEnd,
	"REMOTE_TOOLS/RDP_CONNECTION":             contract.TypeSessionStart,
	"REMOTE_TOOLS/RDP_DISCONNECTION":          contract.TypeSessionEnd,
	"REMOTE_TOOLS/NINJA_REMOTE_CONNECTION":    contract.TypeSessionStart,
	"REMOTE_TOOLS/NINJA_REMOTE_DISCONNECTION": contract.TypeSessionEnd,
	// App users (technicians) at the console.
	"SYSTEM/APP_USER_LOGGED_IN":         contract.TypeAuthLogin,
	"SYSTEM/APP_USER_LOGIN_FAILED":      contract.TypeAuthFailure,
	"SYSTEM/APP_USER_MFA_FAILED":        contract.TypeAuthFailure,
	"SYSTEM/APP_USER_CREATED":           contract.TypeAccountCreated,
	"SYSTEM/APP_USER_UPDATED":           contract.TypeAccountChanged,
	"SYSTEM/APP_USER_DELETED":           contract.TypeAccountChanged,
	"SYSTEM/APP_USER_ROLE_CHANGED":      contract.TypeAccountChanged,
	"SYSTEM/APP_USER_MFA_SETUP":         contract.TypeAccountChanged,
	"SYSTEM/APP_USER_MFA_RESET":         contract.TypeAccountChanged,
	"SYSTEM/APP_USER_PASSWORD_RESET":    contract.TypeAccountChanged,
	"SYSTEM/CREDENTIAL_VIEWED":          contract.TypeCredentialUse,
	"SYSTEM/CREDENTIAL_USED":            contract.TypeCredentialUse,
	"SYSTEM/API_CLIENT_CREATED":         contract.TypeAccountCreated,
	"SYSTEM/API_CLIENT_UPDATED":         contract.TypeAccountChanged,
	"SOFTWARE_PATCH_MANAGEMENT/INSTALL": contract.TypeSoftwareInstall,
	// Patch and software installs reported by the agent.
	"PATCH_MANAGEMENT/PATCH_MANAGEMENT_INSTALLED":                   contract.TypeSoftwareInstall,
	"PATCH_MANAGEMENT/PATCH_MANAGEMENT_INSTALL_FAILED":              contract.TypeSoftwareInstall,
	"SOFTWARE_PATCH_MANAGEMENT/SOFTWARE_PATCH_MANAGEMENT_INSTALLED": contract.TypeSoftwareInstall,
	"SOFTWARE_PATCH_MANAGEMENT/SOFTWARE_PATCH_MANAGEMENT_FAILED":    contract.TypeSoftwareInstall,
	"SOFTWARE_INSTALL/INSTALLED":                                    contract.TypeSoftwareInstall,
	"SOFTWARE_INSTALL/INSTALL_FAILED":                               contract.TypeSoftwareInstall,
	"SOFTWARE_INSTALL/START_REQUESTED":                              contract.TypeSoftwarePush,
	"AGENT/AGENT_UPDATED":                                           contract.TypeAgentUpdate,
}

// ninjaIgnored are activity types and status codes that carry no contract
// event (monitoring and results of runs already reported).
var ninjaIgnored = map[string]string{
	"CONDITION":                   "condition (monitoring alert)",
	"CONDITION_ACTION":            "condition action (monitoring alert)",
	"CONDITION_ACTIONSET":         "condition action set (monitoring alert)",
	"ANTIVIRUS":                   "antivirus status",
	"MONITOR":                     "monitoring status",
	"ACTION/STARTED":              "script progress (the run is START_REQUESTED)",
	"ACTION/COMPLETED":            "script result (the run is START_REQUESTED)",
	"ACTIONSET/STARTED":           "action set progress (the run is START_REQUESTED)",
	"ACTIONSET/COMPLETED":         "action set result (the run is START_REQUESTED)",
	"SCRIPTING/COMPLETED":         "script result (the run is START_REQUESTED)",
	"SYSTEM/APP_USER_LOGGED_OUT":  "logout",
	"SYSTEM/NODE_AUTHENTICATED":   "agent check-in",
	"PATCH_MANAGEMENT/SCAN":       "patch scan",
	"PATCH_MANAGEMENT/SCAN_ENDED": "patch scan",
}

func (ninjaOne) record(r *rec, msp string) ([]*contract.Event, string, error) {
	r.id = r.str("id")
	if r.id == "" {
		return nil, "", errorf("no id")
	}
	atype, status := r.str("activityType"), r.str("statusCode")
	key := r.join(atype, "/", status)
	typ := ninjaStatus[key]
	if typ == "" {
		if why, ok := ninjaIgnored[key]; ok {
			return nil, why, nil
		}
		if why, ok := ninjaIgnored[atype]; ok {
			return nil, why, nil
		}
		return nil, "", unmapped("activityType/statusCode", key)
	}
	ev := r.newEvent(r.join("ninjaone:", r.id), typ, msp, "ninjaone")
	at := r.attrsOf(ev)
	at.put("ninjaone.activity_type", atype)
	at.put("ninjaone.status_code", status)

	tm := r.str("activityTime")
	t, err := parseEpoch(tm, 1)
	if err != nil {
		if t, err = parseTime(tm, false); err != nil {
			return nil, "", errorf("activityTime: %v", err)
		}
	}
	ev.Time = t

	data := r.obj("data")
	msg := data.obj("message")
	params := msg.obj("params")
	ev.Tenant = r.tenantID("ninjaone", "org", r.str("organizationId"))
	if ev.Tenant == "" {
		ev.Tenant = r.tenantID("ninjaone", "org", params.str("organizationId"))
	}
	// The acting user: the name NinjaOne puts in the message parameters,
	// else the numeric user id, flagged.
	ev.Actor.User = params.str("appUserName")
	if uid := r.str("userId"); ev.Actor.User == "" && uid != "" {
		ev.Actor.User = "ninjaone:user:" + uid
	} else if uid != "" {
		at.put("ninjaone.user_id", uid)
	}
	ev.Actor.IP = ip(params.str("ipAddress"), at, "data.message.params.ipAddress")
	ev.Target.Host = params.str("nodeName")
	if dev := r.str("deviceId"); dev != "" {
		at.put("ninjaone.device_id", dev)
	}
	at.set("ninjaone.message", r.str("message"))
	subject, source := r.str("subject"), r.str("sourceName")
	switch r.str("activityResult") {
	case "SUCCESS":
		ev.Outcome = "success"
	case "FAILURE":
		ev.Outcome = "failure"
	}
	if strings.HasSuffix(status, "FAILED") {
		ev.Outcome = "failure"
	}

	switch typ {
	case contract.TypeScriptRun:
		ev.Script.Name = source
		ev.Script.Interpreter = params.str("scriptLanguage")
		ev.Target.HostCount = r.int64p(1)
	case contract.TypeSessionStart, contract.TypeSessionEnd:
		ev.Session.ID = params.str("sessionId")
		at.put("remote_tool", r.lower(strings.TrimSuffix(strings.TrimSuffix(status, "_CONNECTION"), "_DISCONNECTION")))
	case contract.TypeAuthLogin:
		ev.Actor.MFA = params.boolean("mfa")
		ev.Outcome = "success"
	case contract.TypeAuthFailure:
		ev.Outcome = "failure"
		ev.Reason = r.lower(strings.TrimPrefix(status, "APP_USER_"))
	case contract.TypeAccountCreated, contract.TypeAccountChanged:
		if acc := params.str("targetAppUserName"); acc != "" {
			at.put("account", acc)
			at.set("ninjaone.subject", subject)
		} else {
			at.set("account", subject)
		}
		at.set("change", r.lower(strings.TrimPrefix(status, "APP_USER_")))
	case contract.TypeCredentialUse:
		ev.Credential.Name = params.str("credentialName")
		if ev.Credential.Name == "" {
			ev.Credential.Name = subject
		}
	case contract.TypeSoftwareInstall, contract.TypeSoftwarePush:
		ev.Package.Name = params.str("patchName")
		if ev.Package.Name == "" {
			ev.Package.Name = params.str("softwareName")
		}
		if ev.Package.Name == "" {
			ev.Package.Name = subject
		}
		ev.Package.Version = params.str("version")
		if typ == contract.TypeSoftwarePush {
			ev.Target.HostCount = r.int64p(1)
		}
	case contract.TypeAgentUpdate:
		ev.Package.Name = "NinjaOne Agent"
		ev.Package.Version = params.str("version")
	}
	if typ != contract.TypeCredentialUse && typ != contract.TypeAccountCreated && typ != contract.TypeAccountChanged {
		at.set("ninjaone.subject", subject)
	}
	at.set("ninjaone.source_name", source)
	return r.events(ev), "", nil
}
