package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertAndEvalFormat: tripline convert --mapping and rules eval
// --format read vendor files through the same conversion; errors name
// the vendor file's lines; a broken mapping file is reported at file:line.
func TestConvertAndEvalFormat(t *testing.T) {
	const mapping = "../../docs/mappings/kaseya-vsa.yaml"
	const input = "../../adapt/testdata/kaseya-vsa.jsonl"
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("format: acme\ntime: {path: ts}\nrules:\n  - type: script.runs\n"), 0o644)
	// A rule that fires on every script.run, so eval has detections to
	// place on the vendor file's lines.
	rule := filepath.Join(dir, "rule.yml")
	os.WriteFile(rule, []byte(`title: Any procedure
id: 0e0e0e0e-0000-4000-8000-000000000001
status: test
level: low
logsource: {product: msp, category: software_update}
detection:
  sel: {event_type: script.run}
  condition: sel
`), 0o644)
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout string
	}{
		{"convert with the mapping", []string{"convert", "--mapping", mapping, "--format", "kaseya-vsa", "--msp", "msp-a", input}, 1,
			[]string{`"kaseya-vsa.record_id":"118551706373495/2007/2026-11-08T00:30:53.087-08:00"`, `"tool":"kaseya-vsa"`},
			[]string{"line 4: record 0: id 204417337211890/77/2026-11-09T09:05:00Z: actor.user: required", "convert: 4 events, 1 skipped, 3 failed"}, ""},
		{"convert without it", []string{"convert", "--format", "kaseya-vsa", "--msp", "msp-a", input}, 2,
			nil, []string{`unknown format "kaseya-vsa"`}, "event_id"},
		{"convert with a broken mapping", []string{"convert", "--mapping", broken, "--format", "acme", "--msp", "msp-a", input}, 1,
			nil, []string{"broken.yaml:4:11: event_type: \"script.runs\" is not a contract v1 event type"}, "event_id"},
		{"eval a vendor file", []string{"rules", "eval", "--rules", rule, "--events", input, "--mapping", mapping, "--format", "kaseya-vsa", "--msp", "msp-a"}, 0,
			// Detections name the vendor file's lines: 1 (two records), 3 and 7.
			[]string{`"line":1,`, `"line":3,`, `"line":7,`},
			[]string{input + ": line 5: record 0: id 204417337211890/78/", input + ": line 6: record 0:", "kaseya-vsa: 4 events converted, 1 skipped, 3 failed", "4 events (4 MSP contract"}, `"line":2,`},
		{"eval a built-in format", []string{"rules", "eval", "--rules", rule, "--events", "../../adapt/testdata/datto-rmm.jsonl", "--format", "datto-rmm", "--msp", "msp-a"}, 0,
			[]string{`"rule_id":"0e0e0e0e-0000-4000-8000-000000000001"`}, []string{"datto-rmm: "}, ""},
		{"eval --format without --msp", []string{"rules", "eval", "--events", input, "--format", "datto-rmm"}, 2,
			nil, []string{"--msp is required"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), c.args, &out, &errOut)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, c.code, errOut.String())
			}
			for _, w := range c.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %s:\n%s", w, out.String())
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			if c.noStdout != "" && strings.Contains(out.String(), c.noStdout) {
				t.Errorf("stdout has %s:\n%s", c.noStdout, out.String())
			}
		})
	}
}
