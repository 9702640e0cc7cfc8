package rules

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
)

// Every shipped rule loads, has tests, and passes them.
func TestPackRules(t *testing.T) {
	b, errs := LoadBundle(Source{}, engine.Config{})
	for _, err := range errs {
		t.Errorf("pack does not load: %v", err)
	}
	if b == nil || b.Rules.Len() < 5 || b.Correlations.Len() < 7 {
		t.Fatalf("pack has too few rules")
	}
	rs, cs := b.Rules, b.Correlations
	results, err := Test([]string{"msp"}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Tested units: rules with detections of their own and the outermost
	// correlations; the rules and correlations they read are tested
	// through them.
	units := 0
	for _, r := range rs.Rules() {
		if cs.Generates(r.Identity()) {
			units++
		}
	}
	for _, c := range cs.Rules() {
		if cs.Generates(c.ID) {
			units++
			if c.Level == "" || len(c.Sigma.Tags) == 0 || len(c.Sigma.FalsePositives) == 0 || c.Sigma.ID == "" {
				t.Errorf("%s: every pack correlation needs id, level, ATT&CK tags and falsepositives", c.ID)
			}
		}
	}
	if len(results) != units {
		t.Errorf("tested %d rules, pack has %d that generate detections", len(results), units)
	}
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("%s (%s): %s", r.RuleID, r.File, strings.Join(r.Failures, "; "))
		}
		if r.Matched == 0 || r.Rejected == 0 {
			t.Errorf("%s: %d match and %d no_match cases passed", r.RuleID, r.Matched, r.Rejected)
		}
	}
	for _, r := range rs.Rules() {
		if !cs.Generates(r.Identity()) {
			if r.ID == "" {
				t.Errorf("%s: every pack rule needs an id", r.Identity())
			}
			continue
		}
		if r.Level == "" || len(r.Tags) == 0 || len(r.FalsePositives) == 0 || r.ID == "" {
			t.Errorf("%s: every pack rule needs id, level, ATT&CK tags and falsepositives", r.Identity())
		}
	}
}

// A test runner that cannot fail proves nothing: a wrong expectation fails.
func TestRuleTestsDetectWrongExpectations(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "r.yml", `title: Script run
id: 11111111-1111-4111-8111-111111111111
logsource: {product: msp, category: software_update}
detection:
  sel: {event_type: script.run}
  condition: sel
level: low
`)
	write(t, dir, "r.tests.yml", `match:
  - {event_type: software.push, time: "2026-11-20T10:00:00Z", msp: m, tenant: t, tool: x, actor: {user: u}}
no_match:
  - {event_type: script.run, time: "2026-11-20T10:00:00Z", msp: m, tenant: t, tool: x, actor: {user: u}}
`)
	write(t, dir, "untested.yml", `title: Untested
logsource: {product: msp}
detection:
  sel: {event_type: auth.login}
  condition: sel
`)
	results, err := Test([]string{dir}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}
	for _, r := range results {
		if r.Passed() {
			t.Errorf("%s passed but should fail", r.RuleID)
		}
	}
	if got := results[0].Failures; len(got) != 2 {
		t.Errorf("r.yml: want both cases failing, got %q", got)
	}
}

func TestManagerHotReloadKeepsPreviousSetOnError(t *testing.T) {
	dir := t.TempDir()
	rule := func(id, eventType string) string {
		return "title: R " + id + "\nid: " + id + "\nlogsource: {product: msp}\ndetection:\n  sel: {event_type: " + eventType + "}\n  condition: sel\nlevel: low\n"
	}
	write(t, dir, "a.yml", rule("aaaaaaaa-0000-4000-8000-000000000001", "auth.login"))
	m, err := NewManager(ManagerConfig{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	login := decodeEvent(t, `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`)
	if got := m.Match(login, nil); len(got) != 1 {
		t.Fatalf("initial set: %d matches, want 1", len(got))
	}

	// Added file: picked up.
	write(t, dir, "b.yml", rule("bbbbbbbb-0000-4000-8000-000000000002", "auth.login"))
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := m.Match(login, nil); len(got) != 2 {
		t.Fatalf("after adding a rule: %d matches, want 2", len(got))
	}

	// Broken file: reload fails with file:line, the old set keeps running.
	write(t, dir, "c.yml", "title: broken\nlogsource: {product: msp}\ndetection:\n  sel: {event_type: auth.login}\n  condition: sel and nosuch\n")
	err = m.Reload()
	if err == nil || !strings.Contains(err.Error(), "c.yml:") {
		t.Fatalf("broken file: want an error naming c.yml:line, got %v", err)
	}
	if got := m.Match(login, nil); len(got) != 2 {
		t.Fatalf("after a broken reload: %d matches, want the previous 2", len(got))
	}

	// Removed files: gone from the set.
	os.Remove(filepath.Join(dir, "c.yml"))
	os.Remove(filepath.Join(dir, "b.yml"))
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := m.Match(login, nil); len(got) != 1 {
		t.Fatalf("after removing a rule: %d matches, want 1", len(got))
	}
}

func TestManagerRejectsInvalidAtStart(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.yml", "title: x\ndetection:\n  condition: [\n")
	if _, err := NewManager(ManagerConfig{Dir: dir, Log: zerolog.Nop()}); err == nil {
		t.Fatal("invalid rule directory accepted at start-up")
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	// Distinct mtimes are not needed: Reload is called explicitly.
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func decodeEvent(t *testing.T, raw string) *contract.Event {
	t.Helper()
	ev, err := (&contract.Decoder{Now: func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }}).Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return &ev
}

func TestLint(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.yml", "title: Bad\nid: 22222222-2222-4222-8222-222222222222\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel: {event_type: auth.login}\n  condition: sel and missing\n")
	write(t, dir, "typo.yml", "title: Typo\nid: 33333333-3333-4333-8333-333333333333\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel:\n    actor.usr: root\n  condition: sel\n")
	write(t, dir, "badre.yml", "title: Re\nid: 44444444-4444-4444-8444-444444444444\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel:\n    script.command|re: '(unclosed'\n  condition: sel\n")
	findings, err := Lint(dir, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Severity{"bad.yml:7": SeverityError, "typo.yml:7": SeverityWarning, "badre.yml:7": SeverityError}
	got := map[string]Severity{}
	for _, f := range findings {
		got[filepath.Base(f.Pos.File)+":"+itoa(f.Pos.Line)] = f.Severity
		if f.Pos.Line == 0 {
			t.Errorf("finding without a line: %s", f)
		}
	}
	for k, sev := range want {
		if got[k] != sev {
			t.Errorf("want %s at %s, findings: %v", sev, k, findings)
		}
	}
	clean, err := Lint("msp", engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	needsRegistry := 0
	for _, f := range clean {
		if f.Severity == SeverityInfo && strings.Contains(f.Msg, "needs the registry") {
			needsRegistry++
			continue
		}
		t.Errorf("shipped pack has a lint finding: %v", f)
	}
	if needsRegistry < 5 {
		t.Errorf("%d rules noted as needing the registry, want the 5 of msp/registry", needsRegistry)
	}
}

// context.* names are checked against the registry's fields, and a rule
// using them is noted as needing the registry.
func TestLintContextFields(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ctx.yml", "title: Ctx\nid: 77777777-7777-4777-8777-777777777777\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel:\n    context.tool_aproved: false\n    context.tenant_contracted: true\n  condition: sel\n")
	findings, err := Lint(dir, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var warned, noted bool
	for _, f := range findings {
		switch {
		case f.Severity == SeverityWarning && f.Pos.Line == 7 && strings.Contains(f.Msg, `"context.tool_aproved" is not a registry context field`):
			warned = true
		case f.Severity == SeverityInfo && f.Pos.Line == 8 && strings.Contains(f.Msg, "needs the registry: reads context.tenant_contracted"):
			noted = true
		default:
			t.Errorf("unexpected finding %s", f)
		}
	}
	if !warned || !noted {
		t.Errorf("want a warning for the misspelt field and a needs-the-registry note; got %v", findings)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Rule tests see a directory as the detector does: a filter file tunes a
// rule in another file.
func TestRuleTestsApplyFiltersAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "login.yml", `title: Login
id: 55555555-5555-4555-8555-555555555555
level: low
logsource: {product: msp, category: remote_session}
detection:
  sel: {event_type: auth.login}
  condition: sel
`)
	write(t, dir, "login.tests.yml", `match:
  - {event_type: auth.login, time: "2026-11-20T10:00:00Z", msp: m, tool: x, actor: {user: jdoe}}
no_match:
  - {event_type: auth.login, time: "2026-11-20T10:00:00Z", msp: m, tool: x, actor: {user: svc-backup}}
`)
	write(t, dir, "tuning.yml", `title: Ignore the backup service account
filter:
  rules: [55555555-5555-4555-8555-555555555555]
  selection: {actor.user: svc-backup}
  condition: not selection
logsource: {product: msp}
`)
	results, err := Test([]string{dir}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !results[0].Passed() {
		t.Fatalf("want the filtered rule to pass its tests, got %+v", results)
	}
	findings, err := Lint(dir, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Severity == SeverityError {
			t.Errorf("lint of a directory with a cross-file filter: %s", f)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "r.yml", `title: Election tenant touched
id: 66666666-6666-4666-8666-666666666666
level: low
logsource: {product: msp}
detection:
  sel: {tenant|expand: '%ElectionTenants%'}
  condition: sel
`)
	if _, errs := Load(Source{Path: dir}, engine.Config{}); len(errs) == 0 || !strings.Contains(errs[0].Error(), "ElectionTenants") {
		t.Fatalf("unresolved placeholder: want an error naming it, got %v", errs)
	}
	pf := filepath.Join(t.TempDir(), "placeholders.yml")
	os.WriteFile(pf, []byte("ElectionTenants: [county-elections-ks, 'city-*']\n"), 0o644)
	values, err := LoadPlaceholders(pf)
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := Load(Source{Path: dir}, engine.Config{Placeholders: values})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ev := decodeEvent(t, `{"event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"city-water","tool":"x","actor":{"user":"u"}}`)
	if len(rs.Match(ev, nil)) != 1 {
		t.Fatal("placeholder value with a wildcard did not match")
	}
}
