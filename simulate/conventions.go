package simulate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Conventions vary what the benign traffic looks like, so that rules can
// be measured on conventions they were not tuned on (issue 11: real MSP
// data carries none of the simulator's markers). The zero value changes
// nothing: the output stays byte-identical for the same Seed and Config.
// The options that only relabel traffic draw no random numbers, so the
// rest of the traffic is the same with them as without; those that change
// the world (Tools, TenantCounts, DayStaff) give another world, still
// deterministic for a Seed. Attacks are injected into whatever world the
// conventions make, and follow its conventions too (a producer that never
// reports actor.country does not report it for an attacker either).
type Conventions struct {
	// NoPolicyAttribute leaves attributes.policy off the scheduled policy
	// scripts and the nightly maintenance runs: whether a job is a
	// standing policy must then be learnt from its recurrence.
	NoPolicyAttribute bool
	// AutomationUser, when set, replaces the automation account's name
	// (default svc-rmm@DOMAIN); a value without @ gets @DOMAIN appended.
	// The registry lists the new name.
	AutomationUser string
	// AutomationRole, when set, replaces the automation account's
	// actor.role (default "automation"), e.g. "system" or "scheduler".
	AutomationRole string
	// ScheduledByAdmin runs the scheduled policy scripts and the nightly
	// maintenance under the MSP admin's own account (a person's account,
	// role admin, as RMMs report the owner of a scheduled job) instead of
	// an automation account: many small MSPs have none.
	ScheduledByAdmin bool
	// ServiceLogins adds each MSP's PSA integration account
	// (psa-sync@DOMAIN, actor.role service) logging in to the RMM console
	// every hour at about :05, by API key (session.auth_method api_key),
	// without MFA, from a cloud provider's network (AWS, ASN 16509, the
	// MSP's country). The registry does not list it.
	ServiceLogins bool
	// VendorHosts makes agent self-updates come from other hosts of the
	// vendors' own registered domains (na1vsa.kaseya.net,
	// resources.ninjaone.com, ...) instead of the fixed download hosts.
	VendorHosts bool
	// Tickets is the change-ticket format: "" (the MSP's prefix and a
	// number, CHG-12345), "servicenow" (CHG0012345), "jira" (ITOPS-2345)
	// or "none" (the MSP keeps no change tickets at all: no event carries
	// change.ticket).
	Tickets string
	// UTCTimestamps writes every event time in UTC ("Z") instead of the
	// MSP's local offset, as many exports do.
	UTCTimestamps bool
	// FollowTheSun staffs the night NOC from a team in another country
	// working its own day shift (the Philippines for the Americas, India
	// for Europe, the UK for Oceania); the registry lists that country.
	FollowTheSun bool
	// TenantZones spreads each MSP's tenants over zones up to three hours
	// either side of the MSP's (a US MSP with clients from Eastern to
	// Pacific time); the registry gives each tenant its tz.
	TenantZones bool
	// Tools, when set, gives MSP i the RMM and remote-access tool
	// Tools[i % len(Tools)] (tool slugs, see Scenarios' descriptions:
	// kaseya-vsa, screenconnect, ninjaone, datto-rmm, n-able, teamviewer,
	// anydesk, atera, splashtop). RMM and Remote may be the same tool (an
	// MSP on ScreenConnect alone).
	Tools []ToolMix
	// TenantCounts, when set, gives MSP i TenantCounts[i % len] tenants
	// instead of Config.TenantsPerMSP.
	TenantCounts []int
	// DayStaff, when set, gives MSP i DayStaff[i % len] day technicians
	// besides the admin (0 keeps the default of 3 + tenants/3, at most
	// 12). With one or two there is no night NOC: the day staff and the
	// admin take the night and weekend calls themselves (the registry
	// gives them round-the-clock hours).
	DayStaff []int
	// Omit leaves optional fields out of every event, benign and attack:
	// any of "actor.country", "actor.asn", "package.signer",
	// "target.host_count".
	Omit []string
}

// ToolMix is one MSP's tools, by slug.
type ToolMix struct {
	RMM, Remote string
}

// omittable are the fields Conventions.Omit may name, with the JSON key
// that is dropped.
var omittable = map[string]string{
	"actor.country":     "country",
	"actor.asn":         "asn",
	"package.signer":    "signer",
	"target.host_count": "host_count",
}

// validate reports the first invalid option.
func (c *Conventions) validate() error {
	switch c.Tickets {
	case "", "none", "servicenow", "jira":
	default:
		return fmt.Errorf("simulate: Conventions.Tickets %q: want none, servicenow or jira", c.Tickets)
	}
	for _, tm := range c.Tools {
		if toolIndex(tm.RMM) < 0 || toolIndex(tm.Remote) < 0 {
			return fmt.Errorf("simulate: Conventions.Tools %q/%q: unknown tool (valid: %s)", tm.RMM, tm.Remote, strings.Join(toolSlugs[:], ", "))
		}
	}
	for _, n := range c.TenantCounts {
		if n < 1 || n > 1000 {
			return fmt.Errorf("simulate: Conventions.TenantCounts: %d tenants, want 1 to 1000", n)
		}
	}
	for _, n := range c.DayStaff {
		if n < 0 || n > 50 {
			return fmt.Errorf("simulate: Conventions.DayStaff: %d technicians, want 0 to 50", n)
		}
	}
	for _, f := range c.Omit {
		if _, ok := omittable[f]; !ok {
			return fmt.Errorf("simulate: Conventions.Omit %q: want actor.country, actor.asn, package.signer or target.host_count", f)
		}
	}
	return nil
}

func toolIndex(slug string) int {
	for i, s := range toolSlugs {
		if s == slug {
			return i
		}
	}
	return -1
}

// spec is MSP i's profile under the conventions' tool mix.
func (c *Conventions) spec(i int) *mspSpec {
	spec := &mspSpecs[i%len(mspSpecs)]
	if len(c.Tools) == 0 {
		return spec
	}
	s := *spec
	tm := c.Tools[i%len(c.Tools)]
	s.rmm, s.remote = uint8(toolIndex(tm.RMM)), uint8(toolIndex(tm.Remote))
	return &s
}

// tenants is MSP i's number of tenants.
func (c *Conventions) tenants(i, dflt int) int {
	if len(c.TenantCounts) == 0 {
		return dflt
	}
	return c.TenantCounts[i%len(c.TenantCounts)]
}

// dayStaff is MSP i's number of day technicians, 0 for the default.
func (c *Conventions) dayStaff(i int) int {
	if len(c.DayStaff) == 0 {
		return 0
	}
	return c.DayStaff[i%len(c.DayStaff)]
}

// Profiles are named sets of conventions, each a way real MSP traffic
// differs from the default simulation; the pack's quality test runs every
// one of them with the attacks injected (rules/pack_quality_test.go), and
// `tripline simulate --profile NAME` reproduces them. "default" is the
// zero value.
func Profiles() map[string]Conventions {
	return map[string]Conventions{
		"default": {},
		// No marker of the simulator's own: standing policies unlabelled,
		// the automation account under another name, an integration
		// account logging in hourly by API key, vendor updates from
		// other hosts of the vendors' domains.
		"markerless": {NoPolicyAttribute: true, AutomationUser: "rmm-automation", ServiceLogins: true, VendorHosts: true},
		// A small-shop practice: no change tickets at all, and the
		// scheduled jobs run under the admin's own account.
		"no-tickets": {Tickets: "none", ScheduledByAdmin: true, NoPolicyAttribute: true},
		// A larger operation: ServiceNow change numbers, a NOC in another
		// country working its own day, tenants across time zones, times in
		// UTC, an automation account called something else with another
		// role.
		"follow-the-sun": {Tickets: "servicenow", FollowTheSun: true, TenantZones: true, UTCTimestamps: true,
			AutomationUser: "ninja-scheduler", AutomationRole: "system"},
		// Tool mixes and sizes: a two-person MSP with three tenants on
		// ScreenConnect alone, a large NinjaOne + TeamViewer MSP, an
		// N-able + Splashtop MSP.
		"small-and-large": {Tools: []ToolMix{{"screenconnect", "screenconnect"}, {"ninjaone", "teamviewer"}, {"n-able", "splashtop"}},
			TenantCounts: []int{3, 40, 15}, DayStaff: []int{1, 0, 0}},
		// A producer that reports the minimum: no actor.country or
		// actor.asn, no package signer, no host_count; Jira tickets; the
		// PSA integration's hourly logins.
		"sparse-fields": {Omit: []string{"actor.country", "actor.asn", "package.signer", "target.host_count"}, Tickets: "jira", ServiceLogins: true},
	}
}

// ProfileNames lists Profiles' names, sorted.
func ProfileNames() []string {
	var names []string
	for n := range Profiles() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// vendorHostAlternates are real hosts (or hosts under the real registered
// domains) of the vendors' download infrastructure, by default host.
var vendorHostAlternates = [][2]string{
	{"https://downloads.kaseya.com/", "https://na1vsa.kaseya.net/"},
	{"https://download.screenconnect.com/", "https://cloud.screenconnect.com/"},
	{"https://app.ninjarmm.com/", "https://resources.ninjaone.com/"},
	{"https://update.centrastage.net/", "https://merlot.rmm.datto.com/"},
	{"https://update.n-able.com/", "https://swupdate.n-able.com/"},
	{"https://download.teamviewer.com/", "https://dl.teamviewer.com/"},
	{"https://download.anydesk.com/", "https://cdn.anydesk.com/"},
	{"https://app.atera.com/", "https://ps.atera.com/"},
	{"https://download.splashtop.com/", "https://my.splashtop.eu/"},
}

func vendorHostAlternate(url string) string {
	for _, p := range vendorHostAlternates {
		if strings.HasPrefix(url, p[0]) {
			return p[1] + url[len(p[0]):]
		}
	}
	return url
}

// followTheSun is where an MSP's follow-the-sun NOC works from, by the
// MSP's UTC offset: a country whose day is the MSP's night.
func followTheSun(tzHours int) (country string, asn int64) {
	switch {
	case tzHours <= -3:
		return "PH", 9299 // PLDT
	case tzHours <= 4:
		return "IN", 9829 // BSNL
	}
	return "GB", 2856 // BT
}

// tenantZoneShift is tenant i's offset from its MSP's zone under
// Conventions.TenantZones, in hours.
var tenantZoneShift = [...]int{0, -1, 1, -2, 0, -3, 2, -1}

// applyConventions changes the world after it is built (it draws no
// random numbers) and schedules the service logins.
func (g *Generator) applyConventions() {
	c := &g.cfg.Conventions
	for i := range g.w.msps {
		m := &g.w.msps[i]
		tc := &m.techs[m.svc]
		if c.AutomationUser != "" {
			user := c.AutomationUser
			if !strings.Contains(user, "@") {
				user += tc.user[strings.IndexByte(tc.user, '@'):]
			}
			tc.user = user
		}
		if c.AutomationUser != "" || c.AutomationRole != "" {
			if c.AutomationRole != "" {
				tc.role = c.AutomationRole
			}
			tc.locs[0] = obj("user", tc.user, "role", tc.role)
		}
		if c.FollowTheSun {
			country, asn := followTheSun(m.spec.tzHours)
			for k, n := range m.noc {
				t := &m.techs[n]
				// A NOC of its own in that country: one office network,
				// home networks of the same provider.
				ip := "203.0.113." + strconv.Itoa(200+k)
				t.locs = []string{actorFrag(t.user, ip, country, asn, t.role), actorFrag(t.user, "198.51.100."+strconv.Itoa(200+k), country, asn, t.role)}
				t.countries = []string{country}
			}
		}
		if c.TenantZones {
			for ti := range m.tenants {
				m.tenants[ti].tzHours = m.spec.tzHours + tenantZoneShift[ti%len(tenantZoneShift)]
			}
		}
		if c.UTCTimestamps {
			m.outTZ, m.outZone = 0, "Z"
		}
	}
	if c.ScheduledByAdmin {
		g.sched = make([][len(policyExtras) + 1]extra, len(g.w.msps))
		for i := range g.w.msps {
			m := &g.w.msps[i]
			a := &m.techs[m.admin]
			actor := obj("user", a.user, "role", a.role)
			g.sched[i][0] = extra{actor: actor}
			for p := range policyExtras {
				g.sched[i][p+1] = extra{actor: actor, attrs: policyExtras[p].attrs}
				if c.NoPolicyAttribute {
					g.sched[i][p+1].attrs = ""
				}
			}
		}
	}
	for _, f := range c.Omit {
		g.omit = append(g.omit, omittable[f])
	}
	if c.ServiceLogins {
		g.svcLogin = make([]extra, len(g.w.msps))
		for i := range g.w.msps {
			m := &g.w.msps[i]
			domain := m.techs[m.svc].user[strings.IndexByte(m.techs[m.svc].user, '@')+1:]
			user := "psa-sync@" + domain
			g.svcLogin[i] = extra{actor: obj("user", user, "ip", "52.94.236."+strconv.Itoa(10+i%200), "country", m.spec.country, "asn", int64(16509), "role", "service"), authMethod: "api_key"}
			g.addJob(job{at: nextLocal(g.start, 0, 0, 5+i%50), msp: int16(i), kind: jServiceLogin})
		}
	}
}

// serviceLogin is the PSA integration's hourly API-key login.
func (g *Generator) serviceLogin(mi int16, at int64) {
	m := &g.w.msps[mi]
	ev := newEvent(kAuthLogin, mi, at)
	ev.tool, ev.mfa, ev.x = m.spec.rmm, 0, &g.svcLogin[mi]
	g.push(ev)
	g.addJob(job{at: at + hour, msp: mi, kind: jServiceLogin})
}

// policy is the attributes.policy extra of policy i (-1: none), or nil
// under Conventions.NoPolicyAttribute. Under ScheduledByAdmin it also
// names the admin as the actor.
func (g *Generator) policy(mi int16, i int) *extra {
	if g.sched != nil {
		return &g.sched[mi][i+1]
	}
	if g.cfg.Conventions.NoPolicyAttribute || i < 0 {
		return nil
	}
	return &policyExtras[i]
}

// agentURL is an agent package's download URL as the traffic reports it.
func (g *Generator) agentURL(url string) string {
	if g.cfg.Conventions.VendorHosts {
		return vendorHostAlternate(url)
	}
	return url
}

// appendTicket writes change ticket number n in the conventions' format.
func (g *Generator) appendTicket(b []byte, m *msp, n uint32) []byte {
	switch g.cfg.Conventions.Tickets {
	case "servicenow":
		s := strconv.FormatUint(uint64(n), 10)
		b = append(b, "CHG"...)
		for range 7 - len(s) {
			b = append(b, '0')
		}
		return append(b, s...)
	case "jira":
		return strconv.AppendUint(append(b, "ITOPS-"...), uint64(n%20000+100), 10)
	}
	b = append(b, m.spec.ticketPrefix...)
	return strconv.AppendUint(b, uint64(n), 10)
}

// stripKeys removes the members named keys (scalar values only) from the
// rendered JSON object b, in place, and an object they leave empty
// ("target":{}). The generator's JSON has no spaces, and a key inside a
// string value is escaped (\"asn\":), so the byte pattern is unambiguous.
func stripKeys(b []byte, keys []string) []byte {
	for _, k := range keys {
		pat := `"` + k + `":`
		for from := 0; ; {
			i := strings.Index(string(b[from:]), pat)
			if i < 0 {
				break
			}
			i += from
			if i == 0 || b[i-1] != ',' && b[i-1] != '{' {
				from = i + len(pat)
				continue
			}
			end := i + len(pat)
			if end < len(b) && b[end] == '"' {
				end++
				for end < len(b) && b[end] != '"' {
					if b[end] == '\\' {
						end++
					}
					end++
				}
				end++
			} else {
				for end < len(b) && b[end] != ',' && b[end] != '}' {
					end++
				}
			}
			start := i
			switch {
			case b[i-1] == ',':
				start = i - 1
			case end < len(b) && b[end] == ',':
				end++
			}
			b = append(b[:start], b[end:]...)
			from = start
		}
	}
	for _, empty := range []string{`,"target":{}`, `"target":{},`, `,"package":{}`, `"package":{},`} {
		if i := strings.Index(string(b), empty); i >= 0 {
			b = append(b[:i], b[i+len(empty):]...)
		}
	}
	return b
}
