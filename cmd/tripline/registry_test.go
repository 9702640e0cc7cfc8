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
