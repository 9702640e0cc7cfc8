package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("TRIPLINE_CLICKHOUSE_DB", "fromenv")
	t.Setenv("TRIPLINE_BATCH_SIZE", "77")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, true)
	if err := parseFlags(fs, []string{"--batch-size", "5"}); err != nil {
		t.Fatal(err)
	}
	if c.database != "fromenv" {
		t.Errorf("database = %q, want the environment's", c.database)
	}
	if c.batchSize != 5 {
		t.Errorf("batch size = %d, want the flag's 5 (flags win over the environment)", c.batchSize)
	}

	t.Setenv("TRIPLINE_BATCH_SIZE", "many")
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	c.register(fs, true)
	if err := parseFlags(fs, nil); err == nil || !strings.Contains(err.Error(), "TRIPLINE_BATCH_SIZE") {
		t.Errorf("bad environment value: want an error naming the variable, got %v", err)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIPLINE_CLICKHOUSE_PASSWORD_FILE", path)
	got, err := secret("CLICKHOUSE_PASSWORD")
	if err != nil || got != "s3cret" {
		t.Fatalf("secret = %q, %v", got, err)
	}
	// Both set is ambiguous, hence an error (TestSecretEnvAndFile).
	t.Setenv("TRIPLINE_CLICKHOUSE_PASSWORD", "direct")
	if got, err := secret("CLICKHOUSE_PASSWORD"); err == nil {
		t.Fatalf("the variable and _FILE both set: got %q, want an error", got)
	}
}

func TestRulesEval(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	lines := []string{
		`{"event_id":"e1","event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"screenconnect","actor":{"user":"jdoe","mfa":false},"outcome":"success"}`,
		`{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"screenconnect","actor":{"user":"jdoe","mfa":true},"outcome":"success"}`,
		`{"CommandLine":"vssadmin delete shadows","Image":"C:\\Windows\\System32\\vssadmin.exe"}`,
		`not json`,
	}
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"rules", "eval", "--events", events, "--stats"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out []evalOutput
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var o evalOutput
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		out = append(out, o)
	}
	if len(out) != 1 || out[0].RuleTitle != "RMM Console Login Without MFA" || len(out[0].EventIDs) != 1 || out[0].EventIDs[0] != "e1" || out[0].Level != "medium" {
		t.Fatalf("want exactly the no-MFA login detection of e1, got %+v", out)
	}
	if !strings.Contains(stderr.String(), "1 unreadable lines") || !strings.Contains(stderr.String(), "MATCHES") {
		t.Errorf("summary or stats missing from stderr:\n%s", stderr.String())
	}
}

func TestRulesTestAndLintExitCodes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rules", "test", "../../rules"}, &stdout, &stderr); code != 0 {
		t.Fatalf("shipped rules fail their tests (exit %d):\n%s%s", code, stdout.String(), stderr.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("title: x\nlogsource: {product: msp}\ndetection:\n  sel: {event_type: auth.login}\n  condition: sel and nope\n"), 0o644)
	stdout.Reset()
	if code := run(context.Background(), []string{"rules", "lint", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("lint of a broken rule: exit %d, want 1", code)
	}
	if !strings.Contains(stdout.String(), "bad.yml:5:") || !strings.Contains(stdout.String(), "error:") {
		t.Errorf("lint output lacks file:line and severity:\n%s", stdout.String())
	}
}
