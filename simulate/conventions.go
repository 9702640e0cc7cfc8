package simulate

import (
	"strconv"
	"strings"
)

// Conventions vary what the benign traffic looks like, so that rules can
// be measured on conventions they were not tuned on (issue 11: real MSP
// data carries none of the simulator's markers). The zero value changes
// nothing: the output stays byte-identical for the same Seed and Config.
// The options draw no random numbers, so the rest of the traffic is the
// same with them as without.
type Conventions struct {
	// NoPolicyAttribute leaves attributes.policy off the scheduled policy
	// scripts and the nightly maintenance runs: whether a job is a
	// standing policy must then be learnt from its recurrence.
	NoPolicyAttribute bool
	// AutomationUser, when set, replaces the automation account's name
	// (default svc-rmm@DOMAIN); a value without @ gets @DOMAIN appended.
	// The registry lists the new name.
	AutomationUser string
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

// applyConventions changes the world after it is built (it draws no
// random numbers) and schedules the service logins.
func (g *Generator) applyConventions() {
	c := g.cfg.Conventions
	if c.AutomationUser != "" {
		for i := range g.w.msps {
			m := &g.w.msps[i]
			tc := &m.techs[m.svc]
			user := c.AutomationUser
			if !strings.Contains(user, "@") {
				user += tc.user[strings.IndexByte(tc.user, '@'):]
			}
			tc.user = user
			tc.locs[0] = obj("user", user, "role", "automation")
		}
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

// policy is the attributes.policy extra of policy i, or nil under
// Conventions.NoPolicyAttribute.
func (g *Generator) policy(i int) *extra {
	if g.cfg.Conventions.NoPolicyAttribute {
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
