package adapt

import (
	"strings"

	"github.com/tripline/tripline/contract"
)

// Keep returns a copy of ev that owns all its memory, for a caller that
// keeps an Out's Event after emit returns: the adapter reuses the event,
// its attribute map and the text its strings point into (the input's
// bytes and the arena's). The strings are copied into one allocation.
// An event with a Context (adapters set none) keeps the Context shared.
func Keep(ev *contract.Event) *contract.Event {
	c := *ev
	strs := stringFields(&c)
	n := 0
	for _, s := range strs {
		n += len(*s)
	}
	for k, v := range ev.Attributes {
		n += len(k) + len(v)
	}
	n += len(ev.Target.Tags) * 8
	var b strings.Builder
	b.Grow(n)
	own := func(s string) string {
		if s == "" {
			return ""
		}
		start := b.Len()
		b.WriteString(s)
		return b.String()[start:]
	}
	for _, s := range strs {
		*s = own(*s)
	}
	if ev.Target.Tags != nil {
		c.Target.Tags = make([]string, len(ev.Target.Tags))
		for i, t := range ev.Target.Tags {
			c.Target.Tags[i] = own(t)
		}
	}
	if ev.Attributes != nil {
		c.Attributes = make(map[string]string, len(ev.Attributes))
		for k, v := range ev.Attributes {
			c.Attributes[own(k)] = own(v)
		}
	}
	c.Actor.ASN = clonePtr(ev.Actor.ASN)
	c.Actor.MFA = clonePtr(ev.Actor.MFA)
	c.Target.HostCount = clonePtr(ev.Target.HostCount)
	c.Session.DurationS = clonePtr(ev.Session.DurationS)
	c.Credential.Privileged = clonePtr(ev.Credential.Privileged)
	c.Package.Signed = clonePtr(ev.Package.Signed)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// stringFields are the event's string fields, for Keep
// (TestKeepOwnsItsMemory fails if contract.Event gains a string field
// that is not here).
func stringFields(c *contract.Event) []*string {
	return []*string{
		&c.EventID, &c.EventType, &c.TimeLocal, &c.MSP, &c.Tenant, &c.Tool,
		&c.Actor.User, &c.Actor.IP, &c.Actor.Country, &c.Actor.Role,
		&c.Target.Host, &c.Target.OS,
		&c.Session.ID, &c.Session.AuthMethod,
		&c.Credential.Name,
		&c.Package.Name, &c.Package.Version, &c.Package.SHA256, &c.Package.Signer,
		&c.Script.Name, &c.Script.SHA256, &c.Script.Interpreter, &c.Script.Command,
		&c.Source.URL, &c.Outcome, &c.Reason, &c.Change.Ticket,
	}
}
