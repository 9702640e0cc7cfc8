// Package report builds the MSP access report of one tenant and month
// (issue 15 §2, docs/report.md): what the MSP did in a client's systems,
// from the events, alerts and triage log in ClickHouse and, optionally,
// the MSP relationship registry. Build reads everything into a Report,
// the one model that every format (HTML, CSV, JSON, PDF through
// report/pdf) and the console render; its Data carries a SHA-256 digest
// so a filed report can be verified later.
package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version is the version of Data's layout; the digest covers it.
const Version = 1

// Report is a built report: its data, the digest of the data, and when
// and by what it was generated (outside the digest, so that the same data
// reported twice has the same digest).
type Report struct {
	// Digest is "sha256:" and the hex SHA-256 of Data's canonical JSON
	// (see Canonical).
	Digest      string    `json:"digest"`
	GeneratedAt time.Time `json:"generated_at"`
	Generator   string    `json:"generator"`
	Data        Data      `json:"data"`
}

// Data is everything the report states. It is a pure function of the
// stored data, the period and the registry file.
type Data struct {
	Version      int                 `json:"version"`
	MSP          string              `json:"msp"`
	Tenant       string              `json:"tenant"`
	Period       Period              `json:"period"`
	Retention    Retention           `json:"retention"`
	Registry     RegistryInfo        `json:"registry"`
	Summary      Summary             `json:"summary"`
	Technicians  []TechnicianSummary `json:"technicians"`
	Sessions     []Session           `json:"sessions"`
	Changes      []Change            `json:"changes"`
	Credentials  []CredentialUse     `json:"privileged_credentials"`
	FailedLogins []FailedLogin       `json:"failed_logins"`
	Exceptions   []Exception         `json:"exceptions"`
	Alerts       []Alert             `json:"alerts"`
	AlertStats   AlertStats          `json:"alert_stats"`
	AccessReview AccessReview        `json:"access_review"`
	HeatMap      HeatMap             `json:"heat_map"`
	Daily        []Day               `json:"daily"`
	// Omitted counts the rows left out of a section past MaxRows, by
	// section name; empty when nothing was.
	Omitted map[string]int `json:"omitted,omitempty"`
}

// Period is the reported month, [From, To) in UTC.
type Period struct {
	Month string    `json:"month"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// Retention says how long events are kept and since when the tenant has
// data, so a reader knows whether the month was complete when reported.
type Retention struct {
	// EventDays is the events table's TTL in days; 0: no expiry.
	EventDays int `json:"event_days"`
	// DataSince is the oldest stored event of the tenant (null: none).
	DataSince *time.Time `json:"data_since"`
	// Complete: the oldest stored event is not after the period's start,
	// or nothing has expired (no TTL).
	Complete bool `json:"complete"`
}

// RegistryInfo is what the registry given to the report documents.
type RegistryInfo struct {
	Used bool `json:"used"`
	// SHA256 of the registry file, so the digest commits to it without
	// depending on where the file lived.
	SHA256      string   `json:"sha256,omitempty"`
	Known       bool     `json:"msp_known"`
	Contracted  bool     `json:"contracted"`
	Zone        string   `json:"zone,omitempty"`
	Tools       []string `json:"approved_tools"`
	Technicians []string `json:"technicians"`
}

// Summary is the first page's figures.
type Summary struct {
	Events                int `json:"events"`
	Technicians           int `json:"technicians"`
	Sessions              int `json:"sessions"`
	SessionSeconds        int `json:"session_seconds"`
	Hosts                 int `json:"hosts"`
	Pushes                int `json:"pushes"`
	Scripts               int `json:"scripts"`
	Installs              int `json:"installs"`
	AgentUpdates          int `json:"agent_updates"`
	PrivilegedCredentials int `json:"privileged_credential_uses"`
	FailedLogins          int `json:"failed_logins"`
	Exceptions            int `json:"exceptions"`
	Alerts                int `json:"alerts"`
	OpenAlerts            int `json:"open_alerts"`
}

// TechnicianSummary is one actor's month at the tenant.
type TechnicianSummary struct {
	User              string   `json:"user"`
	Known             *bool    `json:"known"`
	Sessions          int      `json:"sessions"`
	SessionSeconds    int      `json:"session_seconds"`
	Hosts             int      `json:"hosts"`
	Tools             []string `json:"tools"`
	Countries         []string `json:"countries"`
	NoMFASessions     int      `json:"no_mfa_sessions"`
	OutOfWindow       int      `json:"out_of_window"`
	UnapprovedTool    int      `json:"unapproved_tool"`
	Pushes            int      `json:"pushes"`
	Scripts           int      `json:"scripts"`
	PrivilegedCredUse int      `json:"privileged_credential_uses"`
	Events            int      `json:"events"`
}

// Session is one remote session (its session.start, credential.use and
// session.end events, by session ID).
type Session struct {
	SessionID string `json:"session_id"`
	User      string `json:"user"`
	Tool      string `json:"tool"`
	// Start is the session.start's time; for a session that started
	// before the period, the time of its first event in it (and the
	// start's fields, source, MFA and context, are unknown).
	Start      time.Time  `json:"start"`
	End        *time.Time `json:"end"`
	DurationS  *int64     `json:"duration_s"`
	SourceIP   string     `json:"source_ip"`
	Country    string     `json:"country"`
	ASN        *int64     `json:"asn"`
	AuthMethod string     `json:"auth_method"`
	// MFA is the session's own actor.mfa or, when it has none, that of
	// the user's latest console login before it (MFASource says which:
	// "session", "login" or "" when unknown).
	MFA            *bool    `json:"mfa"`
	MFASource      string   `json:"mfa_source"`
	ToolApproved   *bool    `json:"tool_approved"`
	InMaintenance  *bool    `json:"in_maintenance_window"`
	InWorkingHours *bool    `json:"in_working_hours"`
	Contracted     *bool    `json:"contract_active"`
	KnownActor     *bool    `json:"actor_known"`
	UsualCountry   *bool    `json:"usual_country"`
	Hosts          []string `json:"hosts"`
	Credentials    []string `json:"privileged_credentials"`
}

// Change is a software.push or script.run.
type Change struct {
	Time          time.Time `json:"time"`
	Kind          string    `json:"kind"` // push or script
	Name          string    `json:"name"`
	Version       string    `json:"version,omitempty"`
	SHA256        string    `json:"sha256"`
	Signer        string    `json:"signer,omitempty"`
	Signed        *bool     `json:"signed"`
	HostCount     int64     `json:"host_count"`
	Ticket        string    `json:"change_ticket"`
	User          string    `json:"user"`
	Tool          string    `json:"tool"`
	Outcome       string    `json:"outcome,omitempty"`
	InMaintenance *bool     `json:"in_maintenance_window"`
	ToolApproved  *bool     `json:"tool_approved"`
}

// CredentialUse is a privileged stored credential used at the tenant.
type CredentialUse struct {
	Time           time.Time `json:"time"`
	User           string    `json:"user"`
	Credential     string    `json:"credential"`
	Host           string    `json:"host"`
	SessionID      string    `json:"session_id"`
	Tool           string    `json:"tool"`
	InWorkingHours *bool     `json:"in_working_hours"`
	InMaintenance  *bool     `json:"in_maintenance_window"`
}

// FailedLogin aggregates auth.failure events by who, from where and why.
// Where is "tenant" for failures against the tenant, "msp-console" for
// the MSP's console (not specific to the tenant, but its door too).
type FailedLogin struct {
	Where   string    `json:"where"`
	User    string    `json:"user"`
	Tool    string    `json:"tool"`
	IP      string    `json:"source_ip"`
	Country string    `json:"country"`
	ASN     *int64    `json:"asn"`
	Reason  string    `json:"reason"`
	Count   int       `json:"count"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// Exception kinds.
const (
	ExOutOfWindow     = "out_of_window"
	ExUnapprovedTool  = "unapproved_tool"
	ExUnknownActor    = "unknown_technician"
	ExUncontracted    = "uncontracted"
	ExNoMFA           = "no_mfa"
	ExUnusualLocation = "unusual_country"
)

// Exception is one activity that departs from the documented
// relationship.
type Exception struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	User     string    `json:"user"`
	Tool     string    `json:"tool"`
	Activity string    `json:"activity"`
	Host     string    `json:"host,omitempty"`
	Detail   string    `json:"detail"`
}

// Alert is one of the tenant's alerts with its outcome.
type Alert struct {
	AlertID     string    `json:"alert_id"`
	Rule        string    `json:"rule"`
	Level       string    `json:"level"`
	User        string    `json:"user"`
	FirstTime   time.Time `json:"first_time"`
	LastTime    time.Time `json:"last_time"`
	Detections  uint64    `json:"detections"`
	IncidentID  string    `json:"incident_id,omitempty"`
	Status      string    `json:"status"`
	CloseReason string    `json:"close_reason,omitempty"`
	Assignee    string    `json:"assignee,omitempty"`
	// TimeToAckS and TimeToCloseS count from the first detection's event
	// time to the first acknowledge (or close) and to the close; null
	// while not done.
	TimeToAckS   *int64 `json:"time_to_ack_s"`
	TimeToCloseS *int64 `json:"time_to_close_s"`
}

// AlertStats sums up the alerts.
type AlertStats struct {
	ByStatus         map[string]int `json:"by_status"`
	ByCloseReason    map[string]int `json:"by_close_reason"`
	MedianAckS       *int64         `json:"median_time_to_ack_s"`
	MedianCloseS     *int64         `json:"median_time_to_close_s"`
	AlertsTruncated  bool           `json:"truncated"`
	HighOrAboveCount int            `json:"high_or_above"`
}

// AccessReview lists accounts to review.
type AccessReview struct {
	// Available is false without a registry (Note says why).
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	// LookbackDays is the span of the dormant check, ending at the
	// period's end.
	LookbackDays int `json:"lookback_days"`
	// Dormant are registered technicians with no activity at the MSP
	// (any tenant, or its console) in LookbackDays.
	Dormant []string `json:"dormant_technicians"`
	// NotInRegistry are actors seen at the tenant who are not registered
	// technicians.
	NotInRegistry []Actor `json:"actors_not_in_registry"`
}

// Actor is an actor seen at the tenant.
type Actor struct {
	User   string    `json:"user"`
	Events int       `json:"events"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Tools  []string  `json:"tools"`
}

// HeatMap counts MSP activity (events with an actor) by weekday, Monday
// first, and local hour, with the maintenance windows' minutes in each
// cell.
type HeatMap struct {
	// Zone is the time zone of the hours: the tenant's from the registry,
	// "context" when taken from ingest's context.local_hour (the
	// tenant's zone when ingested), else "UTC".
	Zone           string     `json:"zone"`
	Counts         [7][24]int `json:"counts"`
	Maintenance    [7][24]int `json:"maintenance_minutes"`
	HasMaintenance bool       `json:"has_maintenance"`
	Working        [7][24]int `json:"working_minutes"`
	HasWorking     bool       `json:"has_working_hours"`
	Max            int        `json:"max"`
}

// Weekdays are the heat map's row labels.
var Weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// Day is one day's activity (UTC dates).
type Day struct {
	Date     string `json:"date"`
	Sessions int    `json:"sessions"`
	Pushes   int    `json:"pushes"`
	Scripts  int    `json:"scripts"`
}

// Canonical returns the canonical JSON of d, which the digest covers:
// encoding/json's output for Data (fields in declaration order, map keys
// sorted, times in RFC 3339 UTC, no insignificant whitespace) without
// HTML escaping and without a trailing newline.
func Canonical(d *Data) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("canonical report data: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// DigestOf is "sha256:<hex>" of canonical.
func DigestOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Seal sets r.Digest from r.Data.
func (r *Report) Seal() error {
	c, err := Canonical(&r.Data)
	if err != nil {
		return err
	}
	r.Digest = DigestOf(c)
	return nil
}

// ErrDigestMismatch is returned by Verify for a report whose data does not
// match its digest.
var ErrDigestMismatch = errors.New("report digest does not match its data")

// Verify checks a report filed as JSON (FormatJSON): it recomputes the
// digest of its "data" member, compacted, and compares it with its
// "digest". It returns the digest.
func Verify(file []byte) (string, error) {
	var raw struct {
		Digest string          `json:"digest"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(file, &raw); err != nil {
		return "", fmt.Errorf("verify report: not a JSON report: %w", err)
	}
	if len(raw.Data) == 0 || !strings.HasPrefix(raw.Digest, "sha256:") {
		return "", errors.New("verify report: no data or sha256 digest in the file")
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw.Data); err != nil {
		return "", fmt.Errorf("verify report: %w", err)
	}
	got := DigestOf(c.Bytes())
	if got != raw.Digest {
		return got, fmt.Errorf("%w: file says %s, data is %s", ErrDigestMismatch, raw.Digest, got)
	}
	return got, nil
}
