package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/store"
)

// Source is what Build reads; *store.Store implements it.
type Source interface {
	ReportEvents(ctx context.Context, scope store.Scope, msp, tenant string, from, to time.Time, types []string, fn func(*store.ReportEvent) error) error
	ActorLastSeen(ctx context.Context, scope store.Scope, msp string, from, to time.Time) (map[string]time.Time, error)
	TenantAlerts(ctx context.Context, scope store.Scope, msp, tenant string, from, to time.Time) ([]store.ReportAlert, error)
	TenantDataSince(ctx context.Context, scope store.Scope, msp, tenant string) (time.Time, error)
	EventRetentionDays(ctx context.Context) (int, error)
}

var _ Source = (*store.Store)(nil)

// Options say which report to build.
type Options struct {
	Scope  store.Scope
	MSP    string
	Tenant string
	// Month is "YYYY-MM"; the period is that calendar month in UTC.
	Month string
	// Registry, when set, adds the access review's dormant technicians and
	// the maintenance windows of the heat map; RegistryFile's bytes are
	// hashed into the data.
	Registry     *registry.Registry
	RegistryFile []byte
	// Now stamps GeneratedAt (time.Now when nil).
	Now func() time.Time
}

// Limits of the report.
const (
	// MaxRows caps each list section; the rest are counted in
	// Data.Omitted.
	MaxRows = 2000
	// DormantDays is the access review's lookback.
	DormantDays = 90
	// loginLookback is how far before a session its user's console login
	// is looked for, to tell the session's MFA.
	loginLookback = 24 * time.Hour
)

// ParseMonth parses "YYYY-MM" into the month's [from, to) in UTC.
func ParseMonth(month string) (time.Time, time.Time, error) {
	from, err := time.Parse("2006-01", month)
	if err != nil || len(month) != 7 {
		return time.Time{}, time.Time{}, fmt.Errorf("month %q: want YYYY-MM", month)
	}
	return from, from.AddDate(0, 1, 0), nil
}

// Build reads the tenant's month and returns the sealed report.
func Build(ctx context.Context, src Source, o Options) (*Report, error) {
	if o.MSP == "" || o.Tenant == "" {
		return nil, errors.New("report: msp and tenant are required")
	}
	from, to, err := ParseMonth(o.Month)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	b := newBuilder(o, from, to)
	if err := b.read(ctx, src); err != nil {
		return nil, fmt.Errorf("report %s/%s %s: %w", o.MSP, o.Tenant, o.Month, err)
	}
	b.finish()
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	r := &Report{GeneratedAt: now().UTC().Truncate(time.Second), Generator: "tripline report", Data: b.d}
	if err := r.Seal(); err != nil {
		return nil, err
	}
	return r, nil
}

// builder accumulates one report.
type builder struct {
	o        Options
	from, to time.Time
	d        Data
	reg      registry.TenantView
	loc      *time.Location // heat map zone; nil: context or UTC

	logins   map[string][]login // console logins by lower-cased user
	sessions map[string]*Session
	order    []string // session keys in first-seen order
	techs    map[string]*techAcc
	actors   map[string]*Actor
	hosts    map[string]bool
	days     map[string]*Day
	failed   map[failKey]*FailedLogin
}

type login struct {
	at  time.Time
	mfa *bool
}

type techAcc struct {
	s         TechnicianSummary
	hosts     map[string]bool
	tools     map[string]bool
	countries map[string]bool
}

type failKey struct{ where, user, tool, ip, country, reason string }

func newBuilder(o Options, from, to time.Time) *builder {
	b := &builder{
		o: o, from: from, to: to,
		logins:   map[string][]login{},
		sessions: map[string]*Session{},
		techs:    map[string]*techAcc{},
		actors:   map[string]*Actor{},
		hosts:    map[string]bool{},
		days:     map[string]*Day{},
		failed:   map[failKey]*FailedLogin{},
	}
	b.d = Data{
		Version: Version, MSP: o.MSP, Tenant: o.Tenant,
		Period:   Period{Month: o.Month, From: from, To: to},
		Omitted:  map[string]int{},
		HeatMap:  HeatMap{Zone: "UTC"},
		Registry: RegistryInfo{Tools: []string{}, Technicians: []string{}},
		AccessReview: AccessReview{LookbackDays: DormantDays,
			Dormant: []string{}, NotInRegistry: []Actor{}},
	}
	if o.Registry != nil {
		sum := sha256.Sum256(o.RegistryFile)
		view, known := o.Registry.Tenant(o.MSP, o.Tenant)
		b.reg = view
		b.d.Registry = RegistryInfo{Used: true, SHA256: hex.EncodeToString(sum[:]), Known: known, Contracted: view.Contracted,
			Zone: view.Zone, Tools: nonNil(view.Tools), Technicians: nonNil(o.Registry.Technicians(o.MSP))}
		if view.Zone != "" {
			if loc, err := time.LoadLocation(view.Zone); err == nil {
				b.loc = loc
				b.d.HeatMap.Zone = view.Zone
			}
		}
		// Monday first, as people read a week.
		for wd := 0; wd < 7; wd++ {
			src := (wd + 1) % 7
			for h := 0; h < 24; h++ {
				b.d.HeatMap.Maintenance[wd][h] = int(view.Maintenance[src][h])
				b.d.HeatMap.Working[wd][h] = int(view.Working[src][h])
			}
		}
		b.d.HeatMap.HasMaintenance, b.d.HeatMap.HasWorking = view.HasMaintenance, view.HasWorking
	}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		b.days[k] = &Day{Date: k}
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// read runs the queries: the MSP's console events (logins for MFA, failed
// logins), the tenant's events, the alerts, retention and, with a
// registry, the technicians' last activity.
func (b *builder) read(ctx context.Context, src Source) error {
	o := b.o
	err := src.ReportEvents(ctx, o.Scope, o.MSP, "", b.from.Add(-loginLookback), b.to,
		[]string{"auth.login", "auth.failure"}, func(e *store.ReportEvent) error {
			b.console(e)
			return nil
		})
	if err != nil {
		return err
	}
	if err := src.ReportEvents(ctx, o.Scope, o.MSP, o.Tenant, b.from, b.to, nil, func(e *store.ReportEvent) error {
		return b.event(e)
	}); err != nil {
		return err
	}
	alerts, err := src.TenantAlerts(ctx, o.Scope, o.MSP, o.Tenant, b.from, b.to)
	if err != nil {
		return err
	}
	b.alerts(alerts)
	days, err := src.EventRetentionDays(ctx)
	if err != nil {
		return err
	}
	since, err := src.TenantDataSince(ctx, o.Scope, o.MSP, o.Tenant)
	if err != nil {
		return err
	}
	b.d.Retention.EventDays = days
	if !since.IsZero() {
		b.d.Retention.DataSince = &since
	}
	b.d.Retention.Complete = days == 0 || (!since.IsZero() && !since.After(b.from))
	if o.Registry != nil {
		seen, err := src.ActorLastSeen(ctx, o.Scope, o.MSP, b.to.AddDate(0, 0, -DormantDays), b.to)
		if err != nil {
			return err
		}
		lower := map[string]bool{}
		for u := range seen {
			lower[strings.ToLower(u)] = true
		}
		for _, t := range b.d.Registry.Technicians {
			if !lower[strings.ToLower(t)] {
				b.d.AccessReview.Dormant = append(b.d.AccessReview.Dormant, t)
			}
		}
	}
	return nil
}

// parseContext decodes the context object ingest stored ("" or a damaged
// one: none, which reads as "unknown" everywhere).
func parseContext(s string) *contract.Context {
	if s == "" {
		return nil
	}
	var c contract.Context
	if json.Unmarshal([]byte(s), &c) != nil {
		return nil
	}
	return &c
}

func boolOf(p *uint8) *bool {
	if p == nil {
		return nil
	}
	v := *p != 0
	return &v
}

func (b *builder) console(e *store.ReportEvent) {
	switch e.EventType {
	case "auth.login":
		k := strings.ToLower(e.ActorUser)
		b.logins[k] = append(b.logins[k], login{at: e.Time, mfa: boolOf(e.ActorMFA)})
	case "auth.failure":
		if !e.Time.Before(b.from) {
			b.failure("msp-console", e)
		}
	}
}

func (b *builder) failure(where string, e *store.ReportEvent) {
	k := failKey{where, e.ActorUser, e.Tool, e.ActorIP, e.ActorCountry, e.Reason}
	f := b.failed[k]
	if f == nil {
		f = &FailedLogin{Where: where, User: e.ActorUser, Tool: e.Tool, IP: e.ActorIP, Country: e.ActorCountry, ASN: e.ActorASN,
			Reason: e.Reason, First: e.Time}
		b.failed[k] = f
	}
	f.Count++
	f.Last = e.Time
}

// loginMFA is the MFA of user's latest console login at or before t
// within loginLookback (nil when none says).
func (b *builder) loginMFA(user string, t time.Time) *bool {
	ls := b.logins[strings.ToLower(user)]
	i := sort.Search(len(ls), func(i int) bool { return ls[i].at.After(t) })
	for j := i - 1; j >= 0 && t.Sub(ls[j].at) <= loginLookback; j-- {
		if ls[j].mfa != nil {
			return ls[j].mfa
		}
	}
	return nil
}

func (b *builder) tech(user string, c *contract.Context) *techAcc {
	t := b.techs[user]
	if t == nil {
		t = &techAcc{s: TechnicianSummary{User: user}, hosts: map[string]bool{}, tools: map[string]bool{}, countries: map[string]bool{}}
		b.techs[user] = t
	}
	if c != nil && c.ActorKnown != nil {
		t.s.Known = c.ActorKnown
	} else if t.s.Known == nil && b.o.Registry != nil && b.d.Registry.Known {
		k := b.o.Registry.IsTechnician(b.o.MSP, user)
		t.s.Known = &k
	}
	return t
}

func (b *builder) event(e *store.ReportEvent) error {
	b.d.Summary.Events++
	c := parseContext(e.Context)
	day := b.days[e.Time.Format(time.DateOnly)]
	if e.TargetHost != "" {
		b.hosts[strings.ToLower(e.TargetHost)] = true
	}
	var t *techAcc
	if e.ActorUser != "" {
		t = b.tech(e.ActorUser, c)
		t.s.Events++
		t.tools[e.Tool] = true
		if e.TargetHost != "" {
			t.hosts[strings.ToLower(e.TargetHost)] = true
		}
		if e.ActorCountry != "" {
			t.countries[e.ActorCountry] = true
		}
		b.heat(e, c)
		b.actor(e, t)
	}
	switch e.EventType {
	case "session.start", "session.end", "credential.use":
		b.session(e, c, day)
	case "software.push", "script.run":
		b.change(e, c, t, day)
	case "software.install":
		b.d.Summary.Installs++
	case "agent.update":
		b.d.Summary.AgentUpdates++
	case "auth.failure":
		b.failure("tenant", e)
	}
	// Exceptions every activity can carry; sessions and changes add
	// their own (MFA, windows) in session and change.
	if e.EventType != "session.end" && e.EventType != "credential.use" {
		act := activity(e)
		if c != nil && c.ToolApproved != nil && !*c.ToolApproved {
			b.exception(e, ExUnapprovedTool, act, "tool "+e.Tool+" is not approved for this tenant")
			if t != nil {
				t.s.UnapprovedTool++
			}
		}
		if c != nil && c.TenantContracted != nil && !*c.TenantContracted {
			b.exception(e, ExUncontracted, act, "the tenant is not under contract with "+e.MSP)
		}
		if e.ActorUser != "" && t != nil && t.s.Known != nil && !*t.s.Known {
			b.exception(e, ExUnknownActor, act, e.ActorUser+" is not a registered technician")
		}
		if c != nil && c.ActorUsualCountry != nil && !*c.ActorUsualCountry {
			b.exception(e, ExUnusualLocation, act, fmt.Sprintf("from %s (AS%s, %s), not a usual country of the technician", e.ActorCountry, asn(e.ActorASN), e.ActorIP))
		}
	}
	return nil
}

func asn(p *int64) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}

func activity(e *store.ReportEvent) string {
	switch e.EventType {
	case "session.start":
		return "session " + e.SessionID
	case "software.push", "software.install", "agent.update":
		return strings.TrimSpace(e.EventType + " " + e.PackageName + " " + e.PackageVersion)
	case "script.run":
		return "script.run " + e.ScriptName
	}
	return e.EventType
}

func (b *builder) exception(e *store.ReportEvent, kind, act, detail string) {
	b.d.Summary.Exceptions++
	if b.room("exceptions", len(b.d.Exceptions)) {
		b.d.Exceptions = append(b.d.Exceptions, Exception{Time: e.Time, Kind: kind, User: e.ActorUser, Tool: e.Tool,
			Activity: act, Host: e.TargetHost, Detail: detail})
	}
}

// room reports whether a list section holding n rows takes another, and
// counts the row as omitted when it does not: rows are capped as they
// come, so a tenant-month of millions of events does not hold millions of
// rows in memory.
func (b *builder) room(section string, n int) bool {
	if n < MaxRows {
		return true
	}
	b.d.Omitted[section]++
	return false
}

func (b *builder) heat(e *store.ReportEvent, c *contract.Context) {
	var wd, h int
	switch {
	case b.loc != nil:
		lt := e.Time.In(b.loc)
		wd, h = (int(lt.Weekday())+6)%7, lt.Hour()
	case c != nil && c.LocalHour != nil && c.Weekday != "":
		i := slices.Index([]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, c.Weekday)
		if i < 0 || *c.LocalHour < 0 || *c.LocalHour > 23 {
			return
		}
		wd, h = i, int(*c.LocalHour)
		b.d.HeatMap.Zone = "context"
	default:
		wd, h = (int(e.Time.Weekday())+6)%7, e.Time.Hour()
	}
	b.d.HeatMap.Counts[wd][h]++
}

func (b *builder) actor(e *store.ReportEvent, t *techAcc) {
	a := b.actors[e.ActorUser]
	if a == nil {
		a = &Actor{User: e.ActorUser, First: e.Time}
		b.actors[e.ActorUser] = a
	}
	a.Events++
	a.Last = e.Time
	if !slices.Contains(a.Tools, e.Tool) {
		a.Tools = append(a.Tools, e.Tool)
	}
}

func (b *builder) session(e *store.ReportEvent, c *contract.Context, day *Day) {
	key := e.SessionID
	if key == "" {
		key = "event:" + e.EventID
	}
	s := b.sessions[key]
	if s == nil {
		s = &Session{SessionID: e.SessionID, User: e.ActorUser, Tool: e.Tool, Start: e.Time, Hosts: []string{}, Credentials: []string{}}
		b.sessions[key] = s
		b.order = append(b.order, key)
	}
	if e.TargetHost != "" && !slices.Contains(s.Hosts, e.TargetHost) {
		s.Hosts = append(s.Hosts, e.TargetHost)
	}
	switch e.EventType {
	case "session.start":
		s.Start, s.User, s.Tool = e.Time, e.ActorUser, e.Tool
		s.SourceIP, s.Country, s.ASN, s.AuthMethod = e.ActorIP, e.ActorCountry, e.ActorASN, e.SessionAuth
		if m := boolOf(e.ActorMFA); m != nil {
			s.MFA, s.MFASource = m, "session"
		} else if m := b.loginMFA(e.ActorUser, e.Time); m != nil {
			s.MFA, s.MFASource = m, "login"
		}
		if c != nil {
			s.ToolApproved, s.InMaintenance, s.InWorkingHours = c.ToolApproved, c.InMaintenanceWindow, c.InWorkingHours
			s.Contracted, s.KnownActor, s.UsualCountry = c.TenantContracted, c.ActorKnown, c.ActorUsualCountry
		}
		if day != nil {
			day.Sessions++
		}
		// Judged at the start, in event order, so that the exceptions
		// are capped in time order like every other row.
		t := b.techs[e.ActorUser]
		act := "session " + e.SessionID
		if s.MFA != nil && !*s.MFA {
			b.exception(e, ExNoMFA, act, "session after a login without MFA ("+s.MFASource+")")
			if t != nil {
				t.s.NoMFASessions++
			}
		}
		if s.InWorkingHours != nil && !*s.InWorkingHours && (s.InMaintenance == nil || !*s.InMaintenance) {
			b.exception(e, ExOutOfWindow, act, "session outside working hours and maintenance windows")
			if t != nil {
				t.s.OutOfWindow++
			}
		}
	case "session.end":
		end := e.Time
		s.End = &end
		if e.SessionDurationS != nil {
			s.DurationS = e.SessionDurationS
		} else if !s.Start.After(end) {
			d := int64(end.Sub(s.Start) / time.Second)
			s.DurationS = &d
		}
	case "credential.use":
		if e.CredentialPriv != nil && *e.CredentialPriv != 0 {
			if !slices.Contains(s.Credentials, e.CredentialName) {
				s.Credentials = append(s.Credentials, e.CredentialName)
			}
			cu := CredentialUse{Time: e.Time, User: e.ActorUser, Credential: e.CredentialName, Host: e.TargetHost, SessionID: e.SessionID, Tool: e.Tool}
			if c != nil {
				cu.InWorkingHours, cu.InMaintenance = c.InWorkingHours, c.InMaintenanceWindow
			}
			b.d.Summary.PrivilegedCredentials++
			if b.room("privileged_credentials", len(b.d.Credentials)) {
				b.d.Credentials = append(b.d.Credentials, cu)
			}
			if e.ActorUser != "" {
				b.techs[e.ActorUser].s.PrivilegedCredUse++
			}
		}
	}
}

func (b *builder) change(e *store.ReportEvent, c *contract.Context, t *techAcc, day *Day) {
	ch := Change{Time: e.Time, Kind: "push", Name: e.PackageName, Version: e.PackageVersion, SHA256: e.PackageSHA256,
		Signer: e.PackageSigner, Signed: boolOf(e.PackageSigned), Ticket: e.ChangeTicket, User: e.ActorUser, Tool: e.Tool, Outcome: e.Outcome}
	if e.EventType == "script.run" {
		ch.Kind, ch.Name, ch.SHA256, ch.Signer, ch.Signed = "script", e.ScriptName, e.ScriptSHA256, "", nil
	}
	switch {
	case e.TargetHostCount != nil:
		ch.HostCount = *e.TargetHostCount
	case e.TargetHost != "":
		ch.HostCount = 1
	}
	if c != nil {
		ch.InMaintenance, ch.ToolApproved = c.InMaintenanceWindow, c.ToolApproved
	}
	if b.room("changes", len(b.d.Changes)) {
		b.d.Changes = append(b.d.Changes, ch)
	}
	if ch.Kind == "push" {
		b.d.Summary.Pushes++
		if day != nil {
			day.Pushes++
		}
		if t != nil {
			t.s.Pushes++
		}
	} else {
		b.d.Summary.Scripts++
		if day != nil {
			day.Scripts++
		}
		if t != nil {
			t.s.Scripts++
		}
	}
	// The policy of the registry rule "Push Outside the Tenant's
	// Maintenance Window Without a Change Ticket": a ticketed emergency
	// change is authorised, and a script on five hosts or fewer is
	// hands-on support, not a change.
	if ch.InMaintenance != nil && !*ch.InMaintenance && ch.Ticket == "" && (ch.Kind == "push" || ch.HostCount > 5) {
		b.exception(e, ExOutOfWindow, activity(e), fmt.Sprintf("%s to %d host(s) outside the maintenance windows without a change ticket", ch.Kind, ch.HostCount))
		if t != nil {
			t.s.OutOfWindow++
		}
	}
}

// finish turns the accumulators into the model's sorted sections.
func (b *builder) finish() {
	d := &b.d
	for _, k := range b.order {
		s := b.sessions[k]
		d.Sessions = append(d.Sessions, *s)
		t := b.techs[s.User]
		if s.User == "" || t == nil {
			continue
		}
		t.s.Sessions++
		if s.DurationS != nil {
			t.s.SessionSeconds += int(*s.DurationS)
			d.Summary.SessionSeconds += int(*s.DurationS)
		}
	}
	d.Summary.Sessions = len(d.Sessions)
	d.Summary.Hosts = len(b.hosts)

	users := make([]string, 0, len(b.techs))
	for u := range b.techs {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		t := b.techs[u]
		t.s.Hosts = len(t.hosts)
		t.s.Tools = sortedKeys(t.tools)
		t.s.Countries = sortedKeys(t.countries)
		d.Technicians = append(d.Technicians, t.s)
		if t.s.Known != nil && !*t.s.Known {
			a := *b.actors[u]
			slices.Sort(a.Tools)
			d.AccessReview.NotInRegistry = append(d.AccessReview.NotInRegistry, a)
		}
	}
	d.Summary.Technicians = len(users)
	d.AccessReview.Available = b.o.Registry != nil || len(d.AccessReview.NotInRegistry) > 0 || b.anyKnown()
	switch {
	case b.o.Registry == nil:
		d.AccessReview.Note = "no registry given: dormant technicians are not listed; actors not in the registry come from the context ingest stored"
	case !d.Registry.Known:
		d.AccessReview.Note = "the MSP is not in the registry"
	}

	for _, f := range b.failed {
		d.FailedLogins = append(d.FailedLogins, *f)
		d.Summary.FailedLogins += f.Count
	}
	slices.SortFunc(d.FailedLogins, func(x, y FailedLogin) int {
		if x.Count != y.Count {
			return y.Count - x.Count
		}
		return strings.Compare(fmt.Sprint(x.Where, x.User, x.IP, x.Tool, x.Reason), fmt.Sprint(y.Where, y.User, y.IP, y.Tool, y.Reason))
	})
	slices.SortStableFunc(d.Exceptions, func(x, y Exception) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		if c := strings.Compare(x.Kind, y.Kind); c != 0 {
			return c
		}
		return strings.Compare(x.Activity, y.Activity)
	})

	for k := range b.days {
		d.Daily = append(d.Daily, *b.days[k])
	}
	slices.SortFunc(d.Daily, func(x, y Day) int { return strings.Compare(x.Date, y.Date) })
	for wd := range d.HeatMap.Counts {
		for _, n := range d.HeatMap.Counts[wd] {
			d.HeatMap.Max = max(d.HeatMap.Max, n)
		}
	}

	d.Sessions = capRows(d, "sessions", d.Sessions)
	d.FailedLogins = capRows(d, "failed_logins", d.FailedLogins)
	d.AccessReview.NotInRegistry = capRows(d, "actors_not_in_registry", d.AccessReview.NotInRegistry)
	if len(d.Omitted) == 0 {
		d.Omitted = nil
	}
	// Empty sections are [] in JSON, not null: a reader can tell "none"
	// from "not reported".
	d.Technicians, d.Sessions, d.Changes = orEmpty(d.Technicians), orEmpty(d.Sessions), orEmpty(d.Changes)
	d.Credentials, d.FailedLogins, d.Exceptions, d.Alerts = orEmpty(d.Credentials), orEmpty(d.FailedLogins), orEmpty(d.Exceptions), orEmpty(d.Alerts)
}

func (b *builder) anyKnown() bool {
	for _, t := range b.techs {
		if t.s.Known != nil {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func capRows[T any](d *Data, name string, rows []T) []T {
	if len(rows) > MaxRows {
		d.Omitted[name] = len(rows) - MaxRows
		return rows[:MaxRows]
	}
	return rows
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (b *builder) alerts(as []store.ReportAlert) {
	d := &b.d
	d.AlertStats = AlertStats{ByStatus: map[string]int{}, ByCloseReason: map[string]int{}, AlertsTruncated: len(as) >= store.MaxReportAlerts}
	var acks, closes []int64
	for _, a := range as {
		r := Alert{AlertID: a.AlertID, Rule: a.RuleTitle, Level: a.Level, User: a.ActorUser, FirstTime: a.FirstTime, LastTime: a.LastTime,
			Detections: a.Count, IncidentID: a.IncidentID, Status: a.Status, CloseReason: a.CloseReason, Assignee: a.Assignee}
		if r.Rule == "" {
			r.Rule = a.RuleID
		}
		if !a.AckAt.IsZero() {
			s := max(int64(a.AckAt.Sub(a.FirstTime)/time.Second), 0)
			r.TimeToAckS = &s
			acks = append(acks, s)
		}
		if !a.ClosedAt.IsZero() {
			s := max(int64(a.ClosedAt.Sub(a.FirstTime)/time.Second), 0)
			r.TimeToCloseS = &s
			closes = append(closes, s)
			d.AlertStats.ByCloseReason[a.CloseReason]++
		}
		d.AlertStats.ByStatus[a.Status]++
		if a.Level == "high" || a.Level == "critical" {
			d.AlertStats.HighOrAboveCount++
		}
		if a.Status != store.StatusClosed {
			d.Summary.OpenAlerts++
		}
		d.Alerts = append(d.Alerts, r)
	}
	d.Summary.Alerts = len(d.Alerts)
	d.AlertStats.MedianAckS, d.AlertStats.MedianCloseS = median(acks), median(closes)
}

// median is the lower median (an observed value, an integer).
func median(v []int64) *int64 {
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	m := v[(len(v)-1)/2]
	return &m
}
