package simulate

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Scheduled benign operations: the things an MSP does that are large,
// rare or odd-houred, and so trip naive rules. Each runs from the
// generator's job stream (jrng) at a scheduled time and reschedules itself.
const (
	jEmergency    uint8 = iota // out-of-band patch to every tenant, after hours
	jRollout                   // vendor agent release rolling out over hours
	jNightly                   // the nightly maintenance policy, every tenant
	jTrip                      // a technician travelling abroad for a few days
	jOnboard                   // a new client tenant's first day
	jServiceLogin              // Conventions.ServiceLogins: the PSA integration's hourly login
)

type job struct {
	at   int64
	msp  int16
	kind uint8
	slot uint8 // jRollout: 0 the RMM agent, 1 the remote-access agent
}

const day = 24 * hour

// nextLocal is the first instant at or after ms when the clock of a zone
// tz seconds east of UTC shows hour:minute.
func nextLocal(ms, tz int64, h, m int) int64 {
	local := floorDiv(ms, 1000) + tz
	d := floorDiv(local, 86400)
	at := (d*86400 + int64(h)*3600 + int64(m)*60 - tz) * 1000
	if at < ms {
		at += day
	}
	return at
}

// nextWeekdayLocal is like nextLocal but skips Saturdays and Sundays.
func nextWeekdayLocal(ms, tz int64, h, m int) int64 {
	at := nextLocal(ms, tz, h, m)
	for {
		if wd, _ := localClock(at/1000 + tz); wd >= 1 && wd <= 5 {
			return at
		}
		at += day
	}
}

func (g *Generator) scheduleJobs(onboardAt time.Duration) {
	r := g.jrng
	for i := range g.w.msps {
		mi := int16(i)
		m := &g.w.msps[i]
		// An emergency patch within the first two weeks, at 21:00-23:30.
		g.addJob(job{at: nextLocal(g.start+(2+r.Int64N(12))*day, m.tz, 21, r.IntN(150)), msp: mi, kind: jEmergency})
		// Each agent's next release reaches the MSP within three weeks.
		g.addJob(job{at: g.start + 36*hour + r.Int64N(18*day), msp: mi, kind: jRollout})
		if m.spec.remote != m.spec.rmm {
			g.addJob(job{at: g.start + 36*hour + r.Int64N(18*day), msp: mi, kind: jRollout, slot: 1})
		}
		g.addJob(job{at: nextLocal(g.start, m.tz, 2, r.IntN(10)), msp: mi, kind: jNightly})
		if len(m.day) > 0 {
			g.addJob(job{at: nextLocal(g.start+(1+r.Int64N(7))*day, m.tz, 0, 0), msp: mi, kind: jTrip})
		}
		if ms := onboardAt.Milliseconds(); ms > 0 && len(m.tenants) >= 2 {
			m.tenants[len(m.tenants)-1].pending = true
			g.addJob(job{at: nextWeekdayLocal(g.start+ms+int64(i)*3*day, m.tz, 10, 0), msp: mi, kind: jOnboard})
		}
	}
}

func (g *Generator) addJob(j job) {
	g.jobs = append(g.jobs, j)
	g.nextJob = min(g.nextJob, j.at)
}

// runJob runs the (first) job due at trig.
func (g *Generator) runJob(trig int64) {
	for i, j := range g.jobs {
		if j.at != trig {
			continue
		}
		g.jobs = append(g.jobs[:i], g.jobs[i+1:]...)
		g.nextJob = math.MaxInt64
		for _, o := range g.jobs {
			g.nextJob = min(g.nextJob, o.at)
		}
		switch j.kind {
		case jEmergency:
			g.emergencyPatch(j.msp, j.at)
		case jRollout:
			g.agentRollout(j.msp, j.at, j.slot)
		case jNightly:
			g.nightly(j.msp, j.at)
		case jTrip:
			g.trip(j.msp, j.at)
		case jOnboard:
			g.onboard(j.msp, j.at)
		case jServiceLogin:
			g.serviceLogin(j.msp, j.at)
		}
		return
	}
}

// techLoc is where a technician works at t: on a trip, the trip's
// location; otherwise one place for the whole local day (the office on
// most weekdays, home on some and at weekends), so a technician never
// hops between countries within a day.
func (g *Generator) techLoc(mi, ti int16, t int64) uint8 {
	m := &g.w.msps[mi]
	tc := &m.techs[ti]
	if t >= tc.tripFrom && t < tc.tripTo {
		return tc.tripLoc
	}
	if len(tc.locs) < 2 {
		return 0
	}
	d := floorDiv(floorDiv(t, 1000)+m.tz, 86400)
	if wd := (d + 4) % 7; wd == 0 || wd == 6 {
		return 1
	}
	h := uint64(d)*0x9e3779b97f4a7c15 ^ uint64(ti)<<24 ^ uint64(mi)<<40 ^ uint64(g.cfg.Seed)
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	if h%5 == 0 {
		return 1
	}
	return 0
}

// oobTemplates are the packages emergency patches ship: a browser
// zero-day fix or an out-of-band Windows update, each signed by its vendor.
var oobTemplates = []struct{ name, signer, prefix string }{
	{"Google Chrome", "Google LLC", "131.0.6778."},
	{"Out-of-band Security Update for Windows", "Microsoft Corporation", "KB50"},
	{"Microsoft Edge", "Microsoft Corporation", "131.0.2903."},
	{"Mozilla Firefox", "Mozilla Corporation", "133.0."},
}

// lookupPkg returns the package name+version, adding it when new.
func (g *Generator) lookupPkg(name, version, signer, url string) int16 {
	for i := range g.w.pkgs {
		if g.w.pkgs[i].name == name && g.w.pkgs[i].version == version {
			return int16(i)
		}
	}
	sha := fakeSHA(name, version)
	g.w.pkgs = append(g.w.pkgs, pkgVersion{name, version, signer, sha, pkgFrag(name, version, sha, signer, true), false, url})
	return int16(len(g.w.pkgs) - 1)
}

// emergencyPatch is an out-of-band fix for an exploited vulnerability: the
// admin pushes a new, vendor-signed package to every Windows host of every
// tenant within minutes, after hours, under one change ticket.
func (g *Generator) emergencyPatch(mi int16, at int64) {
	r := g.jrng
	m := &g.w.msps[mi]
	tpl := oobTemplates[r.IntN(len(oobTemplates))]
	g.oobSeq++
	version := tpl.prefix + strconv.Itoa(200+g.oobSeq)
	if strings.HasPrefix(tpl.prefix, "KB") {
		version = tpl.prefix + strconv.Itoa(41000+g.oobSeq*37)
	}
	pkg := g.lookupPkg(tpl.name, version, tpl.signer, "")
	loc := g.techLoc(mi, m.admin, at)
	t := g.login(mi, m.admin, m.spec.rmm, loc, at)
	m.ticketSeq++
	for ti := range m.tenants {
		tn := &m.tenants[ti]
		if tn.pending || len(tn.windows) == 0 {
			continue
		}
		ev := newEvent(kSoftwarePush, mi, t+int64(ti)*10*second+r.Int64N(8*second))
		ev.tool, ev.actor, ev.loc, ev.tenant, ev.pkg = m.spec.rmm, m.admin, loc, int16(ti), pkg
		ev.count, ev.ticket = int32(len(tn.windows)), m.ticketSeq
		g.push(ev)
		for _, hi := range tn.windows {
			in := newEvent(kSoftwareInstall, mi, ev.at+3*minute+r.Int64N(90*minute))
			in.tool, in.tenant, in.host, in.pkg = m.spec.rmm, int16(ti), hi, pkg
			in.fail = r.IntN(60) == 0
			g.push(in)
		}
	}
	next := at + (7+r.Int64N(14))*day
	g.addJob(job{at: nextLocal(next, m.tz, 21, r.IntN(150)), msp: mi, kind: jEmergency})
}

// agentRelease is release n of a tool's agent after the world's version:
// the last version component moves on, the download URL follows it.
func (g *Generator) agentRelease(tool uint8, n int) int16 {
	ti := tools[tool]
	version := ti.version
	if i := strings.LastIndexByte(version, '.'); i >= 0 {
		last, err := strconv.Atoi(version[i+1:])
		if err == nil {
			version = version[:i+1] + strconv.Itoa(last+n)
		}
	}
	url := strings.ReplaceAll(ti.url, ti.version, version)
	return g.lookupPkg(ti.agent, version, ti.signer, url)
}

// agentRollout is a vendor's agent release reaching the MSP's hosts: each
// Windows host's agent updates itself from the vendor's URL at its own
// check-in over several hours. Nobody pushes it (no actor).
func (g *Generator) agentRollout(mi int16, at int64, slot uint8) {
	r := g.jrng
	m := &g.w.msps[mi]
	tool := m.spec.rmm
	if slot == 1 {
		tool = m.spec.remote
	}
	m.agentRel[slot]++
	pkg := g.agentRelease(tool, m.agentRel[slot])
	over := (4 + r.Int64N(5)) * hour
	for ti := range m.tenants {
		tn := &m.tenants[ti]
		if tn.pending || slot == 1 && tn.remote != tool {
			continue
		}
		for _, hi := range tn.windows {
			ev := newEvent(kAgentUpdate, mi, at+r.Int64N(over))
			ev.tool, ev.tenant, ev.host, ev.pkg = tool, int16(ti), hi, pkg
			ev.fail = r.IntN(80) == 0
			g.push(ev)
		}
	}
	m.agentPkg[slot] = pkg
	g.addJob(job{at: at + (21+r.Int64N(21))*day, msp: mi, kind: jRollout, slot: slot})
}

// nightly is the MSP's recurring maintenance policy: at about 02:00 local
// the automation account runs the same script on every tenant's hosts,
// one run per tenant and platform, with no change ticket (a standard
// change) and the policy's name in attributes.policy.
func (g *Generator) nightly(mi int16, at int64) {
	r := g.jrng
	m := &g.w.msps[mi]
	for ti := range m.tenants {
		tn := &m.tenants[ti]
		if tn.pending {
			continue
		}
		t := at + int64(ti)*20*second + r.Int64N(15*second)
		if len(tn.windows) > 0 {
			ev := newEvent(kScriptRun, mi, t)
			ev.tool, ev.actor, ev.tenant, ev.script = m.spec.rmm, m.svc, int16(ti), g.w.nightly[0]
			ev.count, ev.x = int32(len(tn.windows)), g.policy(mi, 0)
			ev.fail = r.IntN(100) == 0
			g.push(ev)
		}
		if len(tn.linux) > 0 {
			ev := newEvent(kScriptRun, mi, t+5*second)
			ev.tool, ev.actor, ev.tenant, ev.script = m.spec.rmm, m.svc, int16(ti), g.w.nightly[1]
			ev.count, ev.x = int32(len(tn.linux)), g.policy(mi, 0)
			g.push(ev)
		}
	}
	g.addJob(job{at: nextLocal(at+20*hour, m.tz, 2, r.IntN(10)), msp: mi, kind: jNightly})
}

// trip sends a day technician abroad for two to five days (a conference,
// a client visit): every login and session comes from a country and a
// hotel network never seen for them, with MFA as always.
func (g *Generator) trip(mi int16, at int64) {
	r := g.jrng
	m := &g.w.msps[mi]
	ti := m.day[r.IntN(len(m.day))]
	tc := &m.techs[ti]
	spot := travelSpots[r.IntN(len(travelSpots))]
	for contains(tc.countries, spot.country) {
		spot = travelSpots[r.IntN(len(travelSpots))]
	}
	tc.locs = append(tc.locs, actorFrag(tc.user, ipFor(r, false), spot.country, spot.asn, tc.role))
	tc.tripLoc = uint8(len(tc.locs) - 1)
	tc.tripFrom, tc.tripTo = at, at+(2+r.Int64N(4))*day
	tc.trips = append(tc.trips, spot.country)
	g.addJob(job{at: nextLocal(tc.tripTo+(3+r.Int64N(10))*day, m.tz, 0, 0), msp: mi, kind: jTrip})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// onboard is a new client's first day: its assigned technician deploys
// the RMM agent (and the remote-access agent) to every host over three
// hours, opens the first sessions through the tenant's remote tool, pushes
// the baseline software under a ticket, and the admin checks the domain
// controller. Everyone involved is a known technician with MFA.
func (g *Generator) onboard(mi int16, at int64) {
	r := g.jrng
	m := &g.w.msps[mi]
	tenant := int16(len(m.tenants) - 1)
	tn := &m.tenants[tenant]
	tn.pending = false
	tech := m.day[int(tenant)%len(m.day)]
	loc := g.techLoc(mi, tech, at)
	t := g.login(mi, tech, m.spec.rmm, loc, at)
	slots := []int16{m.agentPkg[0]}
	if tn.remote != m.spec.rmm {
		slots = append(slots, m.agentPkg[1])
	}
	for _, pkg := range slots {
		x := &extra{url: g.agentURL(g.w.pkgs[pkg].url)}
		for _, hi := range tn.windows {
			in := newEvent(kSoftwareInstall, mi, t+r.Int64N(3*hour))
			in.tool, in.tenant, in.host, in.pkg, in.x = m.spec.rmm, tenant, hi, pkg, x
			in.fail = r.IntN(40) == 0
			g.push(in)
		}
	}
	st := t + 45*minute
	for range 3 {
		st = g.login(mi, tech, tn.remote, loc, st)
		g.session(mi, tech, loc, tenant, st, true)
		st += int64(40+r.IntN(40)) * minute
	}
	g.pushPackage(mi, tech, loc, tenant, t+3*hour+r.Int64N(hour))
	g.pushPackage(mi, tech, loc, tenant, t+4*hour+r.Int64N(hour))
	aloc := g.techLoc(mi, m.admin, at)
	at2 := g.login(mi, m.admin, tn.remote, aloc, t+2*hour)
	g.session(mi, m.admin, aloc, tenant, at2, true)
}
