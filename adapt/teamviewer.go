package adapt

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
)

// teamViewer reads the TeamViewer Web API: audit events of the
// EventLogging API ({"AuditEvents":[…],"ContinuationToken":…}, each with
// EventName, EventType, Timestamp, Author and EventDetails) and connection
// reports (GET /api/v1/reports/connections, {"records":[…]}); a record is
// told apart by its fields. Names are from TeamViewer's API documentation as
// remembered, to be confirmed on real exports (docs/sources.md).
type teamViewer struct{}

func (teamViewer) Name() string { return "teamviewer" }

func (a teamViewer) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(a.Name(), raw, msp, teamViewerPageKeys, a.record, emit)
}

var tvEvents = map[string]string{
	"Login":               contract.TypeAuthLogin,
	"LoginFailed":         contract.TypeAuthFailure,
	"CreateUser":          contract.TypeAccountCreated,
	"CreatedUser":         contract.TypeAccountCreated,
	"EditUserProperties":  contract.TypeAccountChanged,
	"EditUserPermissions": contract.TypeAccountChanged,
	"EditUserRole":        contract.TypeAccountChanged,
	"DeleteUser":          contract.TypeAccountChanged,
	"DeactivateUser":      contract.TypeAccountChanged,
	"ActivateUser":        contract.TypeAccountChanged,
	"JoinCompany":         contract.TypeAccountChanged,
	"LeaveCompany":        contract.TypeAccountChanged,
	"ChangePassword":      contract.TypeAccountChanged,
	"EnableTFA":           contract.TypeAccountChanged,
	"DisableTFA":          contract.TypeAccountChanged,
	"ResetTFA":            contract.TypeAccountChanged,
	// Policies change what every managed device allows: account.changed
	// with change=policy until the contract has a type for it.
	"ChangedPolicy":   contract.TypeAccountChanged,
	"AddedPolicy":     contract.TypeAccountChanged,
	"DeletedPolicy":   contract.TypeAccountChanged,
	"AssignedPolicy":  contract.TypeAccountChanged,
	"StartedSession":  contract.TypeSessionStart,
	"IncomingSession": contract.TypeSessionStart,
	"EndedSession":    contract.TypeSessionEnd,
}

var tvIgnored = map[string]string{
	"EditOwnProfile":   "own profile (display name, language)",
	"CreatedGroup":     "device group created",
	"ChangedGroupName": "device group renamed",
	"SharedGroup":      "device group shared",
	"AddedDevice":      "device added to the list",
	"ChangedDevice":    "device entry edited",
}

func (a teamViewer) record(r *rec, msp string) ([]*contract.Event, string, error) {
	if r.raw("start_date") != "" {
		return a.connection(r, msp)
	}
	name := r.str("EventName")
	if name == "" {
		return nil, "", errorf("neither an audit event (EventName) nor a connection (start_date)")
	}
	typ := tvEvents[name]
	if typ == "" {
		if why, ok := tvIgnored[name]; ok {
			return nil, why, nil
		}
		return nil, "", unmapped("EventName", name)
	}
	ev := r.newEvent("", typ, msp, "teamviewer")
	at := r.attrsOf(ev)
	at.put("teamviewer.event_name", name)
	at.set("teamviewer.event_type", r.str("EventType"))
	t, err := parseTime(r.str("Timestamp"), true)
	if err != nil {
		return nil, "", errorf("Timestamp: %v", err)
	}
	ev.Time = t
	// Author is an object (Email, Name, AccountId) or a plain name.
	if v := r.raw("Author"); len(v) > 0 && v[0] == '{' {
		au := r.obj("Author")
		if ev.Actor.User = au.str("Email"); ev.Actor.User == "" {
			ev.Actor.User = au.str("Name")
		}
		ev.Actor.IP = ip(au.str("IpAddress"), at, "Author.IpAddress")
	} else {
		ev.Actor.User = r.str("Author")
	}
	affected := r.str("AffectedItem")
	details := map[string]string{}
	for _, d := range r.objs("EventDetails") {
		prop := d.str("PropertyName")
		if prop == "" {
			continue
		}
		nv, ov := d.str("NewValue"), d.str("OldValue")
		details[prop] = nv
		at.set(r.join("detail.", prop), nv)
		at.set(r.join("detail.", prop, ".old"), ov)
		d.str("PropertyType")
	}
	switch {
	case strings.HasSuffix(name, "Policy"):
		at.put("change", "policy")
		at.set("account", affected)
	case typ == contract.TypeAccountCreated || typ == contract.TypeAccountChanged:
		at.set("change", name)
		at.set("account", affected)
	case typ == contract.TypeSessionStart || typ == contract.TypeSessionEnd:
		ev.Session.ID = details["SessionId"]
		if ev.Session.ID == "" {
			ev.Session.ID = details["SessionCode"]
		}
		ev.Target.Host = details["DeviceName"]
		if ev.Target.Host == "" {
			ev.Target.Host = affected
		} else {
			at.set("AffectedItem", affected)
		}
		ev.Tenant = r.tenantID("teamviewer", "group", details["GroupId"])
		if ev.Tenant == "" {
			ev.Tenant = r.tenantID("teamviewer", "group-name", details["GroupName"])
		}
		if typ == contract.TypeSessionEnd {
			d, err := tvDuration(details, t)
			if err != nil {
				return nil, "", err
			}
			ev.Session.DurationS = d
		}
	case typ == contract.TypeAuthFailure:
		ev.Outcome = "failure"
		ev.Reason = details["Reason"]
		at.set("AffectedItem", affected)
	default:
		ev.Outcome = "success"
		at.set("AffectedItem", affected)
	}
	return r.events(ev), "", nil
}

// connection turns one connection report into session.start and, when it
// has ended, session.end.
func (teamViewer) connection(r *rec, msp string) ([]*contract.Event, string, error) {
	r.id = r.str("id")
	if r.id == "" {
		return nil, "", errorf("connection without id")
	}
	start, err := parseTime(r.str("start_date"), true)
	if err != nil {
		return nil, "", errorf("start_date: %v", err)
	}
	ev := r.newEvent(r.join("teamviewer:connection:", r.id, ":start"), contract.TypeSessionStart, msp, "teamviewer")
	at := r.attrsOf(ev)
	ev.Time = start
	ev.Actor.User = r.str("username")
	if uid := r.str("userid"); ev.Actor.User == "" {
		ev.Actor.User = r.tenantID("teamviewer", "user", uid)
	} else {
		at.set("userid", uid)
	}
	ev.Target.Host = r.str("devicename")
	at.set("deviceid", r.str("deviceid"))
	ev.Tenant = r.tenantID("teamviewer", "group", r.str("groupid"))
	if ev.Tenant == "" {
		ev.Tenant = r.tenantID("teamviewer", "group-name", r.str("groupname"))
	} else {
		at.set("groupname", r.str("groupname"))
	}
	ev.Session.ID = r.str("session_code")
	if ev.Session.ID == "" {
		ev.Session.ID = r.join("teamviewer:connection:", r.id)
	}
	endText := r.str("end_date")
	if endText == "" {
		return r.events(ev), "", nil
	}
	end, err := parseTime(endText, true)
	if err != nil {
		return nil, "", errorf("end_date: %v", err)
	}
	if end.Before(start) {
		return nil, "", errorf("end_date %s is before start_date", endText)
	}
	e2 := r.clone(ev)
	e2.EventID = r.join("teamviewer:connection:", r.id, ":end")
	e2.EventType = contract.TypeSessionEnd
	e2.Time = end
	e2.Session.DurationS = r.int64p(int64(end.Sub(start).Seconds()))
	return r.events(ev, e2), "", nil
}

// tvDuration reads how long an ended session lasted from its details: a
// Duration (whole seconds, or hh:mm:ss as the console shows it), else the
// time from a StartDate to the event's Timestamp, when it ended. Nil when
// the details say neither. Property names as remembered of the event log,
// to confirm on a real export (docs/sources.md).
func tvDuration(details map[string]string, end time.Time) (*int64, error) {
	if v := details["Duration"]; v != "" {
		n, err := parseSeconds(v)
		if err != nil {
			return nil, errorf("EventDetails Duration %q: %v", v, err)
		}
		return ptr(n), nil
	}
	if v := details["StartDate"]; v != "" {
		start, err := parseTime(v, true)
		if err != nil {
			return nil, errorf("EventDetails StartDate: %v", err)
		}
		if end.Before(start) {
			return nil, errorf("EventDetails StartDate %s is after the session ended", v)
		}
		return ptr(int64(end.Sub(start).Seconds())), nil
	}
	return nil, nil
}

// parseSeconds reads a non-negative duration: whole seconds ("1853") or
// [d.]hh:mm:ss ("00:30:53", "1.02:00:00"), fractions of a second dropped.
func parseSeconds(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("negative")
		}
		return n, nil
	}
	var days int64
	rest := v
	if d, r, ok := strings.Cut(v, "."); ok && strings.Count(r, ":") == 2 && !strings.Contains(d, ":") {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return 0, errors.New("not seconds or [d.]hh:mm:ss")
		}
		days, rest = n, r
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i] // fractions of a second
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, errors.New("not seconds or [d.]hh:mm:ss")
	}
	var hms [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || len(p) > 2 && i > 0 || i > 0 && n > 59 {
			return 0, errors.New("not seconds or [d.]hh:mm:ss")
		}
		hms[i] = n
	}
	if days > 1<<20 || hms[0] > 1<<24 {
		return 0, errors.New("out of range")
	}
	return days*86400 + hms[0]*3600 + hms[1]*60 + hms[2], nil
}
