package simulate

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Tools, by index. The order is part of the generator's determinism.
var toolSlugs = [...]string{"kaseya-vsa", "screenconnect", "ninjaone", "datto-rmm", "n-able", "teamviewer", "anydesk", "atera", "splashtop"}

const (
	toolKaseya uint8 = iota
	toolScreenConnect
	toolNinjaOne
	toolDatto
	toolNAble
	toolTeamViewer
	toolAnyDesk
	toolAtera
	toolSplashtop
	numTools
)

// toolInfo is what a tool's own agent looks like when it updates itself, and
// how its console authenticates technicians.
type toolInfo struct {
	agent, version, signer, url, authMethod string
}

var tools = [numTools]toolInfo{
	toolKaseya:        {"Kaseya Agent", "9.5.21.1", "Kaseya US LLC", "https://downloads.kaseya.com/vsa/agent/9.5.21/KcsSetup.exe", "password+totp"},
	toolScreenConnect: {"ScreenConnect Client", "24.3.7.9067", "ConnectWise, LLC", "https://download.screenconnect.com/24.3.7.9067/ScreenConnect.ClientSetup.msi", "password+totp"},
	toolNinjaOne:      {"NinjaOne Agent", "6.0.3218", "NinjaOne, LLC", "https://app.ninjarmm.com/agent/installer/6.0.3218/NinjaOneAgent-x86.msi", "sso"},
	toolDatto:         {"Datto RMM Agent", "4.4.2187", "Datto, Inc.", "https://update.centrastage.net/agent/4.4.2187/AgentSetup.exe", "password+push"},
	toolNAble:         {"N-able Windows Agent", "2024.6.0.19", "N-able Technologies Ltd", "https://update.n-able.com/agent/2024.6.0.19/WindowsAgentSetup.exe", "sso"},
	toolTeamViewer:    {"TeamViewer Host", "15.60.3", "TeamViewer Germany GmbH", "https://download.teamviewer.com/download/version_15x/TeamViewer_Host_Setup_x64.exe", "password+totp"},
	toolAnyDesk:       {"AnyDesk", "8.1.0", "philandro Software GmbH", "https://download.anydesk.com/AnyDesk.exe", "password+totp"},
	toolAtera:         {"Atera Agent", "1.8.7.2", "Atera Networks Ltd.", "https://app.atera.com/agent-package/1.8.7.2/AteraAgentSetup.msi", "sso"},
	toolSplashtop:     {"Splashtop Streamer", "3.7.2.0", "Splashtop Inc.", "https://download.splashtop.com/streamer/3.7.2.0/Splashtop_Streamer_Windows.exe", "password+push"},
}

// mspSpec is one fixed MSP profile; New takes the first Config.MSPs of them
// (with a numeric suffix once they run out).
type mspSpec struct {
	name, domain, country string
	tzHours               int // fixed UTC offset, no DST: keeps the rhythm simple and tzdata-free
	rmm, remote           uint8
	ticketPrefix          string
	producerIDs           bool // the tool's export sets event_id itself
	officeASN             int64
	homeASNs              []int64
	// abroad: a second country some technicians work from (remote staff,
	// an offshore NOC); still "home" for them, never an attack country.
	abroad    string
	abroadASN int64
}

var mspSpecs = []mspSpec{
	{"northwind", "northwind-msp.com", "US", -6, toolKaseya, toolScreenConnect, "CHG-", false, 7922, []int64{7018, 20115, 701}, "PH", 9299},
	{"bluefin", "bluefin-it.co.uk", "GB", 0, toolNinjaOne, toolTeamViewer, "RFC-", false, 2856, []int64{5089, 2856}, "IE", 5466},
	{"edelweiss", "edelweiss-it.de", "DE", 1, toolDatto, toolAnyDesk, "AEN-", true, 3320, []int64{3209, 3320}, "AT", 8447},
	{"maplecrest", "maplecrest-it.ca", "CA", -5, toolNAble, toolSplashtop, "CR", false, 812, []int64{577, 812}, "US", 7922},
	{"kestrel", "kestrel-msp.com", "US", -8, toolAtera, toolScreenConnect, "CHG", false, 7018, []int64{7922, 20115}, "", 0},
	{"harbourside", "harbourside-it.com.au", "AU", 10, toolNinjaOne, toolSplashtop, "CHG-", false, 1221, []int64{1221, 4804}, "NZ", 9790},
	{"tulip", "tulip-ict.nl", "NL", 1, toolKaseya, toolTeamViewer, "WZ-", false, 1136, []int64{33915, 1136}, "BE", 5432},
	{"ironbark", "ironbark-msp.co.nz", "NZ", 12, toolNAble, toolAnyDesk, "CHG-", false, 9790, []int64{9500, 9790}, "AU", 1221},
}

// attackCountries are where stolen-credential style logins come from; none
// of them is ever a technician's country (mspSpecs' country and abroad).
var attackCountries = []string{"RO", "VN", "BR", "NG", "ID", "TH"}

// attackASNs are hosting and VPN networks: unusual for a technician.
var attackASNs = []int64{9009, 14061, 16276, 20473, 45102, 60068}

// travelSpots are where technicians travel (conferences, client visits),
// with a hotel or mobile network there. None is an attack country.
var travelSpots = []struct {
	country string
	asn     int64
}{{"ES", 3352}, {"FR", 3215}, {"JP", 2516}, {"SG", 9506}, {"IT", 3269}, {"PT", 3243}, {"US", 21928}, {"DE", 3320}, {"GB", 2856}, {"MX", 8151}}

var tenantNames = []string{
	"acme-dental", "county-elections-ks", "riverside-family-clinic", "harbor-logistics", "summit-law-group",
	"greenfield-schools", "lakeside-credit-union", "pioneer-manufacturing", "oakridge-vet", "bayview-realty",
	"county-elections-wi", "sterling-accounting", "northgate-pharmacy", "ironwood-construction", "maple-street-bakery",
	"city-of-fairview", "brightpath-charter", "coastal-insurance", "redrock-engineering", "willow-senior-living",
	"metro-transit-coop", "county-elections-pa", "evergreen-architects", "hilltop-church", "silverline-hvac",
	"trinity-orthopedics", "beacon-nonprofit", "granite-title", "quarry-hill-winery", "union-plumbing",
	"blue-heron-hotel", "county-elections-az", "prairie-ag-supply", "westside-pediatrics", "fairway-golf-club",
	"keystone-freight", "lighthouse-marina", "cornerstone-dental", "juniper-media", "parkview-library",
	"county-elections-mi", "rosewood-florist", "alpine-outfitters", "vista-eye-care", "bridgeport-school-district",
	"cedar-point-logistics", "orchard-valley-coop", "meridian-cpa", "town-of-elmwood", "northstar-physio",
}

var firstNames = []string{"james", "maria", "david", "sarah", "michael", "emma", "daniel", "olivia", "thomas", "sophie",
	"lukas", "anna", "oliver", "chloe", "ryan", "priya", "noah", "hannah", "liam", "grace", "felix", "mia", "ethan", "lena"}
var lastNames = []string{"doe", "smith", "garcia", "chen", "mueller", "okafor", "patel", "novak", "brown", "wilson",
	"schmidt", "taylor", "nguyen", "kowalski", "murphy", "fischer", "evans", "rossi", "walker", "becker", "hughes", "silva"}
var nocNames = []string{"rsantos", "mreyes", "jdelacruz", "abautista"}

// osNames for Windows workstations, Windows servers and Linux hosts.
var winWorkstationOS = []string{"Windows 11 Pro 23H2", "Windows 11 Pro 24H2", "Windows 10 Pro 22H2"}
var winServerOS = []string{"Windows Server 2022", "Windows Server 2019"}
var linuxOS = []string{"Ubuntu 22.04", "Ubuntu 24.04", "Debian 12"}

// catalogEntry is benign software an MSP keeps up to date.
type catalogEntry struct {
	name, signer string
	versions     []string
	linux        bool
}

var catalog = []catalogEntry{
	{"Google Chrome", "Google LLC", []string{"131.0.6778.86", "131.0.6778.109"}, false},
	{"Mozilla Firefox", "Mozilla Corporation", []string{"132.0.2", "133.0"}, false},
	{"Adobe Acrobat Reader DC", "Adobe Inc.", []string{"24.004.20220", "24.005.20307"}, false},
	{"Microsoft Edge", "Microsoft Corporation", []string{"131.0.2903.70", "131.0.2903.86"}, false},
	{"Microsoft 365 Apps", "Microsoft Corporation", []string{"16.0.18129.20116", "16.0.18129.20158"}, false},
	{"Microsoft .NET Runtime", "Microsoft Corporation", []string{"8.0.10", "8.0.11"}, false},
	{"Zoom Workplace", "Zoom Video Communications, Inc.", []string{"6.2.11", "6.3.0"}, false},
	{"Notepad++", "Notepad++", []string{"8.7.1", "8.7.4"}, false},
	{"Microsoft Defender Antivirus Security Intelligence", "Microsoft Corporation", []string{"1.421.1534.0", "1.421.1601.0"}, false},
	{"openssl", "Canonical Ltd.", []string{"3.0.2-0ubuntu1.18", "3.0.13-0ubuntu3.4"}, true},
	{"openssh-server", "Canonical Ltd.", []string{"1:8.9p1-3ubuntu0.10", "1:9.6p1-3ubuntu13.5"}, true},
	{"linux-image-generic", "Canonical Ltd.", []string{"5.15.0.126.124", "6.8.0-49.49"}, true},
}

// benignScripts are routine maintenance. None disables protection, deletes
// shadow copies, clears logs, decodes payloads or adds accounts; a few are
// deliberately close to those (they read, list or update) to keep rules honest.
type scriptEntry struct {
	name, interpreter, command string
	linux                      bool
}

var benignScripts = []scriptEntry{
	{"Disk Cleanup", "powershell", `cleanmgr.exe /sagerun:1`, false},
	{"Restart Print Spooler", "powershell", `Restart-Service -Name Spooler -Force`, false},
	{"Gather Inventory", "powershell", `powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\rmm\inventory.ps1`, false},
	{"Clear Temp Files", "powershell", `Remove-Item -Path "$env:TEMP\*" -Recurse -Force -ErrorAction SilentlyContinue`, false},
	{"Update Defender Signatures", "powershell", `Update-MpSignature -UpdateSource MicrosoftUpdateServer`, false},
	{"Check Defender Status", "powershell", `Get-MpComputerStatus | Select-Object AMServiceEnabled,RealTimeProtectionEnabled; Get-MpPreference | Select-Object DisableRealtimeMonitoring`, false},
	{"Flush DNS Cache", "cmd", `ipconfig /flushdns`, false},
	{"List Local Admins", "cmd", `net localgroup administrators`, false},
	{"Check Service Account", "cmd", `net user svc-backup`, false},
	{"List Shadow Copies", "cmd", `vssadmin list shadows`, false},
	{"Backup Status", "cmd", `wbadmin get versions`, false},
	{"Windows Update Scan", "powershell", `UsoClient.exe StartScan`, false},
	{"Pending Reboot Check", "powershell", `Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'`, false},
	{"Export Security Log", "powershell", `wevtutil epl Security C:\ProgramData\rmm\logs\security.evtx`, false},
	{"Apt Upgrade", "bash", `sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get -y upgrade`, true},
	{"Rotate Logs", "bash", `sudo logrotate -f /etc/logrotate.conf`, true},
	{"Disk Usage", "bash", `df -h && sudo du -sh /var/log`, true},
	{"Restart Web Service", "bash", `sudo systemctl restart nginx`, true},
}

// nightlyScripts are what the nightly maintenance policy runs on every
// tenant: the same two scripts (and hashes) every night.
var nightlyScripts = [2]scriptEntry{
	{"Nightly Maintenance", "powershell", `powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\rmm\nightly.ps1 -Tasks TempCleanup,QuickScan,DiskHealth,PendingReboot`, false},
	{"Nightly Maintenance (Linux)", "bash", `sudo /opt/rmm/nightly.sh --apt-clean --logrotate --disk-health`, true},
}

// pkgVersion is one package at one version, pre-rendered.
type pkgVersion struct {
	name, version, signer, sha string
	frag                       string // inner JSON of "package"
	linux                      bool
	url                        string // agent packages: the vendor's download URL
}

type scriptDef struct {
	name  string
	frag  string // inner JSON of "script"
	linux bool
}

type host struct {
	frag    string // inner JSON of "target" for one host
	name    string
	tags    []string // target.tags (also the registry's asset tags)
	windows bool
	server  bool
}

type credDef struct {
	frag string // inner JSON of "credential"
}

type tenant struct {
	name     string
	frag     string // `,"tenant":"name"`
	hosts    []host
	windows  []int16 // indexes of Windows hosts
	linux    []int16
	remote   uint8 // the remote-access tool used for sessions here
	creds    []credDef
	privCred []credDef
	election bool
	// tzHours is the tenant's UTC offset: its MSP's, or another under
	// Conventions.TenantZones.
	tzHours int
	// pending: a client not onboarded yet (Config.OnboardAt); it has no
	// traffic until the onboarding job clears it.
	pending bool
}

type tech struct {
	user      string
	role      string
	locs      []string // inner JSON of "actor" per location, without mfa
	countries []string
	tenants   []int16
	// Per-generator state: when the technician last logged in to the MSP's
	// RMM console and to its remote-access console (ms).
	lastLogin, lastLogin2 int64
	// A business trip: from tripFrom to tripTo (ms) the technician works
	// from locs[tripLoc], in a country of trips.
	tripFrom, tripTo int64
	tripLoc          uint8
	trips            []string
}

type msp struct {
	spec *mspSpec
	id   string
	key  []byte
	frag string // `"msp":"id"`
	zone string // RFC 3339 offset text
	tz   int64  // seconds
	// outTZ and outZone are how event times are written: the MSP's zone,
	// or UTC under Conventions.UTCTimestamps.
	outTZ     int64
	outZone   string
	tenants   []tenant
	techs     []tech
	day       []int16
	noc       []int16
	admin     int16
	svc       int16
	dormant   int16 // an account with no benign activity at all
	hostTotal int
	ticketSeq uint32
	idSeq     uint64
	nextWave  int64 // ms of the next Patch-Tuesday wave
	tools     [numTools]bool
	agentPkg  [2]int16 // rmm and remote agent packages
	agentRel  [2]int   // agent releases rolled out so far, per slot
}

// world is everything fixed for one generator: the MSPs, their tenants,
// hosts and technicians, and the software catalogue.
type world struct {
	msps    []msp
	pkgs    []pkgVersion
	scripts []scriptDef
	winPkgs []int16
	linPkgs []int16
	winScr  []int16
	linScr  []int16
	nightly [2]int16 // the nightly maintenance policy's scripts: Windows, Linux
}

// fakeSHA is a stable SHA-256 for a name: the same package name and version
// always get the same digest, whatever the seed.
func fakeSHA(parts ...string) string {
	s := sha256.Sum256([]byte("tripline-simulate|" + strings.Join(parts, "|")))
	return hex.EncodeToString(s[:])
}

func jsonStr(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// obj renders key/value pairs as the inside of a JSON object. Values of type
// string are quoted; int64 and bool are written as JSON numbers and booleans.
func obj(kv ...any) string {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = jsonStr(b, kv[i].(string))
		b = append(b, ':')
		switch v := kv[i+1].(type) {
		case string:
			b = jsonStr(b, v)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case bool:
			b = strconv.AppendBool(b, v)
		case []string:
			b = append(b, '[')
			for j, s := range v {
				if j > 0 {
					b = append(b, ',')
				}
				b = jsonStr(b, s)
			}
			b = append(b, ']')
		}
	}
	return string(b)
}

func pkgFrag(name, version, sha, signer string, signed bool) string {
	if signer == "" {
		return obj("name", name, "version", version, "sha256", sha, "signed", signed)
	}
	return obj("name", name, "version", version, "sha256", sha, "signer", signer, "signed", signed)
}

func zoneText(hours int) string {
	if hours == 0 {
		return "Z"
	}
	sign := byte('+')
	if hours < 0 {
		sign, hours = '-', -hours
	}
	return string([]byte{sign, byte('0' + hours/10), byte('0' + hours%10), ':', '0', '0'})
}

// ipFor returns a documentation-range address (RFC 5737 / RFC 3849) for
// benign technicians; attackers get 192.0.2.0/24, which benign never uses.
func ipFor(r *rand.Rand, v6 bool) string {
	if v6 {
		return "2001:db8:" + strconv.FormatUint(uint64(r.IntN(0xffff)), 16) + "::" + strconv.FormatUint(uint64(1+r.IntN(0xfffe)), 16)
	}
	if r.IntN(2) == 0 {
		return "198.51.100." + strconv.Itoa(1+r.IntN(254))
	}
	return "203.0.113." + strconv.Itoa(1+r.IntN(254))
}

func actorFrag(user, ip, country string, asn int64, role string) string {
	return obj("user", user, "ip", ip, "country", country, "asn", asn, "role", role)
}

// newWorld builds the fixed cast of a generator from its own random stream.
func newWorld(r *rand.Rand, nMSP, nTenants int, conv *Conventions) *world {
	w := &world{}
	for _, c := range catalog {
		for _, v := range c.versions {
			idx := int16(len(w.pkgs))
			sha := fakeSHA(c.name, v)
			w.pkgs = append(w.pkgs, pkgVersion{c.name, v, c.signer, sha, pkgFrag(c.name, v, sha, c.signer, true), c.linux, ""})
			if c.linux {
				w.linPkgs = append(w.linPkgs, idx)
			} else {
				w.winPkgs = append(w.winPkgs, idx)
			}
		}
	}
	var agentIdx [numTools]int16
	for t := range numTools {
		ti := tools[t]
		agentIdx[t] = int16(len(w.pkgs))
		sha := fakeSHA(ti.agent, ti.version)
		w.pkgs = append(w.pkgs, pkgVersion{ti.agent, ti.version, ti.signer, sha, pkgFrag(ti.agent, ti.version, sha, ti.signer, true), false, ti.url})
	}
	for _, s := range benignScripts {
		idx := int16(len(w.scripts))
		w.scripts = append(w.scripts, scriptDef{s.name, obj("name", s.name, "sha256", fakeSHA("script", s.command), "interpreter", s.interpreter, "command", s.command), s.linux})
		if s.linux {
			w.linScr = append(w.linScr, idx)
		} else {
			w.winScr = append(w.winScr, idx)
		}
	}

	for i, s := range nightlyScripts {
		w.nightly[i] = int16(len(w.scripts))
		w.scripts = append(w.scripts, scriptDef{s.name, obj("name", s.name, "sha256", fakeSHA("script", s.command), "interpreter", s.interpreter, "command", s.command), s.linux})
	}

	names := append([]string(nil), tenantNames...)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	nameAt := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return names[i%len(names)] + "-" + strconv.Itoa(i/len(names)+1)
	}

	w.msps = make([]msp, nMSP)
	nameBase := 0 // tenants of the MSPs before this one
	for mi := range w.msps {
		spec := conv.spec(mi)
		m := &w.msps[mi]
		nTenants := conv.tenants(mi, nTenants)
		base := nameBase
		nameBase += nTenants
		m.spec = spec
		m.id = "msp-" + spec.name
		domain := spec.domain
		if mi >= len(mspSpecs) {
			m.id += "-" + strconv.Itoa(mi/len(mspSpecs)+1)
			domain = strconv.Itoa(mi/len(mspSpecs)+1) + "." + domain
		}
		m.key = []byte(m.id)
		m.frag = `"msp":"` + m.id + `"`
		m.zone = zoneText(spec.tzHours)
		m.tz = int64(spec.tzHours) * 3600
		m.outTZ, m.outZone = m.tz, m.zone
		m.tools[spec.rmm], m.tools[spec.remote] = true, true
		m.agentPkg = [2]int16{agentIdx[spec.rmm], agentIdx[spec.remote]}
		m.ticketSeq = uint32(10000 + r.IntN(80000))

		// Tenants and hosts.
		m.tenants = make([]tenant, nTenants)
		for ti := range m.tenants {
			t := &m.tenants[ti]
			t.name = nameAt(base + ti)
			t.tzHours = spec.tzHours
			t.frag = `,"tenant":"` + t.name + `"`
			t.election = strings.HasPrefix(t.name, "county-elections-")
			t.remote = spec.remote
			if r.IntN(4) == 0 {
				t.remote = spec.rmm // the RMM's own remote control
			}
			nWS := 4 + r.IntN(40)
			nSrv := 1 + r.IntN(4)
			nLin := r.IntN(3)
			var tags []string
			if t.election {
				tags = []string{"election"}
			}
			for i := range nWS {
				name := "ws-" + pad3(i+1)
				if t.election && i < 3 {
					name = "epb-" + pad3(i+1) // electronic poll books
				}
				t.addHost(name, winWorkstationOS[r.IntN(len(winWorkstationOS))], true, false, tags)
			}
			srvNames := []string{"dc01", "fs01", "sql01", "app01"}
			if t.election {
				srvNames = []string{"dc01", "ems-srv01", "fs01", "vr-db01"}
			}
			for i := range nSrv {
				t.addHost(srvNames[i], winServerOS[r.IntN(len(winServerOS))], true, true, append([]string{"critical"}, tags...))
			}
			for i := range nLin {
				t.addHost([]string{"web01", "nas01"}[i], linuxOS[r.IntN(len(linuxOS))], false, true, tags)
			}
			m.hostTotal += len(t.hosts)
			short := strings.ToUpper(strings.ReplaceAll(t.name, "-", ""))
			if len(short) > 15 {
				short = short[:15] // NetBIOS domain names are at most 15 characters
			}
			t.creds = []credDef{
				{obj("name", short+`\svc-rmm`, "privileged", false)},
				{obj("name", short+`\helpdesk`, "privileged", false)},
				{obj("name", "local:"+t.name+"-kiosk", "privileged", false)},
			}
			t.privCred = []credDef{
				{obj("name", short+`\Administrator`, "privileged", true)},
				{obj("name", short+`\da-`+spec.name, "privileged", true)},
			}
		}

		// Technicians: day staff, an admin, a small night NOC, the automation
		// service account, and one departed technician whose account is still
		// enabled (the dormant-account scenario's way in).
		office := ipFor(r, false)
		nDay := 3 + nTenants/3
		if nDay > 12 {
			nDay = 12
		}
		if n := conv.dayStaff(mi); n > 0 {
			nDay = n
		}
		used := map[string]bool{}
		pickName := func() string {
			for {
				n := firstNames[r.IntN(len(firstNames))][:1] + lastNames[r.IntN(len(lastNames))]
				if !used[n] {
					used[n] = true
					return n
				}
			}
		}
		addTech := func(user, role string, locs []string, countries []string) int16 {
			m.techs = append(m.techs, tech{user: user, role: role, locs: locs, countries: countries, lastLogin: -1 << 62, lastLogin2: -1 << 62})
			return int16(len(m.techs) - 1)
		}
		for i := 0; i <= nDay; i++ {
			user := pickName() + "@" + domain
			role := "technician"
			if i == nDay {
				role = "admin"
			}
			home := spec.country
			homeASN := spec.homeASNs[r.IntN(len(spec.homeASNs))]
			if spec.abroad != "" && r.IntN(6) == 0 {
				home, homeASN = spec.abroad, spec.abroadASN // works remotely from abroad
			}
			locs := []string{
				actorFrag(user, office, spec.country, spec.officeASN, role),
				actorFrag(user, ipFor(r, r.IntN(5) == 0), home, homeASN, role),
			}
			countries := []string{spec.country}
			if home != spec.country {
				countries = append(countries, home)
			}
			idx := addTech(user, role, locs, countries)
			if role == "admin" {
				m.admin = idx
			} else {
				m.day = append(m.day, idx)
			}
		}
		nNOC := 1 + r.IntN(2)
		if nDay <= 2 {
			nNOC = 0 // a small shop: the day staff take the night calls
		}
		for i := range nNOC {
			user := nocNames[i] + "@" + domain
			country, asn := spec.country, spec.officeASN
			if spec.abroad != "" && i == 0 && spec.name == "northwind" {
				country, asn = spec.abroad, spec.abroadASN // offshore NOC
			}
			ip := ipFor(r, false)
			m.noc = append(m.noc, addTech(user, "noc", []string{actorFrag(user, ip, country, asn, "noc")}, []string{country}))
		}
		svc := "svc-rmm@" + domain
		m.svc = addTech(svc, "automation", []string{obj("user", svc, "role", "automation")}, nil)
		dormant := pickName() + "@" + domain
		m.dormant = addTech(dormant, "technician", []string{actorFrag(dormant, ipFor(r, false), spec.country, spec.homeASNs[0], "technician")}, []string{spec.country})

		// Who services which tenant: every tenant has at least one day
		// technician; the admin and the NOC see all of them.
		for ti := range m.tenants {
			m.techs[m.day[ti%len(m.day)]].tenants = append(m.techs[m.day[ti%len(m.day)]].tenants, int16(ti))
		}
		for _, d := range m.day {
			t := &m.techs[d]
			for range 2 + r.IntN(4) {
				ti := int16(r.IntN(nTenants))
				if !contains16(t.tenants, ti) {
					t.tenants = append(t.tenants, ti)
				}
			}
		}
		all := make([]int16, nTenants)
		for i := range all {
			all[i] = int16(i)
		}
		m.techs[m.admin].tenants = all
		for _, n := range m.noc {
			m.techs[n].tenants = all
		}
		m.techs[m.svc].tenants = all
		m.techs[m.dormant].tenants = all
	}
	return w
}

func (t *tenant) addHost(name, os string, windows, server bool, tags []string) {
	idx := int16(len(t.hosts))
	var frag string
	if len(tags) > 0 {
		frag = obj("host", name, "os", os, "tags", tags)
	} else {
		frag = obj("host", name, "os", os)
	}
	t.hosts = append(t.hosts, host{frag: frag, name: name, tags: tags, windows: windows, server: server})
	if windows {
		t.windows = append(t.windows, idx)
	} else {
		t.linux = append(t.linux, idx)
	}
}

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func contains16(s []int16, v int16) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
