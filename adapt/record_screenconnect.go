package adapt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tripline/tripline/contract"
)

// encodeScreenConnect writes the body of tripline's ScreenConnect trigger
// (screenconnect-trigger.json) for a session event, and an audit-log
// LoginAttempt row for a login. ScreenConnect logs no credential use,
// account changes, installs or agent updates; nor the actor's country,
// ASN, role or authentication method, the target's tags, script names and
// hashes, package versions, hashes and signers, source URLs, change
// tickets or free-form attributes. A login attempt says whether a one-time
// password was used only when it succeeded with one, and its failures are
// ScreenConnect's result names: a login whose MFA is known, or that failed
// for a reason of its own, is not expressible.
func encodeScreenConnect(ev *contract.Event, client string, seq uint64) (Record, error) {
	const format = "screenconnect"
	if ev.Tool != format {
		return Record{}, inexpressible(format, "tool "+ev.Tool+" is not ScreenConnect's own activity")
	}
	out := said(ev, "")
	r := obj{}
	r.put("EventID", scGUID(seq))
	r.put("Time", ev.Time.UTC().Format("2006-01-02T15:04:05.0000000"))
	switch ev.EventType {
	case contract.TypeAuthLogin, contract.TypeAuthFailure:
		if ev.Actor.MFA != nil {
			return Record{}, inexpressible(format, "a login attempt does not say whether MFA was used")
		}
		r.put("EventType", "LoginAttempt")
		r.put("UserName", ev.Actor.User)
		r.put("NetworkAddress", ev.Actor.IP)
		out.Actor.User, out.Actor.IP = ev.Actor.User, ev.Actor.IP
		if ev.EventType == contract.TypeAuthLogin {
			r.put("OperationResult", "Success")
			out.Outcome = "success"
		} else {
			r.put("OperationResult", "InvalidCredentials")
			out.Outcome, out.Reason = "failure", "InvalidCredentials"
		}
		return scRecord(r, out)
	case contract.TypeSessionStart, contract.TypeSessionEnd:
		name := "Connected"
		if ev.EventType == contract.TypeSessionEnd {
			name = "Disconnected"
			if d := ev.Session.DurationS; d != nil {
				r.put("DurationSeconds", *d)
				out.Session.DurationS = ptr(*d)
			}
		}
		r.put("EventType", name)
		r.put("ProcessType", "Host")
	case contract.TypeScriptRun:
		if c := ev.Target.HostCount; c != nil && *c != 1 || ev.Target.Host == "" {
			return Record{}, inexpressible(format, "a command runs in one session, on one machine")
		}
		prefix := ""
		switch ev.Script.Interpreter {
		case "cmd":
		case "powershell":
			prefix = "#!ps\n"
		case "sh":
			prefix = "#!sh\n"
		default:
			return Record{}, inexpressible(format, fmt.Sprintf("interpreter %q", ev.Script.Interpreter))
		}
		if ev.Script.Command == "" {
			return Record{}, inexpressible(format, "a command without its command line")
		}
		r.put("EventType", "RanCommand")
		r.put("Data", prefix+ev.Script.Command)
		out.Script.Command, out.Script.Interpreter = ev.Script.Command, ev.Script.Interpreter
		out.Target.HostCount = ptr(int64(1))
	case contract.TypeSoftwarePush:
		if c := ev.Target.HostCount; c != nil && *c != 1 || ev.Target.Host == "" {
			return Record{}, inexpressible(format, "files are sent in one session, to one machine")
		}
		r.put("EventType", "SentFiles")
		r.put("Data", ev.Package.Name)
		out.Package.Name = ev.Package.Name
		out.Target.HostCount = ptr(int64(1))
	default:
		return Record{}, inexpressible(format, "no event for "+ev.EventType)
	}
	r.put("SessionID", ev.Session.ID)
	r.put("CustomProperty1", client)
	r.put("GuestMachineName", ev.Target.Host)
	r.put("GuestOperatingSystemName", ev.Target.OS)
	r.put("Host", ev.Actor.User)
	r.put("NetworkAddress", ev.Actor.IP)
	out.Session.ID = ev.Session.ID
	if client != "" {
		out.Tenant = ev.Tenant
	}
	out.Target.Host, out.Target.OS = ev.Target.Host, ev.Target.OS
	out.Actor.User, out.Actor.IP = ev.Actor.User, ev.Actor.IP
	return scRecord(r, out)
}

func scRecord(r obj, out *contract.Event) (Record, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, err
	}
	// ScreenConnect's times have 100 ns ticks; the event keeps what the
	// record says.
	out.Time = out.Time.Truncate(100 * time.Nanosecond)
	return Record{Value: b, Event: out}, nil
}

// scGUID makes a ScreenConnect event id (a GUID) from seq.
func scGUID(seq uint64) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(seq>>32), uint16(seq>>16), seq&0xfff, (seq>>12)&0xfff, seq*0x9e3779b97f4a7c15&0xffffffffffff)
}
