package report

import (
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Formats Write knows (pdf is rendered from the HTML by report/pdf).
const (
	FormatHTML = "html"
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatPDF  = "pdf"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"dur":     func(s int) string { return duration(int64(s)) },
	"durp":    func(p *int64) string { return durationPtr(p) },
	"yn":      yesNo,
	"join":    func(s []string) string { return strings.Join(s, ", ") },
	"deref":   deref,
	"heatmap": HeatMapSVG,
	"daily":   DailySVG,
	"exkind":  ExceptionLabel,
	"zone": func(z string) string {
		if z == "context" {
			return "the tenant's local time, as recorded by ingest"
		}
		return z
	},
	"omitted": func(d Data, section string) template.HTML {
		if n := d.Omitted[section]; n > 0 {
			return template.HTML(fmt.Sprintf(`<p class="bad">%d more rows not shown (limit %d); the JSON and CSV formats have the same limit.</p>`, n, MaxRows)) //nolint:gosec // numbers only
		}
		return ""
	},
}).Parse(htmlSource))

// ExceptionLabel is the human name of an exception kind.
func ExceptionLabel(kind string) string {
	switch kind {
	case ExOutOfWindow:
		return "outside the agreed windows"
	case ExUnapprovedTool:
		return "tool not approved"
	case ExUnknownActor:
		return "not a registered technician"
	case ExUncontracted:
		return "no active contract"
	case ExNoMFA:
		return "no MFA"
	case ExUnusualLocation:
		return "unusual country"
	}
	return kind
}

func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		return rv.Elem().Interface()
	}
	return v
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "yes"
	}
	return "no"
}

func duration(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", s)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
}

func durationPtr(p *int64) string {
	if p == nil {
		return "—"
	}
	return duration(*p)
}

// WriteHTML writes the report as one self-contained HTML page: embedded
// CSS, inline SVG charts, no script, nothing loaded from elsewhere, laid
// out for print (A4) as well as the screen.
func WriteHTML(w io.Writer, r *Report) error {
	if err := htmlTemplate.Execute(w, r); err != nil {
		return fmt.Errorf("render report html: %w", err)
	}
	return nil
}

// WriteJSON writes the report (digest, generation, data) as indented
// JSON; Verify checks such a file.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("render report json: %w", err)
	}
	return nil
}

// WriteCSV writes the report as one sectioned CSV file: for each section a
// row "#section,NAME", its header row, its rows and an empty row. The
// first section, "report", holds the tenant, period and digest. Cells a
// spreadsheet would read as a formula (starting with = + - @ or a tab or
// carriage return) get a leading apostrophe: actor names and script
// commands come from the MSP's tools, which an attacker may control.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	d := &r.Data
	var err error
	section := func(name string, header []string, rows [][]string) {
		if err != nil {
			return
		}
		out := append([][]string{{"#section", name}, header}, rows...)
		for _, row := range out {
			for i := range row {
				row[i] = safeCell(row[i])
			}
			if err = cw.Write(row); err != nil {
				return
			}
		}
		err = cw.Write(nil)
	}
	t := func(x time.Time) string { return x.UTC().Format(time.RFC3339) }
	tp := func(x *time.Time) string {
		if x == nil {
			return ""
		}
		return t(*x)
	}
	ip := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	it := strconv.Itoa
	join := func(s []string) string { return strings.Join(s, ";") }

	section("report", []string{"msp", "tenant", "month", "from", "to", "digest", "generated_at", "event_retention_days", "data_since", "registry_sha256"},
		[][]string{{d.MSP, d.Tenant, d.Period.Month, t(d.Period.From), t(d.Period.To), r.Digest, t(r.GeneratedAt), it(d.Retention.EventDays),
			tp(d.Retention.DataSince), d.Registry.SHA256}})
	s := d.Summary
	section("summary", []string{"events", "technicians", "sessions", "session_seconds", "hosts", "pushes", "scripts", "installs", "agent_updates",
		"privileged_credential_uses", "failed_logins", "exceptions", "alerts", "open_alerts"},
		[][]string{{it(s.Events), it(s.Technicians), it(s.Sessions), it(s.SessionSeconds), it(s.Hosts), it(s.Pushes), it(s.Scripts), it(s.Installs),
			it(s.AgentUpdates), it(s.PrivilegedCredentials), it(s.FailedLogins), it(s.Exceptions), it(s.Alerts), it(s.OpenAlerts)}})
	var rows [][]string
	for _, x := range d.Technicians {
		rows = append(rows, []string{x.User, yesNo(x.Known), it(x.Sessions), it(x.SessionSeconds), it(x.Hosts), join(x.Tools), join(x.Countries),
			it(x.NoMFASessions), it(x.OutOfWindow), it(x.UnapprovedTool), it(x.Pushes), it(x.Scripts), it(x.PrivilegedCredUse), it(x.Events)})
	}
	section("technicians", []string{"user", "registered", "sessions", "session_seconds", "hosts", "tools", "countries", "no_mfa_sessions",
		"out_of_window", "unapproved_tool", "pushes", "scripts", "privileged_credential_uses", "events"}, rows)
	rows = nil
	for _, x := range d.Sessions {
		rows = append(rows, []string{x.SessionID, x.User, x.Tool, yesNo(x.ToolApproved), t(x.Start), tp(x.End), ip(x.DurationS), x.SourceIP, x.Country,
			ip(x.ASN), x.AuthMethod, yesNo(x.MFA), x.MFASource, yesNo(x.InMaintenance), yesNo(x.InWorkingHours), yesNo(x.Contracted),
			yesNo(x.KnownActor), yesNo(x.UsualCountry), join(x.Hosts), join(x.Credentials)})
	}
	section("sessions", []string{"session_id", "user", "tool", "tool_approved", "start", "end", "duration_s", "source_ip", "country", "asn",
		"auth_method", "mfa", "mfa_source", "in_maintenance_window", "in_working_hours", "contract_active", "actor_known", "usual_country",
		"hosts", "privileged_credentials"}, rows)
	rows = nil
	for _, x := range d.Changes {
		rows = append(rows, []string{t(x.Time), x.Kind, x.Name, x.Version, x.SHA256, x.Signer, yesNo(x.Signed), strconv.FormatInt(x.HostCount, 10),
			x.Ticket, x.User, x.Tool, x.Outcome, yesNo(x.InMaintenance), yesNo(x.ToolApproved)})
	}
	section("changes", []string{"time", "kind", "name", "version", "sha256", "signer", "signed", "host_count", "change_ticket", "user", "tool",
		"outcome", "in_maintenance_window", "tool_approved"}, rows)
	rows = nil
	for _, x := range d.Credentials {
		rows = append(rows, []string{t(x.Time), x.User, x.Credential, x.Host, x.SessionID, x.Tool, yesNo(x.InWorkingHours), yesNo(x.InMaintenance)})
	}
	section("privileged_credentials", []string{"time", "user", "credential", "host", "session_id", "tool", "in_working_hours", "in_maintenance_window"}, rows)
	rows = nil
	for _, x := range d.FailedLogins {
		rows = append(rows, []string{x.Where, x.User, x.Tool, x.IP, x.Country, ip(x.ASN), x.Reason, it(x.Count), t(x.First), t(x.Last)})
	}
	section("failed_logins", []string{"where", "user", "tool", "source_ip", "country", "asn", "reason", "count", "first", "last"}, rows)
	rows = nil
	for _, x := range d.Exceptions {
		rows = append(rows, []string{t(x.Time), x.Kind, x.User, x.Tool, x.Activity, x.Host, x.Detail})
	}
	section("exceptions", []string{"time", "kind", "user", "tool", "activity", "host", "detail"}, rows)
	rows = nil
	for _, x := range d.Alerts {
		rows = append(rows, []string{x.AlertID, x.Rule, x.Level, x.User, t(x.FirstTime), t(x.LastTime), strconv.FormatUint(x.Detections, 10),
			x.IncidentID, x.Status, x.CloseReason, x.Assignee, ip(x.TimeToAckS), ip(x.TimeToCloseS)})
	}
	section("alerts", []string{"alert_id", "rule", "level", "user", "first_time", "last_time", "detections", "incident_id", "status",
		"close_reason", "assignee", "time_to_ack_s", "time_to_close_s"}, rows)
	rows = nil
	for _, u := range d.AccessReview.Dormant {
		rows = append(rows, []string{"dormant_technician", u, "", "", "", ""})
	}
	for _, a := range d.AccessReview.NotInRegistry {
		rows = append(rows, []string{"not_in_registry", a.User, it(a.Events), t(a.First), t(a.Last), join(a.Tools)})
	}
	section("access_review", []string{"finding", "user", "events", "first", "last", "tools"}, rows)
	rows = nil
	for wd := range d.HeatMap.Counts {
		for h, n := range d.HeatMap.Counts[wd] {
			rows = append(rows, []string{Weekdays[wd], it(h), it(n), it(d.HeatMap.Maintenance[wd][h]), it(d.HeatMap.Working[wd][h])})
		}
	}
	section("heat_map", []string{"weekday", "hour", "events", "maintenance_minutes", "working_minutes"}, rows)
	rows = nil
	for _, x := range d.Daily {
		rows = append(rows, []string{x.Date, it(x.Sessions), it(x.Pushes), it(x.Scripts)})
	}
	section("daily", []string{"date", "sessions", "pushes", "scripts"}, rows)
	if err != nil {
		return fmt.Errorf("render report csv: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("render report csv: %w", err)
	}
	return nil
}

// safeCell defuses spreadsheet formulas (CSV injection).
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Write renders r in format (html, json or csv).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatHTML:
		return WriteHTML(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatCSV:
		return WriteCSV(w, r)
	}
	return fmt.Errorf("report format %q: want html, json or csv (pdf through report/pdf)", format)
}
