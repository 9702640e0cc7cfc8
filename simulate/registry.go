package simulate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Registry returns the simulated world as an MSP relationship registry
// (YAML, as `tripline registry lint` and `ingest --registry` read it): what
// each MSP would document about the work its benign traffic does, so the
// registry rules can be measured on simulated traffic. It depends only on
// the Config's Seed, MSPs, TenantsPerMSP and Conventions (the world), not on how far the
// generator has run, and is byte-identical for the same world.
//
// What it documents, and why:
//
//   - tz: the MSP's fixed UTC offset as an Etc/GMT zone (the simulator's
//     MSPs keep no DST; Etc/GMT+6 is UTC-6). Tenants use their MSP's zone.
//   - working_hours: the tenants' business hours, weekdays 08:00-18:00.
//   - technicians: the day staff and the admin with their usual countries
//     (home office, and the second country of those who work remotely from
//     abroad; trips are not usual) and their shift, weekdays 07:00-19:00;
//     the night NOC with its country and its shift, nights and weekends;
//     the RMM's automation account. The departed technician whose account
//     was never disabled is not on the staff list: that forgotten account
//     is what the dormant-account attack uses.
//   - tools: the RMM at every tenant; the remote-access tool at the tenants
//     whose hosts run its agent (a quarter use the RMM's own remote control).
//   - tenants: every client, including the one onboarded during the run
//     (OnboardAt): its contract precedes its first day.
//   - maintenance: the nightly window 01:00-04:00 (the nightly policy runs
//     at about 02:00; agent work peaks then) and the Patch-Tuesday evening,
//     Tuesdays 19:00-23:00. Emergency out-of-band patches (21:00-23:30 on
//     any day) are not a window: they go out under a change ticket, which
//     is how the MSP documents them, and a daily evening window would let
//     any unticketed evening push through.
//   - assets: the hosts the world tags (servers critical, every host of an
//     election office election), as the MSP's asset list would.
func (g *Generator) Registry() []byte {
	return g.w.registry(g.cfg.Seed)
}

// Shifts on the MSP's clock. The day staff work for clients from 07:00 to
// 19:00 on weekdays (humanEpisode); the NOC covers the rest of the week.
var (
	dayShift   = []string{`{days: [weekdays], from: "07:00", to: "19:00"}`}
	nightShift = []string{`{days: [daily], from: "19:00", to: "07:00"}`, `{days: [weekend], from: "00:00", to: "24:00"}`}
	onCall     = append(slices.Clone(dayShift), nightShift...)
)

func (w *world) registry(seed int64) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# MSP relationship registry of the simulated world (tripline simulate, seed %d).\n", seed)
	b.WriteString("# What each MSP documents about the work its benign traffic does; see simulate.Generator.Registry.\n")
	b.WriteString("version: 1\nmsps:\n")
	for mi := range w.msps {
		m := &w.msps[mi]
		spec := m.spec
		fmt.Fprintf(&b, "  - id: %s\n", yamlQuote(m.id))
		fmt.Fprintf(&b, "    name: %s\n", yamlQuote(strings.ToUpper(spec.name[:1])+spec.name[1:]+" ("+spec.domain+", simulated)"))
		fmt.Fprintf(&b, "    tz: %s  # UTC%+d all year\n", etcZone(spec.tzHours), spec.tzHours)
		b.WriteString("    working_hours:\n      - {days: [weekdays], from: \"08:00\", to: \"18:00\"}\n")
		fmt.Fprintf(&b, "    tools: [%s]\n", toolSlugs[spec.rmm])
		b.WriteString("    technicians:\n")
		for ti := range m.techs {
			tc := &m.techs[ti]
			var shift []string
			switch {
			case int16(ti) == m.dormant:
				continue // departed; the account was never disabled
			case int16(ti) == m.svc:
				fmt.Fprintf(&b, "      - %s  # automation: policies and scheduled scripts\n", yamlQuote(tc.user))
				continue
			case tc.role == "noc":
				shift = nightShift
			case len(m.noc) == 0:
				shift = onCall // no NOC: the staff take the night calls
			default:
				shift = dayShift
			}
			fmt.Fprintf(&b, "      - {user: %s, countries: [%s], hours: [%s]}\n", yamlQuote(tc.user), strings.Join(tc.countries, ", "), strings.Join(shift, ", "))
		}
		own := ownVendorIDs(mi)
		for i := range own {
			own[i] = yamlQuote(own[i])
		}
		fmt.Fprintf(&b, "    vendor_ids: [%s]  # its own Entra tenant: its technicians' sign-ins\n", strings.Join(own, ", "))
		b.WriteString("    tenants:\n")
		for ti := range m.tenants {
			t := &m.tenants[ti]
			fmt.Fprintf(&b, "      - id: %s\n", yamlQuote(t.name))
			if t.tzHours != spec.tzHours {
				fmt.Fprintf(&b, "        tz: %s  # UTC%+d all year\n", etcZone(t.tzHours), t.tzHours)
			}
			if t.remote != spec.rmm {
				fmt.Fprintf(&b, "        tools: [%s]\n", toolSlugs[t.remote])
			}
			if ids := vendorIDs(m, mi, ti); len(ids) > 0 {
				for i := range ids {
					ids[i] = yamlQuote(ids[i])
				}
				fmt.Fprintf(&b, "        vendor_ids: [%s]\n", strings.Join(ids, ", "))
			}
			b.WriteString("        maintenance:\n")
			b.WriteString("          - {days: [daily], from: \"01:00\", to: \"04:00\"}\n")
			b.WriteString("          - {days: [tue], from: \"19:00\", to: \"23:00\"}\n")
			writeAssets(&b, t)
		}
	}
	return []byte(b.String())
}

// writeAssets lists the tenant's tagged hosts: a tag every host carries as
// one "*" entry, the rest host by host.
func writeAssets(b *strings.Builder, t *tenant) {
	var common []string
	for i, h := range t.hosts {
		if i == 0 {
			common = slices.Clone(h.tags)
			continue
		}
		common = slices.DeleteFunc(common, func(tag string) bool { return !slices.Contains(h.tags, tag) })
	}
	var lines []string
	if len(common) > 0 {
		lines = append(lines, fmt.Sprintf("{host: \"*\", tags: [%s]}", strings.Join(common, ", ")))
	}
	for _, h := range t.hosts {
		rest := slices.DeleteFunc(slices.Clone(h.tags), func(tag string) bool { return slices.Contains(common, tag) })
		if len(rest) > 0 {
			lines = append(lines, fmt.Sprintf("{host: %s, tags: [%s]}", yamlQuote(h.name), strings.Join(rest, ", ")))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("        assets:\n")
	for _, l := range lines {
		b.WriteString("          - " + l + "\n")
	}
}

// etcZone names a fixed offset as an IANA zone. The Etc/GMT names have the
// POSIX sign: Etc/GMT+6 is six hours behind UTC.
func etcZone(hours int) string {
	switch {
	case hours == 0:
		return "Etc/UTC"
	case hours < 0:
		return "Etc/GMT+" + strconv.Itoa(-hours)
	}
	return "Etc/GMT-" + strconv.Itoa(hours)
}

// yamlQuote double-quotes s for YAML (a JSON string is a valid YAML
// double-quoted scalar), so ids that look like numbers or contain ": " or
// "#" stay strings.
func yamlQuote(s string) string {
	return string(jsonStr(nil, s))
}
