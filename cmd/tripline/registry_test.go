package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryLint(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"registry", "lint", "../../deployments/registry.example.yml"}, &stdout, &stderr); code != 0 {
		t.Fatalf("example registry: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	bad := filepath.Join(t.TempDir(), "reg.yml")
	os.WriteFile(bad, []byte("msps:\n  - id: a\n    tenants:\n      - id: t\n        maintenance: [{days: [fri], from: \"18:00\", to: \"25:00\"}]\n"), 0o644)
	stdout.Reset()
	if code := run(context.Background(), []string{"registry", "lint", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("broken registry: exit %d, want 1", code)
	}
	if !strings.Contains(stdout.String(), "reg.yml:5:56: to:") {
		t.Errorf("lint output lacks file:line:col:\n%s", stdout.String())
	}
	if code := run(context.Background(), []string{"registry"}, &stdout, &stderr); code != 2 {
		t.Errorf("no subcommand: exit %d, want 2", code)
	}
}

// TestRulesEvalWithRegistry: rules eval derives context.* from --registry as
// ingest does, replacing whatever context the input carried, so registry
// rules can be tried offline; without --registry they stay silent.
func TestRulesEvalWithRegistry(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	// anydesk is not approved at acme-corp (ninjaone everywhere, screenconnect
	// there); the input's own context claims it is, and must not be trusted.
	line := `{"event_id":"s1","event_type":"session.start","time":"2026-11-20T15:00:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"anydesk","actor":{"user":"jdoe@northwind-msp.example"},"context":{"tool_approved":true,"tenant_contracted":true}}`
	if err := os.WriteFile(events, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eval := func(extra ...string) []evalOutput {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"rules", "eval", "--events", events}, extra...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		var out []evalOutput
		for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			if l == "" {
				continue
			}
			var o evalOutput
			if err := json.Unmarshal([]byte(l), &o); err != nil {
				t.Fatalf("output line %q: %v", l, err)
			}
			out = append(out, o)
		}
		return out
	}
	titles := func(out []evalOutput) []string {
		var ts []string
		for _, o := range out {
			ts = append(ts, o.RuleTitle)
		}
		return ts
	}
	unapproved := func(out []evalOutput) bool {
		for _, o := range out {
			if strings.Contains(strings.ToLower(o.RuleTitle), "not approved") || strings.Contains(strings.ToLower(o.RuleTitle), "unapproved") {
				return true
			}
		}
		return false
	}
	if out := eval(); unapproved(out) {
		t.Fatalf("without a registry the input's own context says approved; got %v", titles(out))
	}
	if out := eval("--registry", "../../deployments/registry.example.yml"); !unapproved(out) {
		t.Fatalf("with the registry, anydesk at acme-corp is unapproved: want that detection, got %v", titles(out))
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rules", "eval", "--events", events, "--registry", "/nonexistent.yml"}, &stdout, &stderr); code == 0 {
		t.Error("a missing registry file must fail rules eval")
	}
}

// TestSimulateRegistryOut: `simulate --registry-out` writes the simulated
// world's registry, the same with or without events; it lints clean, and
// with it rules eval sees the shadow-rmm attack's tool as unapproved while
// the benign traffic stays clean of registry detections.
func TestSimulateRegistryOut(t *testing.T) {
	dir := t.TempDir()
	reg, alone, events := filepath.Join(dir, "reg.yml"), filepath.Join(dir, "alone.yml"), filepath.Join(dir, "events.jsonl")
	var stdout, stderr bytes.Buffer
	common := []string{"simulate", "--seed", "7", "--msps", "2", "--tenants", "6", "--start", "2026-11-10T14:00:00Z"}
	if code := run(context.Background(), append(common, "--events", "4000", "--scenario", "shadow-rmm", "--out", events, "--registry-out", reg), &stdout, &stderr); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), append(common, "--registry-out", alone), &stdout, &stderr); code != 0 {
		t.Fatalf("simulate --registry-out alone: exit %d: %s", code, stderr.String())
	}
	a, _ := os.ReadFile(reg)
	b, _ := os.ReadFile(alone)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("registry with events (%d bytes) and alone (%d bytes) differ", len(a), len(b))
	}
	if code := run(context.Background(), []string{"registry", "lint", reg}, &stdout, &stderr); code != 0 {
		t.Fatalf("registry lint: exit %d\n%s", code, stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"rules", "eval", "--registry", reg, "--events", events, "--rules", "../../rules/msp/registry"}, &stdout, &stderr); code != 0 {
		t.Fatalf("rules eval: exit %d: %s", code, stderr.String())
	}
	// Each detection names its event's input line: whose event it was.
	lines := strings.Split(string(mustRead(t, events)), "\n")
	actorAt := func(line int) string {
		var ev struct {
			Actor struct {
				User string `json:"user"`
			} `json:"actor"`
		}
		if line < 1 || line > len(lines) || json.Unmarshal([]byte(lines[line-1]), &ev) != nil {
			t.Fatalf("detection names line %d of %d", line, len(lines))
		}
		return ev.Actor.User
	}
	attacker := map[string]bool{}
	var other []evalOutput
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var o evalOutput
		if l == "" {
			continue
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(o.RuleTitle, "Not Approved") {
			attacker[actorAt(o.Line)] = true
		} else {
			other = append(other, o)
		}
	}
	if len(attacker) == 0 {
		t.Errorf("shadow-rmm's sessions are not flagged as an unapproved tool; other detections: %d", len(other))
	}
	for _, o := range other {
		// The shadow tool's user is unknown to the registry and works at
		// night on a critical server: those rules may fire on its sessions
		// too, but on nobody else's.
		if a := actorAt(o.Line); !attacker[a] {
			t.Errorf("registry detection on benign simulated traffic: %s (actor %q, line %d)", o.RuleTitle, a, o.Line)
		}
	}
	if code := run(context.Background(), []string{"simulate", "--registry-out", reg, "--out", events, "--brokers", "x:9092"}, &stdout, &stderr); code != 2 {
		t.Errorf("--out and --brokers together: exit %d, want 2", code)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
