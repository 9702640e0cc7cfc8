package simulate

import (
	"math"
	"strconv"
)

const (
	second = int64(1000)
	minute = 60 * second
	hour   = 60 * minute
)

// policyExtras label scheduled scripts with the RMM policy that ran them.
var policyExtras = [...]extra{
	{attrs: `"policy":"Nightly Maintenance"`},
	{attrs: `"policy":"Workstation Health"`},
	{attrs: `"policy":"Server Baseline"`},
}

// loginExtras give console logins the tool's usual second factor.
var loginExtras = func() (e [numTools]extra) {
	for i := range e {
		e[i].authMethod = tools[i].authMethod
	}
	return
}()

// humanEpisode is one piece of technician work starting at t: a session
// into a client, a package push or a script, preceded by a console login
// when the technician has none open.
func (g *Generator) humanEpisode(mi int16, t, local int64) {
	r := g.rng
	m := &g.w.msps[mi]
	working := workingHours(local)
	wd, h := localClock(local)
	var ti int16
	if wd >= 1 && wd <= 5 && h >= 7 && h < 19 {
		if r.IntN(10) == 0 {
			ti = m.admin
		} else {
			ti = m.day[r.IntN(len(m.day))]
		}
	} else if len(m.noc) > 0 {
		ti = m.noc[r.IntN(len(m.noc))]
	} else if k := r.IntN(len(m.day) + 1); k < len(m.day) {
		ti = m.day[k] // no NOC: whoever is on call
	} else {
		ti = m.admin
	}
	tc := &m.techs[ti]
	loc := g.techLoc(mi, ti, t)
	tenant := tc.tenants[r.IntN(len(tc.tenants))]
	tn := &m.tenants[tenant]
	if tn.pending {
		return // not a client yet
	}

	p := r.IntN(1000)
	switch {
	case p < 580: // remote session
		t = g.login(mi, ti, tn.remote, loc, t)
		// Day staff use privileged credentials in working hours; the night
		// NOC does too when it handles an incident.
		g.session(mi, ti, loc, tenant, t, working && tc.role != "noc" || tc.role == "noc" && r.IntN(3) == 0)
	case p < 730: // routine signed patch push under a change ticket
		t = g.login(mi, ti, m.spec.rmm, loc, t)
		g.pushPackage(mi, ti, loc, tenant, t)
	case p < 900: // maintenance script
		t = g.login(mi, ti, m.spec.rmm, loc, t)
		g.maintenanceScript(mi, ti, loc, tenant, t)
	case p < 995: // just checking the console
		g.login(mi, ti, m.spec.rmm, loc, t)
	default: // account housekeeping by the admin, in working hours only
		if !working {
			g.login(mi, ti, m.spec.rmm, loc, t)
			return
		}
		aloc := g.techLoc(mi, m.admin, t)
		t = g.login(mi, m.admin, m.spec.rmm, aloc, t)
		other := &m.techs[m.day[r.IntN(len(m.day))]]
		change := [...]string{"password_reset", "group_membership", "display_name"}[r.IntN(3)]
		ev := newEvent(kAccountChanged, mi, t+int64(r.IntN(120))*second)
		ev.tool, ev.actor, ev.loc = m.spec.rmm, m.admin, aloc
		ev.x = &extra{attrs: obj("account", other.user, "change", change)}
		g.push(ev)
	}
}

// login emits a console login (after an occasional mistyped password) if
// the technician has not logged in to this tool in the last eight hours,
// and returns when the technician is ready to work.
func (g *Generator) login(mi, ti int16, tool uint8, loc uint8, t int64) int64 {
	m := &g.w.msps[mi]
	tc := &m.techs[ti]
	slot := 0
	if tool != m.spec.rmm {
		slot = 1
	}
	last := tc.lastLogin
	if slot == 1 {
		last = tc.lastLogin2
	}
	if t-last < 8*hour {
		return t
	}
	r := g.rng
	if r.IntN(25) == 0 {
		ev := newEvent(kAuthFailure, mi, t)
		ev.tool, ev.actor, ev.loc, ev.fail = tool, ti, loc, true
		g.push(ev)
		t += int64(5+r.IntN(30)) * second
	}
	ev := newEvent(kAuthLogin, mi, t)
	ev.tool, ev.actor, ev.loc, ev.mfa = tool, ti, loc, 1
	ev.x = &loginExtras[tool]
	g.push(ev)
	if slot == 0 {
		tc.lastLogin = t
	} else {
		tc.lastLogin2 = t
	}
	return t + int64(10+r.IntN(80))*second
}

// session is a remote session with, sometimes, a stored credential used and
// a script run on the host.
func (g *Generator) session(mi, ti int16, loc uint8, tenant int16, t int64, mayPrivilege bool) {
	r := g.rng
	m := &g.w.msps[mi]
	tn := &m.tenants[tenant]
	hostIdx := int16(r.IntN(len(tn.hosts)))
	dur := int64(math.Exp(math.Log(600) + 0.9*r.NormFloat64()))
	dur = min(max(dur, 30), 4*3600)
	sess := r.Uint64() | 1

	ev := newEvent(kSessionStart, mi, t)
	ev.tool, ev.actor, ev.loc, ev.tenant, ev.host, ev.sess = tn.remote, ti, loc, tenant, hostIdx, sess
	g.push(ev)
	if r.IntN(4) == 0 {
		c := ev
		c.kind = kCredentialUse
		c.at = t + int64(20+r.IntN(100))*second
		c.cred = int16(r.IntN(len(tn.creds)))
		if mayPrivilege && r.IntN(12) == 0 {
			c.cred, c.priv = int16(r.IntN(len(tn.privCred))), true
		}
		g.push(c)
	}
	if r.IntN(8) == 0 && dur > 120 {
		s := ev
		s.kind = kScriptRun
		s.sess = 0
		s.at = t + 60*second + r.Int64N((dur-60)*second)
		s.script = g.scriptFor(tn.hosts[hostIdx].windows)
		g.push(s)
	}
	end := ev
	end.kind = kSessionEnd
	end.at = t + dur*second
	end.dur = int32(dur)
	g.push(end)
}

func (g *Generator) scriptFor(windows bool) int16 {
	if windows {
		return g.w.winScr[g.rng.IntN(len(g.w.winScr))]
	}
	return g.w.linScr[g.rng.IntN(len(g.w.linScr))]
}

// pushPackage is a routine signed update pushed to a few hosts of a tenant
// under a change ticket, followed by the installs it causes.
func (g *Generator) pushPackage(mi, ti int16, loc uint8, tenant int16, t int64) {
	r := g.rng
	m := &g.w.msps[mi]
	tn := &m.tenants[tenant]
	hosts, pkgs := tn.windows, g.w.winPkgs
	if len(tn.linux) > 0 && r.IntN(6) == 0 {
		hosts, pkgs = tn.linux, g.w.linPkgs
	}
	pkg := pkgs[r.IntN(len(pkgs))]
	count := 1 + r.IntN(min(len(hosts), 15))
	m.ticketSeq++
	ev := newEvent(kSoftwarePush, mi, t)
	ev.tool, ev.actor, ev.loc, ev.tenant, ev.pkg, ev.count, ev.ticket = m.spec.rmm, ti, loc, tenant, pkg, int32(count), m.ticketSeq
	g.push(ev)
	for i := 0; i < min(count, 6); i++ {
		in := newEvent(kSoftwareInstall, mi, t+int64(2+r.IntN(30))*minute+r.Int64N(minute))
		in.tool, in.tenant, in.pkg = m.spec.rmm, tenant, pkg
		in.host = hosts[r.IntN(len(hosts))]
		in.fail = r.IntN(40) == 0
		g.push(in)
	}
}

// maintenanceScript runs a benign script on one host or a handful; runs
// reaching more than a few hosts carry a change ticket.
func (g *Generator) maintenanceScript(mi, ti int16, loc uint8, tenant int16, t int64) {
	r := g.rng
	m := &g.w.msps[mi]
	tn := &m.tenants[tenant]
	ev := newEvent(kScriptRun, mi, t)
	ev.tool, ev.actor, ev.loc, ev.tenant = m.spec.rmm, ti, loc, tenant
	windows := len(tn.linux) == 0 || r.IntN(5) > 0
	hosts := tn.windows
	if !windows {
		hosts = tn.linux
	}
	ev.script = g.scriptFor(windows)
	if r.IntN(3) == 0 {
		ev.host = hosts[r.IntN(len(hosts))]
	} else {
		ev.count = int32(1 + r.IntN(len(hosts)))
		if ev.count > 5 || r.IntN(2) == 0 {
			m.ticketSeq++
			ev.ticket = m.ticketSeq
		}
	}
	ev.fail = r.IntN(50) == 0
	g.push(ev)
}

// autoEpisode is agent activity nobody typed: installs the RMM performs,
// agent self-updates from the vendor, scheduled policy scripts.
func (g *Generator) autoEpisode(mi int16, t int64) {
	r := g.rng
	m := &g.w.msps[mi]
	tenant := int16(r.IntN(len(m.tenants)))
	tn := &m.tenants[tenant]
	hostIdx := int16(r.IntN(len(tn.hosts)))
	if tn.pending {
		return
	}
	windows := tn.hosts[hostIdx].windows
	ev := newEvent(kSoftwareInstall, mi, t)
	ev.tool, ev.tenant, ev.host = m.spec.rmm, tenant, hostIdx
	p := r.IntN(100)
	switch {
	case p < 45:
		pkgs := g.w.winPkgs
		if !windows {
			pkgs = g.w.linPkgs
		}
		ev.pkg = pkgs[r.IntN(len(pkgs))]
		ev.fail = r.IntN(50) == 0
	case p < 60 && windows:
		ev.kind = kAgentUpdate
		ev.pkg = m.agentPkg[0]
		if tn.remote != m.spec.rmm && r.IntN(2) == 0 {
			ev.tool, ev.pkg = tn.remote, m.agentPkg[1]
		}
		ev.fail = r.IntN(60) == 0
	default:
		ev.kind = kScriptRun
		ev.actor = m.svc
		ev.script = g.scriptFor(windows)
		ev.x = g.policy(mi, r.IntN(len(policyExtras)))
	}
	g.push(ev)
}

// patchWave is the monthly Patch-Tuesday rollout: the admin pushes the
// signed Microsoft cumulative update to every Windows host of every tenant
// within minutes, under one change ticket. Large, wide and benign.
func (g *Generator) patchWave(mi int16, at int64) {
	r := g.rng
	m := &g.w.msps[mi]
	pkg := g.cumulativeUpdate(at + m.tz*1000)
	loc := g.techLoc(mi, m.admin, at)
	t := g.login(mi, m.admin, m.spec.rmm, loc, at)
	m.ticketSeq++
	ticket := m.ticketSeq
	for ti := range m.tenants {
		tn := &m.tenants[ti]
		if tn.pending {
			continue
		}
		ev := newEvent(kSoftwarePush, mi, t+int64(ti)*15*second+r.Int64N(10*second))
		ev.tool, ev.actor, ev.loc, ev.tenant, ev.pkg = m.spec.rmm, m.admin, loc, int16(ti), pkg
		ev.count, ev.ticket = int32(len(tn.windows)), ticket
		g.push(ev)
		for _, hi := range tn.windows {
			in := newEvent(kSoftwareInstall, mi, ev.at+5*minute+r.Int64N(150*minute))
			in.tool, in.tenant, in.host, in.pkg = m.spec.rmm, int16(ti), hi, pkg
			in.fail = r.IntN(50) == 0
			g.push(in)
		}
	}
}

// cumulativeUpdate returns the package of the month's Windows cumulative
// update, adding it to the catalogue on first use.
func (g *Generator) cumulativeUpdate(localMs int64) int16 {
	y, mo, _ := civil(floorDiv(localMs, 86400*1000))
	name := strconv.Itoa(y) + "-" + pad2(mo) + " Cumulative Update for Windows"
	for i := range g.w.pkgs {
		if g.w.pkgs[i].name == name {
			return int16(i)
		}
	}
	kb := "KB" + strconv.Itoa(5040000+((y-2024)*12+mo)*1931%9000)
	sha := fakeSHA(name, kb)
	g.w.pkgs = append(g.w.pkgs, pkgVersion{name, kb, "Microsoft Corporation", sha, pkgFrag(name, kb, sha, "Microsoft Corporation", true), false, ""})
	return int16(len(g.w.pkgs) - 1)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
