// Package simulate generates realistic, deterministic MSP traffic in wire
// contract v1, with named attacks injected into it.
//
// # Use
//
//	g, err := simulate.New(simulate.Config{
//		Seed: 1, Start: start, Events: 60000,
//		Scenarios: []string{"kaseya-style", "stolen-credential"},
//	})
//	for {
//		m, ok := g.Next() // m.Topic, m.Key (msp id), m.Value (JSON), m.Scenario
//		if !ok {
//			break
//		}
//		...
//	}
//
// The same Seed and Config give byte-identical output. Messages come in
// strictly increasing event time (ties are pushed apart by a millisecond,
// which also makes every derived event ID unique). Config.Start is required;
// it is the event time of the first event. Message.Scenario is the ground
// truth (empty for benign traffic) and never appears in the JSON.
// WriteJSONL writes a generator as JSON lines and Produce sends it to Kafka;
// Pace throttles any next function to a wall-clock rate (event times are
// unaffected) and InEventTime holds each event until its event time.
//
// Event time advances with the simulated activity, not with the wall clock:
// with the defaults (3 MSPs, 10 tenants each) the benign traffic is about
// 1,500 events per simulated hour, so 60,000 events cover roughly 40 hours
// of a working week (longer over a weekend). A caller that streams without
// limit in real time should keep that in mind: the contract rejects events
// more than 24 hours in the future.
//
// # The simulated world
//
// Each MSP (msp-northwind, msp-bluefin, msp-edelweiss, msp-maplecrest, ...)
// has a home country and a fixed UTC offset, an RMM tool (kaseya-vsa,
// ninjaone, datto-rmm, n-able, atera) and a remote-access tool
// (screenconnect, teamviewer, anydesk, splashtop), tenants such as
// acme-dental or county-elections-ks with Windows workstations, servers
// tagged critical, a few Linux hosts, and poll books and election servers
// tagged election. Its technicians (jdoe@northwind-msp.com) each log in
// from an office address and a home address with stable ASNs; a few work
// from a second country (Ireland for a British MSP, an offshore NOC in the
// Philippines for northwind), which is part of their normal baseline. There
// is an admin, a small night-shift NOC, an automation account
// (svc-rmm@...) and one departed technician whose account is never used by
// benign traffic. msp-edelweiss's datto-rmm events carry their own event_id;
// all others leave it to ingest.
//
// Benign traffic follows the MSP's local clock: technician work (console
// logins with MFA, sometimes after one mistyped password; remote sessions
// with start and end; stored-credential use, privileged only by day staff in
// working hours; signed patch pushes under a change ticket followed by
// installs; maintenance scripts) peaks Monday to Friday 09–17 and drops to
// the NOC at night and at weekends. Agent activity (installs, agent
// self-updates from the vendor's official URL, scheduled policy scripts) runs
// around the clock with a 01–04 maintenance window. On the second Tuesday of
// each month at 19:00 local time each MSP's admin pushes the signed Microsoft
// cumulative update to every Windows host of every tenant within minutes,
// under one change ticket: a wide, fast, benign push rules must not flag.
//
// Scheduled operations, from their own random stream, add the benign
// traffic that trips naive rules:
//
//   - emergency out-of-band patches: every one to three weeks, at
//     21:00–23:30 local, the admin pushes a new vendor-signed package (a
//     browser zero-day fix, an out-of-band Windows update) to every
//     Windows host of every tenant within minutes, under one ticket;
//   - vendor agent releases: every three to six weeks per agent, each
//     Windows host's RMM (and remote-access) agent updates itself to the
//     new version from the vendor's URL over four to eight hours
//     (agent.update, no actor);
//   - the nightly maintenance policy: at about 02:00 local the automation
//     account runs the same script on every tenant (one script.run per
//     tenant and platform, host_count, attributes.policy "Nightly
//     Maintenance") without a change ticket, as a standard change;
//   - business trips: every week or two a day technician works two to
//     five days from another country (ES, FR, JP, SG, ...) on a hotel
//     network, with MFA as always. Technicians otherwise keep one location
//     per local day (office or home), so nobody changes country within a
//     day;
//   - onboarding (Config.OnboardAt): the last tenant of each MSP has no
//     traffic until its first day, when its assigned technician deploys the
//     agents to every host, opens the first sessions and pushes the
//     baseline software, and the admin checks the domain controller;
//   - the night-shift NOC works every tenant at night and at weekends and
//     sometimes uses privileged credentials (incident handling).
//
// # The registry of the world
//
// Generator.Registry returns the world as an MSP relationship registry
// (YAML for package registry and ingest --registry; `tripline simulate
// --registry-out FILE`): contracted tenants, approved tools, technicians
// with their usual countries and shifts, maintenance windows and asset
// tags, as the MSPs would document their real practice, so the registry
// rules can be run on simulated traffic. It depends only on Seed, MSPs,
// TenantsPerMSP and Conventions. The departed technician is not on it (that is the
// dormant-account attack's way in), and the tools attackers bring are not
// approved anywhere.
//
// Config.Duration ends the stream at a span of event time (30 days of
// 3 MSPs × 30 tenants is about 2.75M events); Config.ScenarioSpacing
// staggers the attacks so one long run holds all of them.
//
// Benign traffic never contains a login without MFA, an unsigned package, a
// login from a country the technician does not use (their home countries
// and, during a trip, the trip's), a wide push without a change ticket
// (except the nightly policy's runs), or a script that disables Defender, runs encoded
// PowerShell, deletes shadow copies, clears event logs, edits boot
// configuration, decodes with certutil or adds an account. Some benign
// scripts come close on purpose (Get-MpPreference, Update-MpSignature,
// vssadmin list shadows, wevtutil epl, net user NAME, -ExecutionPolicy
// Bypass -File).
//
// # Scenarios
//
// Attacks start at Config.ScenarioAt after Start (default: the middle of
// the benign span), each from its own random stream.
//
// kaseya-style mimics Kaseya VSA / REvil (July 2021): the kaseya-vsa console
// account vsa-admin of one MSP, with no login before it, runs a procedure on
// every tenant of that MSP within about four minutes: script.run disabling
// Defender with Set-MpPreference and decoding agent.crt with a copy of
// certutil, software.push of an unsigned agent.crt with an unknown sha256 and
// no change ticket to every host, then unsigned agent.exe installs.
//
// stolen-credential mimics Target (2013), Cloud Hopper and everyday MSP
// account takeover: a day technician logs in without MFA from a country and
// hosting ASN that technician never uses, then opens sessions into up to 14
// tenants (every tenant with the default 10) within 30 minutes, with
// privileged credential use and reconnaissance.
//
// screenconnect-takeover mimics ScreenConnect SlashAndGrab (CVE-2024-1709,
// February 2024): a brand-new administrator account is created through the
// setup wizard (account.created), logs in without MFA and within the hour
// opens sessions into six tenants, running "net user ... /add" and encoded
// PowerShell.
//
// tampered-update mimics SolarWinds SUNBURST, 3CX and ShadowHammer: a
// package name and version benign traffic pushes every day, still signed by
// the legitimate signer, arrives with a different sha256, and a technician
// pushes it under a change ticket to five tenants.
//
// shadow-rmm mimics ransomware affiliates' use of legitimate remote tools
// (CISA AA23-025A): a vendor-signed remote tool the MSP never uses (anydesk,
// or another) is installed on one tenant host and then used for sessions
// into that tenant.
//
// brute-force mimics password spraying and MFA fatigue (Uber 2022): about
// 50 auth.failure events against three technicians and a non-existent admin
// from one foreign hosting address in 12 minutes, then a successful login
// after nine MFA push prompts, and a session.
//
// dormant-account mimics a departed employee's account left enabled: the
// account, silent in all benign traffic, logs in with MFA, adds an MFA
// device and opens sessions into four tenants with a privileged credential.
//
// cloud-hopper mimics APT10 Operation Cloud Hopper: the MSP admin's account
// logs in with MFA from its usual country but a hosting ASN, then over about
// three hours opens long sessions into eight tenants, uses privileged domain
// credentials and runs reconnaissance, ntdsutil and RAR staging commands.
//
// rogue-technician mimics persistence through new MSP console accounts (CISA
// AA22-131A, Scattered Spider): the admin's account, replayed from a hosting
// network in the MSP's country, creates a plausible technician account,
// which enrols an MFA device and 70 to 100 minutes later signs in with MFA
// and opens sessions into five tenants' servers with a privileged credential.
//
// mfa-removed mimics the help-desk MFA reset of Scattered Spider (MGM 2023):
// the admin, from the usual place, resets a technician's MFA; the account
// then signs in without MFA from a hosting network in the MSP's country and
// pushes a vendor-signed remote tool the MSP does not use to six tenants
// without a ticket.
//
// api-key-abuse mimics a stolen RMM or PSA API key: the PSA integration
// account authenticates by API key from a foreign hosting address and runs a
// PowerShell download-and-execute on eight tenants within ten minutes.
//
// election-off-hours is issue 11's missed attack: a real technician, from
// home with MFA, runs a PowerShell download-and-execute on an election
// server at about 03:10 tenant local time (the next 03:10 after ScenarioAt).
//
// impossible-travel mimics adversary-in-the-middle session theft: a
// technician signs in as usual (that login is benign traffic) and 20 to 45
// minutes later the account signs in with MFA satisfied from a foreign
// hosting network and opens sessions into three of the technician's
// tenants.
//
// # Convention profiles
//
// Config.Conventions changes how the benign traffic (and the attacks in it)
// look, the way real MSPs differ from each other: automation under other
// names and roles or under the admin's own account, an integration account
// logging in by API key every hour, other ticket formats or none, vendor
// download hosts, times in UTC, a follow-the-sun NOC abroad, tenants across
// time zones, other tool mixes, a two-person MSP with three tenants next to
// a large one, and producers that leave optional fields out. Profiles names
// the sets the pack's quality test runs (`tripline simulate --profile`).
// The zero value is the default traffic, byte for byte.
package simulate
