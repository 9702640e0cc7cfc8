package contract

import (
	"time"
)

// Version is the wire contract version this package implements.
const Version = 1

// MaxMessageBytes bounds one event on the wire.
const MaxMessageBytes = 1 << 20

// MaxNormalisedBytes bounds a normalised document (what ingest stores and
// forwards to tripline.events). Normalisation can make a message larger
// than it arrived (a derived event_id, JSON escapes, fields outside the
// contract kept as JSON text, context from the registry); ingest rejects a
// valid event whose document would exceed this as oversize, and the
// detector reads documents up to it (Decoder.MaxBytes).
const MaxNormalisedBytes = 2 << 20

// Field limits below the message size (docs/limits.md); past them a message
// is rejected as limit_exceeded.
const (
	// MaxIdentifierBytes bounds event_id, msp, tenant, tool, actor.user,
	// target.host, session.id and every attribute key (after trimming).
	// An e-mail address is at most 254 bytes.
	MaxIdentifierBytes = 256
	// MaxAttributes bounds the attributes map, counting fields outside the
	// contract that are kept there.
	MaxAttributes = 1000
)

// Event is one normalised MSP event. Optional scalars are pointers so that
// "absent" and "zero" stay distinguishable for rules (mfa: false is a finding;
// a missing mfa is not).
type Event struct {
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	Time      time.Time `json:"time"`
	// TimeLocal is the event time as the producer wrote it, in its own UTC
	// offset (RFC 3339, e.g. 2026-11-20T03:10:00-07:00), so that rules can
	// ask for the local hour or weekday without a registry. Empty when the
	// producer gave no local offset ("Z" or "-00:00": RFC 9557 reads both
	// as "UTC, local offset unknown"). Derived by the decoder, never taken
	// from a producer, and left out of derived event IDs: the same instant
	// written with another offset is the same event.
	TimeLocal  string            `json:"time_local,omitempty"`
	MSP        string            `json:"msp"`
	Tenant     string            `json:"tenant,omitempty"`
	Tool       string            `json:"tool"`
	Actor      Actor             `json:"actor,omitzero"`
	Target     Target            `json:"target,omitzero"`
	Session    Session           `json:"session,omitzero"`
	Credential Credential        `json:"credential,omitzero"`
	Package    Package           `json:"package,omitzero"`
	Script     Script            `json:"script,omitzero"`
	Source     Source            `json:"source,omitzero"`
	Outcome    string            `json:"outcome,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Change     Change            `json:"change,omitzero"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Context is set by ingest from the MSP relationship registry, never by
	// a producer (see Context). It must stay the last JSON field: WithContext
	// splices it onto the end of the normalised document.
	Context *Context `json:"context,omitempty"`

	// timeText is Time in the canonical RFC 3339 form, kept so that rules
	// reading the "time" field do not format (and allocate) per lookup.
	timeText string
}

// Actor is who acted: a technician, a console account, a service.
type Actor struct {
	User    string `json:"user,omitempty"`
	IP      string `json:"ip,omitempty"`
	Country string `json:"country,omitempty"`
	ASN     *int64 `json:"asn,omitempty"`
	MFA     *bool  `json:"mfa,omitempty"`
	Role    string `json:"role,omitempty"`
}

// Target is what was acted on.
type Target struct {
	Host      string   `json:"host,omitempty"`
	HostCount *int64   `json:"host_count,omitempty"`
	OS        string   `json:"os,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

// Session describes a remote session.
type Session struct {
	ID         string `json:"id,omitempty"`
	DurationS  *int64 `json:"duration_s,omitempty"`
	AuthMethod string `json:"auth_method,omitempty"`
}

// Credential is a stored credential the actor used.
type Credential struct {
	Name       string `json:"name,omitempty"`
	Privileged *bool  `json:"privileged,omitempty"`
}

// Package is pushed or installed software.
type Package struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Signer  string `json:"signer,omitempty"`
	Signed  *bool  `json:"signed,omitempty"`
}

// Script is a script or procedure run through the tool.
type Script struct {
	Name        string `json:"name,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Interpreter string `json:"interpreter,omitempty"`
	Command     string `json:"command,omitempty"`
}

// Source is where an update or package came from.
type Source struct {
	URL string `json:"url,omitempty"`
}

// Change is the change-management reference for an action.
type Change struct {
	Ticket string `json:"ticket,omitempty"`
}

// Family groups event types by the channel they come from.
type Family uint8

const (
	FamilyUnknown Family = iota
	// FamilyRemoteSession covers console logins, remote sessions and credential use.
	FamilyRemoteSession
	// FamilySoftwareUpdate covers package and script pushes and agent updates.
	FamilySoftwareUpdate
)

// Category is the Sigma logsource category of the family.
func (f Family) Category() string {
	switch f {
	case FamilyRemoteSession:
		return "remote_session"
	case FamilySoftwareUpdate:
		return "software_update"
	}
	return ""
}

// Product is the Sigma logsource product of every contract event.
const Product = "msp"

// Event types of wire contract v1.
const (
	TypeAuthLogin       = "auth.login"
	TypeAuthFailure     = "auth.failure"
	TypeAccountCreated  = "account.created"
	TypeAccountChanged  = "account.changed"
	TypeSessionStart    = "session.start"
	TypeSessionEnd      = "session.end"
	TypeCredentialUse   = "credential.use"
	TypeSoftwarePush    = "software.push"
	TypeScriptRun       = "script.run"
	TypeAgentUpdate     = "agent.update"
	TypeSoftwareInstall = "software.install"
)

// EventTypes lists every valid event_type with its family.
var eventTypes = map[string]Family{
	TypeAuthLogin:       FamilyRemoteSession,
	TypeAuthFailure:     FamilyRemoteSession,
	TypeAccountCreated:  FamilyRemoteSession,
	TypeAccountChanged:  FamilyRemoteSession,
	TypeSessionStart:    FamilyRemoteSession,
	TypeSessionEnd:      FamilyRemoteSession,
	TypeCredentialUse:   FamilyRemoteSession,
	TypeSoftwarePush:    FamilySoftwareUpdate,
	TypeScriptRun:       FamilySoftwareUpdate,
	TypeAgentUpdate:     FamilySoftwareUpdate,
	TypeSoftwareInstall: FamilySoftwareUpdate,
}

// FamilyOf returns the family of an event type (FamilyUnknown if invalid).
func FamilyOf(eventType string) Family { return eventTypes[eventType] }

// Family returns the event's family.
func (e *Event) Family() Family { return eventTypes[e.EventType] }

// TimeText returns the event time in canonical RFC 3339 (UTC, nanoseconds
// trimmed).
func (e *Event) TimeText() string {
	if e.timeText == "" && !e.Time.IsZero() {
		e.timeText = e.Time.UTC().Format(time.RFC3339Nano)
	}
	return e.timeText
}

// RequiresTenant reports whether an event type is about a client tenant
// (console-level auth.* and account.* events are not, and may have none).
func RequiresTenant(eventType string) bool {
	return !hasPrefix(eventType, "auth.") && !hasPrefix(eventType, "account.")
}

// requiresUser reports whether an event type must name its actor.
func requiresUser(eventType string) bool {
	return eventType != TypeSoftwareInstall && eventType != TypeAgentUpdate
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
