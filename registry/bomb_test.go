package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/tripline/tripline/atomicfile"
)

// registryBomb is issue 10's registry: one tenant list of n ids anchored
// on the first MSP and aliased by msps-1 others. With 1,999 MSPs and 2,000
// ids it is 72 KB that used to load as "ok (4000000 tenants)" at 1.06 GB.
func registryBomb(msps, n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nmsps:\n  - id: m0\n    tenants: &t [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "t%d", i)
	}
	b.WriteString("]\n")
	for i := 1; i < msps; i++ {
		fmt.Fprintf(&b, "  - {id: m%d, tenants: *t}\n", i)
	}
	return b.String()
}

func TestParseLimits(t *testing.T) {
	// A flow list: one token per node, so the node limit is what fails.
	var plain strings.Builder
	plain.WriteString("msps:\n  - id: a\n    tenants: [t")
	for i := 0; i <= FileLimits.MaxNodes; i++ {
		fmt.Fprintf(&plain, ", t%d", i)
	}
	plain.WriteString("]\n")
	for _, tc := range []struct {
		name, doc string
		err       string // "" for a valid registry
	}{
		{name: "shared window through an alias", doc: "msps:\n  - id: a\n    tz: UTC\n    tenants:\n" +
			"      - {id: t1, maintenance: &w [{days: [sat], from: \"01:00\", to: \"05:00\"}]}\n" +
			"      - {id: t2, maintenance: *w}\n"},
		{name: "alias bomb", doc: registryBomb(1999, 2000), err: "bomb.yml:103:24: YAML aliases expand the registry past 200000 nodes"},
		{name: "too many tenants", doc: plain.String(), err: "registry has more than 200000 YAML nodes"},
		{name: "flat list past the token check", doc: "msps:\n  - id: a\n    tenants: [" + strings.Repeat("t,", 2*FileLimits.MaxNodes) + "t]\n",
			err: "bomb.yml:3:1: registry holds more than 400000 YAML tokens by this line, too many for its limit of 200000 nodes"},
		{name: "self-containing alias", doc: "version: 1\nmsps: &a [*a]\n", err: "bomb.yml:2:11: alias *a refers to a node that contains it"},
		{name: "two documents", doc: "msps: [{id: a, tenants: [t]}]\n---\nmsps: []\n", err: "bomb.yml:2:1: registry has more than 1 YAML documents"},
		{name: "too deep", doc: "msps: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", err: "YAML nesting deeper than 32 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := Parse([]byte(tc.doc), "bomb.yml")
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed %d MSPs and %d tenants, want error %q", reg.MSPs(), reg.Tenants(), tc.err)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestWatcherRejectsAliasBomb drops the registry bomb on a watched file:
// the reload fails in milliseconds without the memory the expansion would
// take, and the previous registry keeps enriching events.
func TestWatcherRejectsAliasBomb(t *testing.T) {
	file := filepath.Join(t.TempDir(), "registry.yml")
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	w, err := NewWatcher(WatchConfig{File: file, PollInterval: 5 * time.Millisecond, Log: zerolog.New(&logs), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	first := w.Registry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	bomb := registryBomb(1999, 2000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	// Replaced atomically: the watcher polls every 5 ms and would
	// otherwise catch the file truncated and empty, mid-write.
	if err := atomicfile.Write(file, []byte(bomb), 0o644); err != nil {
		t.Fatal(err)
	}
	for metricValue(w.reloads.WithLabelValues("error")) == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the bomb was not rejected; logs:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte registry bomb rejected by the watcher in %s; %d KiB allocated meanwhile", len(bomb), took, alloc>>10)
	if alloc > 50<<20 {
		t.Errorf("rejecting the bomb allocated %d MiB, want < 50", alloc>>20)
	}
	if w.Registry() != first {
		t.Fatal("the bomb replaced the registry")
	}
	if !strings.Contains(logs.String(), "registry.yml:103:24: YAML aliases expand the registry past 200000 nodes") {
		t.Errorf("the rejection log does not name file:line:col and the limit:\n%s", logs.String())
	}
	if err := w.Reload(); err == nil || !strings.Contains(err.Error(), "YAML aliases expand the registry") {
		t.Errorf("Reload() = %v, want the limit error", err)
	}
	ev := event(t, `{"event_type":"session.start","time":"2026-11-24T15:00:00Z","msp":"msp-a","tenant":"acme","tool":"ninjaone","actor":{"user":"jdoe"}}`)
	if c := w.Context(ev); c == nil || c.TenantContracted == nil || !*c.TenantContracted {
		t.Error("the previous registry no longer enriches events")
	}
}
