package adapt

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/tripline/tripline/contract"
)

// encodeTeamViewer writes an audit event of TeamViewer's EventLogging API
// (one element of AuditEvents) for a TeamViewer session or console login:
// StartedSession and EndedSession with the session code, device and group
// in EventDetails (and an ended session's Duration in seconds), Login and
// LoginFailed. A connection report would carry a start and an end in one
// record; the simulator's events come one at a time, as the audit log has
// them. TeamViewer logs no script runs, credential use or installs (its
// own agent's updates included) here, and no actor country, ASN, role,
// MFA or authentication method, target OS and tags, or free-form
// attributes. Audit events have no id: the event_id is derived from the
// converted event, msp included.
func encodeTeamViewer(ev *contract.Event, client string, _ uint64) (Record, error) {
	const format = "teamviewer"
	if ev.Tool != format {
		return Record{}, inexpressible(format, "tool "+ev.Tool+" is not TeamViewer's own activity")
	}
	out := said(ev, "")
	at := out.Attributes
	r := obj{}
	var details []obj
	detail := func(name, v string) {
		if v != "" {
			details = append(details, obj{{"PropertyName", name}, {"PropertyType", "String"}, {"NewValue", v}})
			at["detail."+name] = v
		}
	}
	name, typ := "", ""
	switch ev.EventType {
	case contract.TypeSessionStart, contract.TypeSessionEnd:
		if client == "" || ev.Target.Host == "" {
			return Record{}, inexpressible(format, "a session without its device group or device")
		}
		name, typ = "StartedSession", "Session"
		if ev.EventType == contract.TypeSessionEnd {
			name = "EndedSession"
		}
		detail("SessionCode", ev.Session.ID)
		detail("GroupId", client)
		out.Session.ID, out.Target.Host, out.Tenant = ev.Session.ID, ev.Target.Host, ev.Tenant
		if d := ev.Session.DurationS; d != nil && ev.EventType == contract.TypeSessionEnd {
			detail("Duration", strconv.FormatInt(*d, 10))
			out.Session.DurationS = ptr(*d)
		}
	case contract.TypeAuthLogin, contract.TypeAuthFailure:
		if ev.Tenant != "" {
			return Record{}, inexpressible(format, "a console login names no device group")
		}
		name, typ = "Login", "UserManagement"
		out.Outcome = "success"
		if ev.EventType == contract.TypeAuthFailure {
			name = "LoginFailed"
			detail("Reason", ev.Reason)
			out.Outcome, out.Reason = "failure", ev.Reason
		}
	default:
		return Record{}, inexpressible(format, "no audit event for "+ev.EventType)
	}
	r.put("EventName", name)
	r.put("EventType", typ)
	r.put("Timestamp", ev.Time.UTC().Format(time.RFC3339Nano))
	author := obj{}
	author.put("Email", ev.Actor.User)
	author.put("IpAddress", ev.Actor.IP)
	out.Actor.User, out.Actor.IP = ev.Actor.User, ev.Actor.IP
	r.put("Author", author)
	if out.Target.Host != "" {
		r.put("AffectedItem", out.Target.Host)
	}
	if details == nil {
		details = []obj{}
	}
	r.put("EventDetails", details)
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: b, Event: out}, nil
}
