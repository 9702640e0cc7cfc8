package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/sigmahq/sigmahqtest"
)

// TestRulesEvalSigmaHQ: `rules eval --sigmahq` raises the listed SigmaHQ
// rules' detections on pushed scripts, warns about a listed rule it
// skips, and says clearly when the checkout is missing.
func TestRulesEvalSigmaHQ(t *testing.T) {
	corpus := sigmahqtest.Corpus(t)
	dir := t.TempDir()
	list := "windows/process_creation/proc_creation_win_susp_shadow_copies_deletion.yml c947b146-0abc-4c87-9c64-b17e9d7274a2\n" +
		"windows/process_creation/proc_creation_win_gone.yml\n"
	events := `{"event_type":"script.run","time":"2026-11-22T08:10:00Z","msp":"m","tenant":"t","tool":"kaseya-vsa","actor":{"user":"u"},"script":{"interpreter":"cmd","command":"vssadmin delete shadows /all /quiet"}}
{"event_type":"script.run","time":"2026-11-22T08:11:00Z","msp":"m","tenant":"t","tool":"kaseya-vsa","actor":{"user":"u"},"script":{"interpreter":"cmd","command":"vssadmin list shadows"}}
`
	for name, data := range map[string]string{"sigmahq.txt": list, "events.jsonl": events} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		sigmahq   string
		wantErr   bool
		wantRules []string
		stderr    string
	}{
		{"on", corpus, false, []string{"c947b146-0abc-4c87-9c64-b17e9d7274a2"}, "warning: " + filepath.Join(dir, "sigmahq.txt") + ":2:1: SigmaHQ rule windows/process_creation/proc_creation_win_gone.yml skipped: not in the checkout"},
		{"off", "", false, nil, ""},
		{"missing checkout", filepath.Join(dir, "nope"), true, nil, "SigmaHQ corpus not found at " + filepath.Join(dir, "nope")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TRIPLINE_SIGMAHQ", "")
			var stdout, stderr bytes.Buffer
			args := []string{"eval", "--rules", dir, "--events", filepath.Join(dir, "events.jsonl"), "--sigmahq", tc.sigmahq}
			err := runRules(context.Background(), args, &stdout, &stderr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v; stderr:\n%s", err, tc.wantErr, stderr.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if line == "" {
					continue
				}
				var out evalOutput
				if err := json.Unmarshal([]byte(line), &out); err != nil {
					t.Fatal(err)
				}
				got = append(got, out.RuleID)
			}
			if !slices.Equal(got, tc.wantRules) {
				t.Errorf("detections of %v, want %v", got, tc.wantRules)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}

// TestDemoSigmaHQ: `tripline demo --sigmahq DIR` runs the pack with the
// SigmaHQ subset it lists, as the quality tests measure it, and the
// Kaseya-style procedure's certutil decode is reported by SigmaHQ's rule.
func TestDemoSigmaHQ(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse")
	}
	corpus := sigmahqtest.Corpus(t)
	if _, err := chserver.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Setenv("TRIPLINE_SIGMAHQ", "")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--events", "8000", "--exit", "--sigmahq", corpus}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		`rules loaded from the embedded pack, with the SigmaHQ rules it lists from ` + regexp.QuoteMeta(corpus),
		`[1-9]\d*\s+\w+\s+File Decoded From Base64/Hex Via Certutil\.EXE`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
