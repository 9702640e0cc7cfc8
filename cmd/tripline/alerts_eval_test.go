package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const evalPushRule = `title: Unsigned push
id: aaaaaaaa-0000-4000-8000-000000000001
level: high
logsource: {product: msp}
detection:
  sel: {event_type: software.push, package.signed: false}
  condition: sel
tripline:
  alert:
    group_by: [msp, package.sha256]
`

const evalLoginRules = `title: Login without MFA
id: aaaaaaaa-0000-4000-8000-000000000002
level: medium
logsource: {product: msp}
detection:
  sel: {event_type: auth.login, actor.mfa: false}
  condition: sel
---
title: Many logins without MFA
id: aaaaaaaa-0000-4000-8000-000000000003
level: high
correlation:
  type: event_count
  rules: [aaaaaaaa-0000-4000-8000-000000000002]
  group-by: [actor.user]
  timespan: 1h
  generate: true
  condition: {gte: 3}
`

func evalAlertEvents() []string {
	const sha = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
	var lines []string
	// A push of one unsigned package to 12 tenants by one technician.
	for i := range 12 {
		lines = append(lines, fmt.Sprintf(`{"event_id":"p%02d","event_type":"software.push","time":"2026-11-20T10:%02d:00Z","msp":"m","tenant":"t%02d","tool":"kaseya-vsa","actor":{"user":"tech"},"package":{"name":"agent","sha256":"%s","signed":false}}`, i, i, i, sha))
	}
	// Logins without MFA: three in a row by jdoe at t1 (and a
	// correlation), one at t2, one the next day.
	for i, l := range []struct{ tenant, time string }{
		{"t1", "2026-11-20T09:00:00Z"}, {"t1", "2026-11-20T09:10:00Z"}, {"t1", "2026-11-20T09:20:00Z"},
		{"t2", "2026-11-20T12:00:00Z"}, {"t1", "2026-11-21T09:00:00Z"},
	} {
		lines = append(lines, fmt.Sprintf(`{"event_id":"l%d","event_type":"auth.login","time":%q,"msp":"m","tenant":%q,"tool":"screenconnect","actor":{"user":"jdoe","mfa":false},"outcome":"success"}`, i, l.time, l.tenant))
	}
	return lines
}

func runEvalAlerts(t *testing.T, rules string, lines []string) ([]map[string]any, string) {
	t.Helper()
	events := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rules", "eval", "--rules", rules, "--events", events, "--alerts"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var o map[string]any
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		out = append(out, o)
	}
	return out, stdout.String()
}

func TestRulesEvalAlerts(t *testing.T) {
	rules := t.TempDir()
	for name, content := range map[string]string{"push.yml": evalPushRule, "logins.yml": evalLoginRules} {
		if err := os.WriteFile(filepath.Join(rules, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lines := evalAlertEvents()
	out, text := runEvalAlerts(t, rules, lines)
	pinned := []string{"alert_id", "fingerprint", "rule_id", "rule_title", "level", "msp", "tenant", "group",
		"first_time", "last_time", "count", "event_ids", "incident_id"}
	type row struct {
		rule, tenant string
		count        float64
		events       int
	}
	var got []row
	for _, o := range out {
		var keys []string
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := slices.Sorted(slices.Values(pinned)); !slices.Equal(keys, want) {
			t.Fatalf("alert fields %v, want %v", keys, want)
		}
		got = append(got, row{o["rule_id"].(string)[len("aaaaaaaa-0000-4000-8000-00000000000"):], o["tenant"].(string), o["count"].(float64), len(o["event_ids"].([]any))})
	}
	// By first time: jdoe's logins at t1 (3, and the correlation), the
	// push (12 tenants, one alert), jdoe at t2, jdoe at t1 the next day.
	want := []row{{"2", "t1", 3, 3}, {"3", "t1", 1, 3}, {"1", "t00", 12, 12}, {"2", "t2", 1, 1}, {"2", "t1", 1, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("alerts %+v, want %+v\n%s", got, want, text)
	}
	push := out[2]
	if g := push["group"].(map[string]any); len(g) != 2 || g["msp"] != "m" || g["package.sha256"] == "" {
		t.Errorf("push group %v", g)
	}
	if push["first_time"] != "2026-11-20T10:00:00Z" || push["last_time"] != "2026-11-20T10:11:00Z" {
		t.Errorf("push times %v %v", push["first_time"], push["last_time"])
	}
	// jdoe's alerts of the first day share an incident; the push is its
	// package's.
	if out[0]["incident_id"] != out[1]["incident_id"] || out[0]["incident_id"] != out[3]["incident_id"] ||
		out[0]["incident_id"] == push["incident_id"] || out[0]["incident_id"] == out[4]["incident_id"] {
		t.Errorf("incidents: %v %v %v %v %v", out[0]["incident_id"], out[1]["incident_id"], push["incident_id"], out[3]["incident_id"], out[4]["incident_id"])
	}

	// The same events in reverse order: the same alerts, byte for byte.
	slices.Reverse(lines)
	if _, again := runEvalAlerts(t, rules, lines); again != text {
		t.Errorf("reversed input gives other alerts:\n%s\nwant\n%s", again, text)
	}
}
