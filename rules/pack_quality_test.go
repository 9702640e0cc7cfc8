package rules

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/sigmahq/sigmahqtest"
	"github.com/tripline/tripline/simulate"
)

// qualityStart is a Monday; the second Tuesday of November 2026 (a
// Patch-Tuesday wave) is the 10th.
var qualityStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

var levelRank = map[string]int{"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// qualityPlan is one measurement: a simulated world and span, and when the
// attacks start (one after the other, ScenarioSpacing apart, all after the
// pack's learning periods).
type qualityPlan struct {
	days, msps, tenants int
	onboardAt           time.Duration
	attacksAt, spacing  time.Duration
	// conv varies the simulator's conventions (issue 11); zero is the
	// default traffic.
	conv simulate.Conventions
	// oneRun measures benign traffic on the run with the attacks (the
	// detections and alerts holding no attack event) instead of on a run
	// of its own: half the work, for the short runs of every profile.
	oneRun bool
}

// tenantCount is the plan's number of tenants (a profile may size each MSP).
func (p qualityPlan) tenantCount() int {
	if len(p.conv.TenantCounts) == 0 {
		return p.msps * p.tenants
	}
	n := 0
	for i := range p.msps {
		n += p.conv.TenantCounts[i%len(p.conv.TenantCounts)]
	}
	return n
}

func (p qualityPlan) config(scenarios []string) simulate.Config {
	return simulate.Config{
		Seed: 1, Start: qualityStart, Duration: time.Duration(p.days) * 24 * time.Hour,
		MSPs: p.msps, TenantsPerMSP: p.tenants, OnboardAt: p.onboardAt,
		Scenarios: scenarios, ScenarioAt: p.attacksAt, ScenarioSpacing: p.spacing,
		Conventions: p.conv,
	}
}

// qualityDetection is one medium-or-higher detection.
type qualityDetection struct {
	rule      string // file name without .yml
	registry  bool   // a rule of rules/msp/registry/ (needs context.*)
	at        time.Time
	msp       string
	tenant    string          // "" for MSP-level detections (logins)
	scenarios map[string]bool // the attacks whose events formed it
	summary   string
	// alert is the alert the detector's grouping puts it in.
	alert string
}

type qualityRun struct {
	events       int
	attackEvents int
	detections   []qualityDetection
	first        map[string]time.Time // first event of each attack
	last         map[string]time.Time

	// alerts and incidents are the medium-or-higher ones the detector's
	// grouping makes of every detection (docs/alerts.md).
	alerts    []record.Alert
	incidents []record.Incident
	// incidentOf is every alert's incident (its earliest detection's).
	incidentOf map[string]string
	// incidentByID holds every incident.
	incidentByID map[string]record.Incident
}

// runPlan generates the plan's traffic with the given attacks and evaluates
// the embedded pack on it, in event-time order, as `rules eval` and the
// detector do, every event enriched with the simulated world's registry as
// ingest --registry does (so the registry rules count). It keeps the
// medium-or-higher detections.
func runPlan(t testing.TB, b *Bundle, p qualityPlan, scenarios []string) qualityRun {
	g, err := simulate.New(p.config(scenarios))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Parse(g.Registry(), "simulated-registry.yml")
	if err != nil {
		t.Fatalf("the simulator's registry: %v", err)
	}
	dec := contract.Decoder{DiscardContext: true, Now: func() time.Time { return qualityStart.Add(time.Duration(p.days+1) * 24 * time.Hour) }}
	attack := map[string]string{} // event ID -> scenario
	run := qualityRun{first: map[string]time.Time{}, last: map[string]time.Time{}}
	core := detection.New(b, detection.Config{})
	grouper := alert.NewGrouper(alert.Config{Hold: b.AlertHold()})
	keep := func(path, level string, src fields.Source, eventIDs []string, at time.Time, summary string, rec *record.Detection) {
		if levelRank[level] < levelRank["medium"] {
			return
		}
		d := qualityDetection{rule: strings.TrimSuffix(filepath.Base(path), ".yml"), registry: filepath.Base(filepath.Dir(path)) == "registry",
			at: at, scenarios: map[string]bool{}, summary: summary, alert: rec.AlertID}
		if src != nil {
			d.msp = src.Lookup("msp").Str
			d.tenant = src.Lookup("tenant").Str
		}
		for _, e := range eventIDs {
			if sc := attack[e]; sc != "" {
				d.scenarios[sc] = true
			}
		}
		run.detections = append(run.detections, d)
	}
	emit := func(r detection.Result) {
		rec := r.Record(time.Time{}, detection.Coordinates{})
		b.Group(grouper, r, &rec)
		if d := r.Correlation; d != nil {
			keep(d.Rule.Sigma.Path, d.Rule.Level, d.Source, d.EventIDs, d.Last, d.Summary, &rec)
			return
		}
		keep(r.Rule.Path, r.Rule.Level, r.Event.Source, []string{r.Event.ID}, r.Event.Time, r.Rule.Title, &rec)
	}
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		run.events++
		ev, err := ParseOfflineEvent(&dec, m.Value, fields.Logsource{})
		if err != nil || ev.Contract == nil {
			t.Fatalf("simulated event does not decode: %v %v: %s", err, ev.ContractErr, m.Value)
		}
		// As ingest does: the registry's context, never the producer's.
		ev.Contract.Context = reg.Context(ev.Contract)
		at := ev.Contract.Time
		if m.Scenario != "" {
			run.attackEvents++
			attack[ev.ID] = m.Scenario
			if _, ok := run.first[m.Scenario]; !ok {
				run.first[m.Scenario] = at
			}
			run.last[m.Scenario] = at
		}
		in := ev.Input(ev.ID)
		core.Process(&in, emit)
		// The simulator writes in event time (within minutes): a watermark
		// trailing it by the default lateness keeps the held events few,
		// as the detector's does.
		if run.events%1000 == 0 {
			for _, p := range core.Partitions() {
				core.Advance(p, at.Add(-5*time.Minute), emit)
			}
		}
	}
	core.Flush(emit)
	// Offline grouping: the final alerts, which the detector's streaming
	// grouping also ends with (alert.TestOrderIndependence).
	run.incidentOf = map[string]string{}
	for _, a := range grouper.Alerts() {
		run.incidentOf[a.AlertID] = a.IncidentID
		if levelRank[a.Level] >= levelRank["medium"] {
			run.alerts = append(run.alerts, a)
		}
	}
	run.incidentByID = map[string]record.Incident{}
	for _, inc := range grouper.Incidents() {
		run.incidentByID[inc.IncidentID] = inc
		if levelRank[inc.Level] >= levelRank["medium"] {
			run.incidents = append(run.incidents, inc)
		}
	}
	return run
}

// qualitySummary is one measurement's headline numbers (the README's
// profile table).
type qualitySummary struct {
	tenants, events                int
	tenantMonths                   float64
	benignDetections, benignAlerts int
	caught, attacks                int
	maxDelay                       time.Duration
	missed, late                   []string
	perRule                        map[string]int
}

// measureQuality runs the plan twice, in parallel: benign traffic alone, and
// the same world with every scenario injected. It fails the test when
// benign traffic raises more than one medium-or-higher detection per tenant
// per month or more than 0.5 medium-or-higher alerts per tenant-month, or
// when an attack goes undetected or is detected later than maxDelay after
// it began (event time), unless gaps names that failure as known (it is
// then logged: a known gap is a finding to fix, not a pass). It returns
// the README table.
func measureQuality(t *testing.T, p qualityPlan, maxDelay time.Duration) string {
	table, _ := measureQualityGaps(t, p, maxDelay, nil)
	return table
}

func measureQualityGaps(t *testing.T, p qualityPlan, maxDelay time.Duration, gaps map[string]string) (string, qualitySummary) {
	seen := map[string]bool{}
	fail := func(key, format string, args ...any) {
		if why, ok := gaps[key]; ok {
			seen[key] = true
			t.Logf("KNOWN GAP (%s): "+format, append([]any{why}, args...)...)
			return
		}
		t.Errorf(format, args...)
	}
	defer func() {
		for _, key := range slices.Sorted(maps.Keys(gaps)) {
			if !seen[key] {
				t.Logf("known gap %q did not occur (fixed?): remove it from profileGaps", key)
			}
		}
	}()
	// The pack as shipped, with the SigmaHQ subset it enables
	// (rules/msp/sigmahq.txt) read from the corpus: its rules must hold
	// the same budgets (a missing corpus fails under CI=true).
	b, errs := LoadBundle(Source{SigmaHQ: sigmahqtest.Corpus(t)}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var names []string
	for _, sc := range simulate.Scenarios() {
		names = append(names, sc.Name)
	}
	var benign, attacked qualityRun
	var wg sync.WaitGroup
	began := time.Now()
	if p.oneRun {
		attacked = runPlan(t, b, p, names)
		benign = attacked.benignPart()
	} else {
		wg.Go(func() { benign = runPlan(t, b, p, nil) })
		wg.Go(func() { attacked = runPlan(t, b, p, names) })
		wg.Wait()
	}
	elapsed := time.Since(began)

	// Benign: medium+ detections per tenant and per rule.
	tenantMonths := float64(p.tenantCount()) * float64(p.days) / 30
	perTenant := map[string]int{}
	perRule := map[string]int{}
	for _, d := range benign.detections {
		key := d.msp + "/" + d.tenant
		if d.tenant == "" {
			key = d.msp + " (MSP-level)"
		}
		perTenant[key]++
		perRule[d.rule]++
	}
	var lines []string
	how := "2 runs in parallel"
	if p.oneRun {
		how = "one run: benign numbers are what it raised on its benign events"
	}
	lines = append(lines, fmt.Sprintf("%d days, %d MSPs, %d tenants (one onboarded during the run per MSP), seed 1: %d benign events; %d events with the attacks. Evaluated in %s (%s).",
		p.days, p.msps, p.tenantCount(), benign.events, attacked.events, elapsed.Round(time.Second), how))
	lines = append(lines, "")
	lines = append(lines, fmt.Sprintf("Benign traffic: **%d** medium+ detections = **%.3f per tenant-month** (budget 1)%s.",
		len(benign.detections), float64(len(benign.detections))/tenantMonths, ruleCounts(perRule)))
	lines = append(lines, "")
	// What an analyst works: alerts and incidents (measured, no budget
	// of their own yet; the detection budget bounds them).
	lines = append(lines, fmt.Sprintf("Grouped as the detector groups them: benign traffic **%d** medium+ alerts = **%.3f per tenant-month** in %d incidents; with the attacks %d medium+ detections, %d alerts, %d incidents.",
		len(benign.alerts), float64(len(benign.alerts))/tenantMonths, len(benign.incidents),
		len(attacked.detections), len(attacked.alerts), len(attacked.incidents)))
	lines = append(lines, "")
	lines = append(lines, "| scenario | medium+ detections during the attack | from the attack | precision | their alerts | their incidents | detected | first detection after | rules that caught it |")
	lines = append(lines, "|---|---|---|---|---|---|---|---|---|")
	for i, d := range benign.detections {
		if i == 20 {
			t.Logf("... %d more", len(benign.detections)-i)
			break
		}
		t.Logf("benign detection: %s %s/%s: %s", d.at.Format(time.RFC3339), d.msp, d.tenant, d.summary)
	}
	limit := int(tenantMonths + 0.5)
	if len(benign.detections) > limit {
		fail("detections", "benign traffic raised %d medium+ detections, more than one per tenant-month (%d): %v", len(benign.detections), limit, perTenant)
	}
	maxPerTenant := max(1, int(float64(p.days)/30+0.999))
	for k, n := range perTenant {
		if n > maxPerTenant {
			fail("detections", "benign traffic raised %d medium+ detections for %s", n, k)
		}
	}
	if alertLimit := int(tenantMonths/2 + 0.5); len(benign.alerts) > alertLimit {
		fail("alerts", "benign traffic raised %d medium+ alerts, more than 0.5 per tenant-month (%d)", len(benign.alerts), alertLimit)
	}
	sum := qualitySummary{tenants: p.tenantCount(), events: benign.events, tenantMonths: tenantMonths,
		benignDetections: len(benign.detections), benignAlerts: len(benign.alerts), attacks: len(names), perRule: perRule}

	// Attacks: per scenario, the detections its events formed, and the
	// others raised while it ran (its first event to an hour after its last).
	sort.Strings(names)
	var byRegistry []string // per scenario, the registry rules that caught it
	for _, sc := range names {
		first, ok := attacked.first[sc]
		if !ok {
			t.Errorf("%s: no attack events in the span", sc)
			continue
		}
		until := attacked.last[sc].Add(time.Hour)
		var tp, during int
		var firstDet time.Time
		caught := map[string]bool{}
		alerts, incidents := map[string]bool{}, map[string]bool{}
		for _, d := range attacked.detections {
			mine := d.scenarios[sc]
			if mine {
				tp++
				alerts[d.alert] = true
				if inc := attacked.incidentOf[d.alert]; inc != "" {
					incidents[inc] = true
				}
				caught[d.rule] = caught[d.rule] || d.registry
				if firstDet.IsZero() || d.at.Before(firstDet) {
					firstDet = d.at
				}
			}
			if mine || len(d.scenarios) == 0 && !d.at.Before(first) && !d.at.After(until) {
				during++
			}
		}
		var rules, regRules []string
		for r := range caught {
			rules = append(rules, r)
			if caught[r] {
				regRules = append(regRules, r)
			}
		}
		sort.Strings(rules)
		sort.Strings(regRules)
		byRegistry = append(byRegistry, fmt.Sprintf("%s: %s", sc, orNone(regRules)))
		for _, id := range slices.Sorted(maps.Keys(incidents)) {
			inc := attacked.incidentByID[id]
			t.Logf("%s: incident %s on %s %.16s: %s, %d alerts, %d tenants, rules %v", sc, id[:8], inc.EntityKind, inc.EntityValue, inc.Level, len(inc.AlertIDs), len(inc.Tenants), inc.RuleIDs)
		}
		detected, delay := "no", "-"
		if tp > 0 {
			detected, delay = "yes", firstDet.Sub(first).Round(time.Second).String()
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %d | %.2f | %d | %d | %s | %s | %s |", sc, during, tp, float64(tp)/float64(max(during, 1)),
			len(alerts), len(incidents), detected, delay, strings.Join(rules, ", ")))
		switch {
		case tp == 0:
			sum.missed = append(sum.missed, sc)
			fail(sc, "%s: not detected", sc)
		case firstDet.Sub(first) > maxDelay:
			sum.late = append(sum.late, sc)
			fail(sc, "%s: first detection %s after the attack began, want <= %s", sc, firstDet.Sub(first), maxDelay)
		default:
			sum.caught++
		}
		if tp > 0 {
			sum.maxDelay = max(sum.maxDelay, firstDet.Sub(first))
		}
	}
	var noise int
	for _, d := range attacked.detections {
		if len(d.scenarios) == 0 {
			noise++
		}
	}
	lines = append(lines, "")
	lines = append(lines, "Registry rules (the simulator's own registry, `simulate --registry-out`) that caught each attack: "+strings.Join(byRegistry, "; ")+".")
	lines = append(lines, "")
	lines = append(lines, fmt.Sprintf("Recall %d/%d. The run with the attacks also raised %d medium+ detections holding no attack event.", countDetected(attacked, names), len(names), noise))
	table := strings.Join(lines, "\n")
	t.Log("\n" + table)
	if out := os.Getenv("TRIPLINE_QUALITY_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	return table, sum
}

// benignPart is what a run with attacks raised on its benign traffic:
// the detections holding no attack event, the alerts and incidents made of
// those only.
func (r qualityRun) benignPart() qualityRun {
	out := qualityRun{events: r.events - r.attackEvents}
	attackAlerts := map[string]bool{}
	for _, d := range r.detections {
		if len(d.scenarios) == 0 {
			out.detections = append(out.detections, d)
		} else {
			attackAlerts[d.alert] = true
		}
	}
	for _, a := range r.alerts {
		if !attackAlerts[a.AlertID] {
			out.alerts = append(out.alerts, a)
		}
	}
	for _, inc := range r.incidents {
		if !slices.ContainsFunc(inc.AlertIDs, func(id string) bool { return attackAlerts[id] }) {
			out.incidents = append(out.incidents, inc)
		}
	}
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func countDetected(r qualityRun, names []string) int {
	n := 0
	for _, sc := range names {
		for _, d := range r.detections {
			if d.scenarios[sc] {
				n++
				break
			}
		}
	}
	return n
}

func ruleCounts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for r, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

// TestPackQualityOnSimulatedTraffic is the measurement `make test` runs:
// a week of 3 MSPs x 30 tenants (about 650,000 events per run), the pack's
// plain rules and correlations together. Benign traffic may raise at most
// one medium-or-higher detection per tenant per month; every injected
// attack must be detected within minutes of event time.
func TestPackQualityOnSimulatedTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates 1.3M simulated events")
	}
	measureQuality(t, qualityPlan{
		days: 7, msps: 3, tenants: 30, onboardAt: 3 * 24 * time.Hour,
		attacksAt: 3*24*time.Hour + 3*time.Hour, spacing: weekSpacing,
	}, 15*time.Minute)
}

// weekSpacing and monthSpacing stagger the attacks so that all of them
// (election-off-hours waits up to a day for 03:10 tenant time) fit in the
// 7- and 30-day runs after the pack's learning periods.
const (
	weekSpacing  = 5 * time.Hour
	monthSpacing = 36 * time.Hour
)

// TestPackQuality30Days is the §6 quality bar: 30 simulated days of 3 MSPs
// x 30 tenants (about 2.8M events per run: Patch Tuesday, emergency
// patches, agent rollouts, onboarding, travel, the night NOC and nightly
// policies), then the same month with the eight attacks two days apart.
// It takes a minute or two on two cores, so it runs when asked for: with
// TRIPLINE_QUALITY=1, or when -run names it
// (go test -run TestPackQuality30Days ./rules/). TRIPLINE_QUALITY_OUT=FILE
// writes the table.
func TestPackQuality30Days(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates 5.5M simulated events")
	}
	if os.Getenv("TRIPLINE_QUALITY") != "1" && !strings.Contains(flagValue("test.run"), "30Days") {
		t.Skip("set TRIPLINE_QUALITY=1 or -run TestPackQuality30Days")
	}
	measureQuality(t, qualityPlan{
		days: 30, msps: 3, tenants: 30, onboardAt: 7 * 24 * time.Hour,
		attacksAt: 10*24*time.Hour + 5*time.Hour, spacing: monthSpacing,
	}, 15*time.Minute)
}

// profileGaps are the failures each convention profile is known to show
// (by "detections", "alerts" or scenario name), with why: they are logged
// as KNOWN GAP instead of failing, so the harness stays green while the
// rule is fixed, and each one is a finding (see the README's profile
// table). Remove an entry once its rule is fixed.
var profileGaps = map[string]map[string]string{
	"sparse-fields": {
		"rogue-technician": "without actor.asn the admin's replayed login from a hosting network looks like any other, and New Console Account Opens Sessions or Runs Jobs Within the Hour waits one hour: the new account's first session 70-100 minutes after its creation is caught (dormant_account_active, unknown_actor_session) about 1h30m after the attack began; nothing reports the creation itself",
	},
}

// profileGaps30 are the known gaps of the 30-day runs only (after the
// rules' learning weeks), added to profileGaps.
var profileGaps30 = map[string]map[string]string{}

// gaps30 is a profile's known gaps in the 30-day runs.
func gaps30(name string) map[string]string {
	m := maps.Clone(profileGaps[name])
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, profileGaps30[name])
	return m
}

// TestPackQualityProfiles runs every convention profile of the simulator
// but the default (simulate.Profiles: traffic written with other
// conventions) for a week, 3 MSPs x 10 tenants (the profile may size them),
// in one run with every attack injected (benign numbers are what that run
// raised on its benign events, to keep go test ./rules/ to a few minutes
// on two cores): the budgets (1 benign medium+ detection and
// 0.5 alerts per tenant-month) and the recall (every attack within 15
// minutes of event time) must hold on each.
func TestPackQualityProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates about 1.3M simulated events")
	}
	var rows []string
	for _, name := range simulate.ProfileNames() {
		if name == "default" {
			continue // TestPackQualityOnSimulatedTraffic
		}
		t.Run(name, func(t *testing.T) {
			_, sum := measureQualityGaps(t, qualityPlan{
				days: 7, msps: 3, tenants: 10, onboardAt: 3 * 24 * time.Hour,
				attacksAt: 3*24*time.Hour + 3*time.Hour, spacing: weekSpacing,
				conv: simulate.Profiles()[name], oneRun: true,
			}, 15*time.Minute, profileGaps[name])
			rows = append(rows, profileRow(name, sum))
		})
	}
	t.Log("\n" + profileTable(rows))
}

// TestPackQuality30DaysProfiles is the month of TestPackQuality30Days on
// every profile, 3 MSPs x 30 tenants (the profile may size them); it runs
// when asked for, as that one does (TRIPLINE_QUALITY=1, or -run naming
// it). TRIPLINE_QUALITY_OUT=FILE writes the profile table.
func TestPackQuality30DaysProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates about 30M simulated events")
	}
	if os.Getenv("TRIPLINE_QUALITY") != "1" && !strings.Contains(flagValue("test.run"), "30Days") {
		t.Skip("set TRIPLINE_QUALITY=1 or -run TestPackQuality30DaysProfiles")
	}
	var rows []string
	for _, name := range simulate.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			_, sum := measureQualityGaps(t, qualityPlan{
				days: 30, msps: 3, tenants: 30, onboardAt: 7 * 24 * time.Hour,
				attacksAt: 10*24*time.Hour + 5*time.Hour, spacing: monthSpacing,
				conv: simulate.Profiles()[name],
			}, 15*time.Minute, gaps30(name))
			rows = append(rows, profileRow(name, sum))
		})
	}
	table := profileTable(rows)
	t.Log("\n" + table)
	if out := os.Getenv("TRIPLINE_QUALITY_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func profileRow(name string, s qualitySummary) string {
	rules := strings.TrimSuffix(strings.TrimPrefix(ruleCounts(s.perRule), " ("), ")")
	if rules == "" {
		rules = "none"
	}
	return fmt.Sprintf("| %s | %d | %d | %d (%.3f) | %d (%.3f) | %d/%d%s | %s | %s |",
		name, s.tenants, s.events, s.benignDetections, float64(s.benignDetections)/s.tenantMonths,
		s.benignAlerts, float64(s.benignAlerts)/s.tenantMonths, s.caught, s.attacks,
		missedText(s), s.maxDelay.Round(time.Second), rules)
}

func missedText(s qualitySummary) string {
	var parts []string
	if len(s.missed) > 0 {
		parts = append(parts, "missed: "+strings.Join(s.missed, ", "))
	}
	if len(s.late) > 0 {
		parts = append(parts, "late: "+strings.Join(s.late, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func profileTable(rows []string) string {
	return "| profile | tenants | benign events | benign medium+ detections (per tenant-month) | benign medium+ alerts (per tenant-month) | attacks caught | slowest first detection | benign detections by rule |\n" +
		"|---|---|---|---|---|---|---|---|\n" + strings.Join(rows, "\n")
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}
