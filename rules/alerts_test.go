package rules

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

const pushRule = `title: Push
id: 55555555-5555-4555-8555-555555555555
level: high
logsource: {product: msp}
detection:
  sel: {event_type: software.push}
  condition: sel
tripline:
  alert:
    group_by: [msp, package.sha256]
    window: 2h
    mute_in_maintenance: true
`

const loginCorrelation = `title: Many logins
id: 66666666-6666-4666-8666-666666666666
level: medium
correlation:
  type: event_count
  rules: [77777777-7777-4777-8777-777777777777]
  group-by: [actor.user]
  timespan: 10m
  condition: {gte: 3}
---
title: Login
id: 77777777-7777-4777-8777-777777777777
level: low
logsource: {product: msp}
detection:
  sel: {event_type: auth.login}
  condition: sel
`

func TestAlertPoliciesReachTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "push.yml", pushRule)
	write(t, dir, "logins.yml", loginCorrelation)
	b, errs := LoadBundle(Source{Path: dir}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		id   string
		want alert.Policy
	}{
		{"55555555-5555-4555-8555-555555555555", alert.Policy{GroupBy: []string{"msp", "package.sha256"}, Window: 2 * time.Hour, MuteInMaintenance: true}},
		{"66666666-6666-4666-8666-666666666666", alert.Policy{GroupBy: alert.DefaultGroupBy, Window: alert.DefaultWindow, Lag: 10 * time.Minute}},
		{"77777777-7777-4777-8777-777777777777", alert.DefaultPolicy()},
	} {
		got := b.AlertPolicy(tc.id)
		if !slices.Equal(got.GroupBy, tc.want.GroupBy) || got.Window != tc.want.Window || got.Lag != tc.want.Lag || got.MuteInMaintenance != tc.want.MuteInMaintenance {
			t.Errorf("policy of %s = %+v, want %+v", tc.id, got, tc.want)
		}
	}
	if h := b.AlertHold(); h != 24*time.Hour+10*time.Minute {
		t.Errorf("AlertHold = %v", h)
	}
	if alert.MaxWindow != sigma.MaxAlertWindow {
		t.Errorf("alert.MaxWindow %v != sigma.MaxAlertWindow %v", alert.MaxWindow, sigma.MaxAlertWindow)
	}
}

func TestLintAlertBlocks(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "fields.yml", strings.Replace(pushRule, "[msp, package.sha256]", "[msp, package.sha265, attributes.job]", 1))
	write(t, dir, "nomsp.yml", strings.NewReplacer("5555", "8888", "[msp, package.sha256]", "[package.sha256]").Replace(pushRule))
	write(t, dir, "window.yml", strings.NewReplacer("5555", "9999", "window: 2h", "window: 45d").Replace(pushRule))
	write(t, dir, "key.yml", strings.NewReplacer("5555", "aaaa", "mute_in_maintenance", "mute_in_maintenace").Replace(pushRule))
	findings, err := LintPaths([]string{dir}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"fields.yml:10:21": `"package.sha265" is not a field`,
		"nomsp.yml:10:16":  "must include msp",
		"window.yml:11:13": `"45d" exceeds the maximum of 30d`,
		"key.yml:12:5":     `unknown key "mute_in_maintenace"`,
	}
	got := map[string]string{}
	for _, f := range findings {
		if f.Severity == SeverityError {
			got[filepath.Base(f.Pos.File)+":"+itoa(f.Pos.Line)+":"+itoa(f.Pos.Col)] = f.Msg
		}
	}
	for at, msg := range want {
		if !strings.Contains(got[at], msg) {
			t.Errorf("want an error %q at %s; errors: %v", msg, at, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors %v, want exactly %v", got, want)
	}
	// The detector refuses the same set.
	if _, errs := LoadBundle(Source{Path: dir}, engine.Config{}); len(errs) != len(want) {
		t.Errorf("LoadBundle: %v, want %d errors", errs, len(want))
	}
}
