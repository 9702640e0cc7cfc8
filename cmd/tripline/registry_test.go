package main

import (
	"bytes"
	"context"
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
