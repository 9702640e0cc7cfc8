package adapt

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tripline/tripline/contract"
)

// ninjaRecordStatus is the activityType/statusCode a NinjaOne activity of
// each event type carries (one of ninjaStatus's keys; TestRecordRoundTrip
// checks they map back). Account changes pick theirs by attributes.change
// (ninjaAccountChange).
var ninjaRecordStatus = map[string]string{
	contract.TypeAuthLogin:       "SYSTEM/APP_USER_LOGGED_IN",
	contract.TypeAuthFailure:     "SYSTEM/APP_USER_LOGIN_FAILED",
	contract.TypeAccountCreated:  "SYSTEM/APP_USER_CREATED",
	contract.TypeAccountChanged:  "SYSTEM/APP_USER_UPDATED",
	contract.TypeSessionStart:    "REMOTE_TOOLS/NINJA_REMOTE_CONNECTION",
	contract.TypeSessionEnd:      "REMOTE_TOOLS/NINJA_REMOTE_DISCONNECTION",
	contract.TypeCredentialUse:   "SYSTEM/CREDENTIAL_USED",
	contract.TypeScriptRun:       "SCRIPTING/START_REQUESTED",
	contract.TypeSoftwarePush:    "SOFTWARE_INSTALL/START_REQUESTED",
	contract.TypeSoftwareInstall: "SOFTWARE_INSTALL/INSTALLED",
	contract.TypeAgentUpdate:     "AGENT/AGENT_UPDATED",
}

// ninjaAccountChange is the status code of an account change by what
// changed (attributes.change); other changes are APP_USER_UPDATED.
var ninjaAccountChange = map[string]string{
	"mfa_reset":        "SYSTEM/APP_USER_MFA_RESET",
	"mfa_setup":        "SYSTEM/APP_USER_MFA_SETUP",
	"mfa_device_added": "SYSTEM/APP_USER_MFA_SETUP",
	"role_changed":     "SYSTEM/APP_USER_ROLE_CHANGED",
	"password_reset":   "SYSTEM/APP_USER_PASSWORD_RESET",
	"deleted":          "SYSTEM/APP_USER_DELETED",
}

// ninjaAgent is the package name of NinjaOne's own agent update (the only
// agent NinjaOne reports updating).
const ninjaAgent = "NinjaOne Agent"

// encodeNinjaOne writes a NinjaOne activity (an object of GET
// /v2/activities). NinjaOne does not log the actor's country, ASN, role or
// authentication method, the target's OS and tags, session durations,
// hashes, signers, command lines, source URLs, change tickets or free-form
// attributes; it logs one install request per device, so a push or script
// run on many hosts at once is not expressible.
func encodeNinjaOne(ev *contract.Event, client string, seq uint64) (Record, error) {
	const format = "ninjaone"
	if ev.Tool != format {
		return Record{}, inexpressible(format, "tool "+ev.Tool+" is not NinjaOne's own activity")
	}
	key, ok := ninjaRecordStatus[ev.EventType]
	if !ok {
		return Record{}, inexpressible(format, "no activity for "+ev.EventType)
	}
	out := said(ev, ev.Tenant)
	at := out.Attributes
	params := obj{}
	userParams := func() {
		params.put("appUserName", ev.Actor.User)
		params.put("ipAddress", ev.Actor.IP)
		out.Actor.User, out.Actor.IP = ev.Actor.User, ev.Actor.IP
	}
	host := func() {
		params.put("nodeName", ev.Target.Host)
		out.Target.Host = ev.Target.Host
	}
	oneHost := func() error {
		if c := ev.Target.HostCount; c != nil && *c != 1 || ev.Target.Host == "" && c == nil {
			return inexpressible(format, ev.EventType+" on more than one device (NinjaOne logs one request per device)")
		}
		out.Target.HostCount = ptr(int64(1))
		return nil
	}
	subject, source := "", ""
	result := strings.ToUpper(ev.Outcome)
	switch ev.EventType {
	case contract.TypeAuthLogin:
		if ev.Outcome == "failure" {
			return Record{}, inexpressible(format, "a failed login is auth.failure")
		}
		userParams()
		if ev.Actor.MFA != nil {
			params.put("mfa", *ev.Actor.MFA)
			out.Actor.MFA = ptr(*ev.Actor.MFA)
		}
		result, out.Outcome = "SUCCESS", "success"
	case contract.TypeAuthFailure:
		userParams()
		result, out.Outcome, out.Reason = "FAILURE", "failure", "login_failed"
	case contract.TypeAccountCreated, contract.TypeAccountChanged:
		userParams()
		if ev.EventType == contract.TypeAccountChanged {
			if k, ok := ninjaAccountChange[ev.Attributes["change"]]; ok {
				key = k
			}
		}
		params.put("targetAppUserName", ev.Attributes["account"])
		set(at, "account", ev.Attributes["account"])
		at["change"] = strings.ToLower(strings.TrimPrefix(key[strings.IndexByte(key, '/')+1:], "APP_USER_"))
	case contract.TypeSessionStart, contract.TypeSessionEnd:
		userParams()
		host()
		params.put("sessionId", ev.Session.ID)
		out.Session.ID = ev.Session.ID
		at["remote_tool"] = "ninja_remote"
	case contract.TypeCredentialUse:
		userParams()
		host()
		params.put("credentialName", ev.Credential.Name)
		out.Credential.Name = ev.Credential.Name
	case contract.TypeScriptRun:
		if err := oneHost(); err != nil {
			return Record{}, err
		}
		userParams()
		host()
		source = ev.Script.Name
		params.put("scriptLanguage", ev.Script.Interpreter)
		out.Script.Name, out.Script.Interpreter = ev.Script.Name, ev.Script.Interpreter
	case contract.TypeSoftwarePush, contract.TypeSoftwareInstall:
		if ev.EventType == contract.TypeSoftwarePush {
			if err := oneHost(); err != nil {
				return Record{}, err
			}
		} else if ev.Outcome == "failure" {
			key = "SOFTWARE_INSTALL/INSTALL_FAILED"
		}
		userParams()
		host()
		params.put("softwareName", ev.Package.Name)
		params.put("version", ev.Package.Version)
		out.Package.Name, out.Package.Version = ev.Package.Name, ev.Package.Version
	case contract.TypeAgentUpdate:
		if ev.Package.Name != ninjaAgent {
			return Record{}, inexpressible(format, "NinjaOne reports updates of its own agent only, not "+ev.Package.Name)
		}
		userParams()
		host()
		params.put("version", ev.Package.Version)
		out.Package.Name, out.Package.Version = ninjaAgent, ev.Package.Version
	}
	switch result {
	case "SUCCESS", "FAILURE":
		out.Outcome = strings.ToLower(result)
	default:
		result = ""
	}
	if strings.HasSuffix(key, "FAILED") {
		out.Outcome = "failure"
	}
	atype, status, _ := strings.Cut(key, "/")
	r := obj{}
	r.put("id", json.Number(strconv.FormatUint(seq, 10)))
	r.put("activityTime", epochSeconds(ev.Time))
	r.put("activityType", atype)
	r.put("statusCode", status)
	r.put("activityResult", result)
	if client != "" {
		r.put("organizationId", clientValue(client))
	} else {
		out.Tenant = ""
	}
	r.put("sourceName", source)
	r.put("subject", subject)
	if len(params) > 0 {
		r.put("data", obj{{"message", obj{{"params", params}}}})
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: b, Event: out}, nil
}

// clientValue writes a numeric vendor id as a JSON number, as NinjaOne
// does, and anything else as a string.
func clientValue(id string) any {
	if _, err := strconv.ParseUint(id, 10, 63); err == nil {
		return json.Number(id)
	}
	return id
}
