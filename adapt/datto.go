package adapt

import (
	"strings"

	"github.com/tripline/tripline/contract"
)

// dattoRMM reads Datto RMM activity logs (API v2 activity logs: a page
// {"pageDetails":…,"activities":[…]} or one entry). PROVISIONAL: the
// field names, entity/category/action values and the epoch-seconds date
// are from memory of the Datto RMM API and must be confirmed on real
// exports before it is relied on (docs/sources.md). Checked since against
// the API's published OpenAPI document: the page shape, entity, category,
// action, the date as fractional epoch seconds, details as a string, and
// "deployment" as the action of a job run on a device (the API's own
// example filter is actions=deployment,note).
type dattoRMM struct{}

func (dattoRMM) Name() string { return "datto-rmm" }

func (a dattoRMM) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(a.Name(), raw, msp, dattoPageKeys, a.record, emit)
}

// dattoActions maps category/action to an event type. A job runs
// components: one of Datto's "Applications" category installs software
// and is read as software.push (DattoSoftwareJob), any other as
// script.run.
var dattoActions = map[string]string{
	"job/deploy":          contract.TypeScriptRun,
	"job/deployment":      contract.TypeScriptRun,
	"job/run":             contract.TypeScriptRun,
	"remote/connect":      contract.TypeSessionStart,
	"remote/disconnect":   contract.TypeSessionEnd,
	"user/login":          contract.TypeAuthLogin,
	"user/login_failed":   contract.TypeAuthFailure,
	"user/create":         contract.TypeAccountCreated,
	"user/update":         contract.TypeAccountChanged,
	"user/delete":         contract.TypeAccountChanged,
	"user/role_change":    contract.TypeAccountChanged,
	"user/2fa_reset":      contract.TypeAccountChanged,
	"device/agent_update": contract.TypeAgentUpdate,
	"software/install":    contract.TypeSoftwareInstall,
	"patch/install":       contract.TypeSoftwareInstall,
	"password/view":       contract.TypeCredentialUse,
}

var dattoIgnored = map[string]string{
	"job/create":    "job scheduled (job/deploy reports the run)",
	"job/complete":  "job result (job/deploy reports the run)",
	"device/move":   "device moved between sites",
	"device/audit":  "device audit",
	"user/logout":   "logout",
	"alert/resolve": "monitoring alert",
	"alert/create":  "monitoring alert",
}

func (dattoRMM) record(r *rec, msp string) ([]*contract.Event, string, error) {
	r.id = r.str("id")
	if r.id == "" {
		return nil, "", errorf("no id")
	}
	key := r.lower(r.str("category"), "/", r.str("action"))
	typ := dattoActions[key]
	if typ == "" {
		if why, ok := dattoIgnored[key]; ok {
			return nil, why, nil
		}
		if strings.HasPrefix(key, "alert/") {
			return nil, "monitoring alert", nil
		}
		return nil, "", unmapped("category/action", key)
	}
	ev := r.newEvent(r.join("datto-rmm:", r.id), typ, msp, "datto-rmm")
	at := r.attrsOf(ev)
	at.put("datto.activity", key)
	at.set("datto.entity", r.str("entity"))
	date := r.str("date")
	t, err := parseEpoch(date, 1)
	if err != nil {
		if t, err = parseTime(date, false); err != nil {
			return nil, "", errorf("date: %v", err)
		}
	}
	ev.Time = t
	site := r.obj("site")
	sid := site.str("uid")
	if sid == "" {
		sid = site.str("id")
	} else {
		at.set("site.id", site.str("id"))
	}
	ev.Tenant = r.tenantID("datto-rmm", "site", sid)
	at.set("site.name", site.str("name"))
	u := r.obj("user")
	ev.Actor.User = u.str("userName")
	if ev.Actor.User == "" {
		ev.Actor.User = r.tenantID("datto-rmm", "user", u.str("id"))
	}
	ev.Target.Host = r.str("hostname")
	// details is a JSON document in a string; its fields are kept as
	// attributes and a few are read.
	var details dattoDetails
	if d := r.str("details"); d != "" {
		dr := r.arena.rec(r, "details")
		if dr.f = r.arena.parseText(d); dr.f != nil {
			r.adopt(dr)
			details.read(dr)
		} else {
			at.put("details", d)
		}
	}
	ev.Actor.IP = ip(details.ip, at, "details.ip")
	switch details.result {
	case "success", "SUCCESS":
		ev.Outcome = "success"
	case "failure", "FAILURE", "failed":
		ev.Outcome = "failure"
	}
	switch typ {
	case contract.TypeScriptRun:
		if job := details.jobName; job != "" {
			at.put("job", job)
		} else {
			at.set("job", details.jobDotName)
		}
		if n := r.integer("deviceCount"); n != nil && *n >= 0 {
			ev.Target.HostCount = n
		} else {
			ev.Target.HostCount = r.int64p(1)
		}
		if DattoSoftwareJob(details.componentCategory) {
			// A software deployment: what it installs is the package the
			// push rules read (name, host count), not a script.
			ev.EventType = contract.TypeSoftwarePush
			ev.Package.Name = details.softwareName
			if ev.Package.Name == "" {
				ev.Package.Name = details.componentName
			}
			ev.Package.Version = details.version
			break
		}
		ev.Script.Name = details.componentName
		ev.Script.Interpreter = details.scriptType
	case contract.TypeSessionStart, contract.TypeSessionEnd:
		ev.Session.ID = details.sessionID
	case contract.TypeAuthFailure:
		ev.Outcome = "failure"
	case contract.TypeAuthLogin:
		ev.Outcome = "success"
	case contract.TypeAccountCreated, contract.TypeAccountChanged:
		at.set("account", details.targetUser)
		at.put("change", key[strings.IndexByte(key, '/')+1:])
	case contract.TypeSoftwareInstall, contract.TypeAgentUpdate:
		ev.Package.Name = details.softwareName
		if typ == contract.TypeAgentUpdate {
			ev.Package.Name = "Datto RMM Agent"
		}
		ev.Package.Version = details.version
	case contract.TypeCredentialUse:
		ev.Credential.Name = details.passwordName
	}
	if id := r.str("deviceId"); id != "" {
		at.put("datto.device_id", id)
	}
	return r.events(ev), "", nil
}

// dattoDetails are the fields of an activity's details document the
// adapter reads (the others stay in attributes as details.*): a struct,
// where a map per record was a tenth of converting one.
type dattoDetails struct {
	jobName, jobDotName, componentName, componentCategory, scriptType      string
	sessionID, softwareName, version, passwordName, targetUser, result, ip string
}

func (d *dattoDetails) read(r *rec) {
	d.jobName, d.jobDotName = r.str("jobName"), r.str("job.name")
	d.componentName, d.componentCategory = r.str("componentName"), r.str("componentCategory")
	d.scriptType, d.sessionID = r.str("scriptType"), r.str("sessionId")
	if d.sessionID == "" {
		// The published API's dotted form.
		d.sessionID = r.str("remote_session.id")
	}
	d.softwareName, d.version = r.str("softwareName"), r.str("version")
	d.passwordName, d.targetUser = r.str("passwordName"), r.str("targetUser")
	d.result, d.ip = r.str("result"), r.str("ip")
}

// DattoApplications is the component category of Datto RMM components
// that install software (Applications, beside Scripts and Monitors): a
// job whose component is one deploys software. tripline poll writes it
// into a job's details (componentCategory).
const DattoApplications = "Applications"

// DattoSoftwareJob reports whether a job's component category says it
// deploys software.
func DattoSoftwareJob(category string) bool {
	return strings.EqualFold(strings.TrimSpace(category), DattoApplications)
}
