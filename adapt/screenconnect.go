package adapt

import (
	_ "embed"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
)

// screenConnect reads ConnectWise ScreenConnect session and connection
// events in one flat shape: the body of the trigger template
// (ScreenConnectTrigger, screenconnect-trigger.json) and the rows of an
// audit-log query with the same column names (one row, an array of rows,
// or {"Events":[…]}). Security audit rows (EventType LoginAttempt) carry
// UserName and OperationResult. Event type numbers are from memory of
// ScreenConnect's SessionEventType enum and must be confirmed
// (docs/sources.md); names are what the trigger writes.
type screenConnect struct{}

// ScreenConnectTrigger is the body of the ScreenConnect trigger action
// (HTTP, POST, application/json) that sends events to tripline.
//
//go:embed screenconnect-trigger.json
var ScreenConnectTrigger string

func (screenConnect) Name() string { return "screenconnect" }

func (a screenConnect) Convert(raw []byte, msp string, emit func(Out) error) error {
	err := run(a.Name(), raw, msp, screenConnectPageKeys, a.record, emit)
	var bad badInput
	if errors.As(err, &bad) {
		// A trigger body with unescaped values (screenconnect_repair.go).
		if fixed, ok := a.Repair(raw); ok {
			return run(a.Name(), fixed, msp, screenConnectPageKeys, a.record, emit)
		}
	}
	return err
}

// scTypes maps event types by number to their names.
var scTypes = map[string]string{
	"1": "CreatedSession", "2": "EndedSession", "5": "AddedNote",
	"10": "Connected", "11": "Disconnected",
	"14": "QueuedCommand", "44": "RanCommand",
	"50": "SentFiles", "51": "RanFiles",
	"30": "ModifiedName", "31": "ModifiedIsPublic", "32": "ModifiedCode", "33": "ModifiedCustomProperty",
	"52": "SentMessage", "60": "CopiedText", "61": "DraggedFiles",
}

var scIgnored = map[string]string{
	"CreatedSession": "session created (no connection yet)", "EndedSession": "session deleted",
	"AddedNote": "note", "ModifiedName": "session renamed", "ModifiedIsPublic": "session setting",
	"ModifiedCode": "session code", "ModifiedCustomProperty": "session property",
	"SentMessage": "chat message", "CopiedText": "clipboard", "DraggedFiles": "file drag (SentFiles reports transfers)",
	"InitiatedJoin": "join link opened", "InvitedGuest": "invitation sent",
}

// scTimeLayouts are the time forms accepted; without an offset the time
// is UTC (ScreenConnect stores UTC).
var scTimeLayouts = []string{
	"2006-01-02T15:04:05.9999999",
	"2006-01-02 15:04:05.9999999",
	"2006-01-02 15:04:05Z",
	"1/2/2006 3:04:05 PM",
}

func scTime(s string) (time.Time, error) {
	// Each form utcTime reads is one of the layouts below or RFC 3339.
	if t, _, _, ok := utcTime(strings.TrimSpace(s)); ok {
		return t, nil
	}
	if t, err := parseTime(s, false); err == nil {
		return t, nil
	}
	for _, l := range scTimeLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errorf("Time %q is not a time ScreenConnect writes", short(s))
}

func (screenConnect) record(r *rec, msp string) ([]*contract.Event, string, error) {
	r.id = r.str("EventID")
	name := r.str("EventType")
	if n, ok := scTypes[name]; ok {
		name = n
	}
	if name == "" {
		return nil, "", errorf("no EventType")
	}
	if why, ok := scIgnored[name]; ok {
		return nil, why, nil
	}
	process := r.str("ProcessType")
	var typ string
	switch name {
	case "Connected", "Disconnected":
		if process != "" && !strings.EqualFold(process, "Host") {
			return nil, "connection of a " + strings.ToLower(process) + ", not a technician", nil
		}
		typ = contract.TypeSessionStart
		if name == "Disconnected" {
			typ = contract.TypeSessionEnd
		}
	case "QueuedCommand", "RanCommand", "RanFiles":
		typ = contract.TypeScriptRun
	case "SentFiles":
		typ = contract.TypeSoftwarePush
	case "LoginAttempt":
		typ = contract.TypeAuthFailure
	default:
		if _, err := strconv.Atoi(name); err == nil {
			return nil, "", unmapped("EventType number", name)
		}
		return nil, "", unmapped("EventType", name)
	}
	id := ""
	if r.id != "" {
		id = r.join("screenconnect:", r.id)
	}
	ev := r.newEvent(id, typ, msp, "screenconnect")
	at := r.attrsOf(ev)
	at.put("screenconnect.event_type", name)
	t, err := scTime(r.str("Time"))
	if err != nil {
		return nil, "", err
	}
	ev.Time = t
	ev.Actor.IP = ip(r.str("NetworkAddress"), at, "NetworkAddress")

	if name == "LoginAttempt" {
		ev.Actor.User = r.str("UserName")
		result := r.str("OperationResult")
		switch result {
		case "":
			return nil, "", errorf("LoginAttempt without OperationResult")
		case "Success":
			ev.EventType = contract.TypeAuthLogin
			ev.Outcome = "success"
		default:
			ev.Outcome = "failure"
			ev.Reason = result
		}
		if strings.Contains(result, "OneTimePassword") {
			ev.Actor.MFA = r.boolp(true)
		}
		return r.events(ev), "", nil
	}

	ev.Tenant = r.tenantID("screenconnect", "company", r.str("CustomProperty1"))
	ev.Actor.User = r.str("Host")
	if ev.Actor.User == "" && strings.EqualFold(process, "Host") {
		ev.Actor.User = r.str("ParticipantName")
	}
	ev.Target.Host = r.str("GuestMachineName")
	ev.Target.OS = r.str("GuestOperatingSystemName")
	ev.Session.ID = r.str("SessionID")
	at.set("session_name", r.str("SessionName"))
	data := r.str("Data")
	switch typ {
	case contract.TypeSessionEnd:
		if d := r.integer("DurationSeconds"); d != nil {
			ev.Session.DurationS = d
		}
		at.set("screenconnect.data", data)
	case contract.TypeScriptRun:
		ev.Target.HostCount = r.int64p(1)
		if name == "RanFiles" {
			ev.Script.Name = data
			break
		}
		ev.Script.Command = data
		ev.Script.Interpreter = "cmd"
		if rest, ok := strings.CutPrefix(data, "#!ps"); ok {
			ev.Script.Interpreter = "powershell"
			ev.Script.Command = strings.TrimSpace(rest)
		} else if rest, ok := strings.CutPrefix(data, "#!sh"); ok {
			ev.Script.Interpreter = "sh"
			ev.Script.Command = strings.TrimSpace(rest)
		}
	case contract.TypeSoftwarePush:
		ev.Target.HostCount = r.int64p(1)
		ev.Package.Name = data
	default:
		at.set("screenconnect.data", data)
	}
	return r.events(ev), "", nil
}
