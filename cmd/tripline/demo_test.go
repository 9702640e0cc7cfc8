package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/tripline/tripline/chserver"
)

// The demo is the README's first command: it must run to completion on
// embedded defaults and show the injected attacks.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse")
	}
	if _, err := chserver.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--events", "8000"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		`events ingested:\s+8000 `,
		`dead letters:\s+5`,
		`[1-9]\d*\s+critical\s+Pushed Script Disables or Blinds Microsoft Defender`,
		`[1-9]\d*\s+medium\s+RMM Console Login Without MFA`,
		`clickhouse-client --host 127\.0\.0\.1 --port \d+`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`detections:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no detections line:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("demo raised no detections")
	}
}
