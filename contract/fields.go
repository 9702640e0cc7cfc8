package contract

import (
	"strings"

	"github.com/tripline/tripline/fields"
)

// Lookup implements fields.Source: the rule engine reads contract fields by
// their dotted JSON path ("actor.user") without reflection or allocation.
func (e *Event) Lookup(path string) fields.Value {
	switch path {
	case "event_id":
		return str(e.EventID)
	case "event_type":
		return str(e.EventType)
	case "time":
		return str(e.TimeText())
	case "time_local":
		return str(e.TimeLocal)
	case "msp":
		return str(e.MSP)
	case "tenant":
		return str(e.Tenant)
	case "tool":
		return str(e.Tool)
	case "outcome":
		return str(e.Outcome)
	case "reason":
		return str(e.Reason)

	case "actor.user":
		return str(e.Actor.User)
	case "actor.ip":
		return str(e.Actor.IP)
	case "actor.country":
		return str(e.Actor.Country)
	case "actor.asn":
		return num(e.Actor.ASN)
	case "actor.mfa":
		return boolean(e.Actor.MFA)
	case "actor.role":
		return str(e.Actor.Role)

	case "target.host":
		return str(e.Target.Host)
	case "target.host_count":
		return num(e.Target.HostCount)
	case "target.os":
		return str(e.Target.OS)
	case "target.tags":
		if len(e.Target.Tags) == 0 {
			return fields.Value{}
		}
		return fields.Value{Kind: fields.Strings, Strs: e.Target.Tags}

	case "session.id":
		return str(e.Session.ID)
	case "session.duration_s":
		return num(e.Session.DurationS)
	case "session.auth_method":
		return str(e.Session.AuthMethod)

	case "credential.name":
		return str(e.Credential.Name)
	case "credential.privileged":
		return boolean(e.Credential.Privileged)

	case "package.name":
		return str(e.Package.Name)
	case "package.version":
		return str(e.Package.Version)
	case "package.sha256":
		return str(e.Package.SHA256)
	case "package.signer":
		return str(e.Package.Signer)
	case "package.signed":
		return boolean(e.Package.Signed)

	case "script.name":
		return str(e.Script.Name)
	case "script.sha256":
		return str(e.Script.SHA256)
	case "script.interpreter":
		return str(e.Script.Interpreter)
	case "script.command":
		return str(e.Script.Command)

	case "source.url":
		return str(e.Source.URL)
	case "change.ticket":
		return str(e.Change.Ticket)
	}
	if strings.HasPrefix(path, "context.") {
		return e.lookupContext(path)
	}
	if name, ok := strings.CutPrefix(path, "attributes."); ok {
		if v, ok := e.Attributes[name]; ok {
			return fields.Str(v)
		}
	}
	return fields.Value{}
}

// EachString implements fields.Source for keyword searches.
func (e *Event) EachString(fn func(string) bool) {
	for _, s := range [...]string{
		e.EventID, e.EventType, e.MSP, e.Tenant, e.Tool, e.Outcome, e.Reason,
		e.Actor.User, e.Actor.IP, e.Actor.Country, e.Actor.Role,
		e.Target.Host, e.Target.OS,
		e.Session.ID, e.Session.AuthMethod, e.Credential.Name,
		e.Package.Name, e.Package.Version, e.Package.SHA256, e.Package.Signer,
		e.Script.Name, e.Script.SHA256, e.Script.Interpreter, e.Script.Command,
		e.Source.URL, e.Change.Ticket,
	} {
		if s != "" && !fn(s) {
			return
		}
	}
	for _, s := range e.Target.Tags {
		if !fn(s) {
			return
		}
	}
	for _, s := range e.Attributes {
		if !fn(s) {
			return
		}
	}
}

// Logsource implements fields.Source: product msp, category by family.
func (e *Event) Logsource() fields.Logsource {
	return fields.Logsource{Product: Product, Category: e.Family().Category()}
}

// FieldPaths lists every dotted path Lookup resolves (attributes.* aside),
// for rule linting against the contract.
var FieldPaths = []string{
	"event_id", "event_type", "time", "time_local", "msp", "tenant", "tool", "outcome", "reason",
	"actor.user", "actor.ip", "actor.country", "actor.asn", "actor.mfa", "actor.role",
	"target.host", "target.host_count", "target.os", "target.tags",
	"session.id", "session.duration_s", "session.auth_method",
	"credential.name", "credential.privileged",
	"package.name", "package.version", "package.sha256", "package.signer", "package.signed",
	"script.name", "script.sha256", "script.interpreter", "script.command",
	"source.url", "change.ticket",
}

func str(s string) fields.Value {
	if s == "" {
		return fields.Value{}
	}
	return fields.Value{Kind: fields.String, Str: s}
}

func num(n *int64) fields.Value {
	if n == nil {
		return fields.Value{}
	}
	return fields.Value{Kind: fields.Number, Num: float64(*n)}
}

func boolean(b *bool) fields.Value {
	if b == nil {
		return fields.Value{}
	}
	return fields.Value{Kind: fields.Bool, Bool: *b}
}
