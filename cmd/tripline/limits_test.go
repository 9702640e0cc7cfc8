package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline/tripline/contract"
)

// TestRulesEvalSkipsLongLine: a line over the 1 MiB message limit is
// skipped with its number; the lines before and after it are evaluated
// (bufio.Scanner used to end the whole run with "token too long").
func TestRulesEvalSkipsLongLine(t *testing.T) {
	// Two accounts: the no-MFA rule fires once per account, tool and
	// network.
	login := `{"event_id":"%s","event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"screenconnect","actor":{"user":"%s","mfa":false},"outcome":"success"}`
	long := `{"x":"` + strings.Repeat("a", contract.MaxMessageBytes) + `"}`
	events := filepath.Join(t.TempDir(), "events.jsonl")
	in := strings.Join([]string{fmt.Sprintf(login, "e1", "jdoe"), long, fmt.Sprintf(login, "e3", "asmith")}, "\n") + "\n"
	if err := os.WriteFile(events, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rules", "eval", "--events", events}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := events + ":2: skipped: line of 1048584 bytes exceeds the 1 MiB limit"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"e1"`) || !strings.Contains(stdout.String(), `"e3"`) {
		t.Errorf("the events around the long line were not both evaluated:\n%s", stdout.String())
	}
}

// TestRulesLintDuplicateAcrossArguments: `rules lint a b` checks a and b
// as one set, so a name used in both is an error naming both files.
func TestRulesLintDuplicateAcrossArguments(t *testing.T) {
	rule := func(id string) string {
		return "title: t\nid: " + id + "\nname: shared\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel: {event_type: auth.login}\n  condition: sel\n"
	}
	a, b := filepath.Join(t.TempDir(), "a.yml"), filepath.Join(t.TempDir(), "b.yml")
	os.WriteFile(a, []byte(rule("r1")), 0o644)
	os.WriteFile(b, []byte(rule("r2")), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rules", "lint", a, b}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stdout.String())
	}
	if want := b + `:3:7: error: rule name "shared" is also the name of the rule at ` + a + ":3:7"; !strings.Contains(stdout.String(), want) {
		t.Errorf("lint output lacks %q:\n%s", want, stdout.String())
	}
}
