package adapt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// TestFormatsWatcherReload: an edited mapping file replaces the set; an
// invalid edit is rejected with its file:line and the previous set keeps
// converting.
func TestFormatsWatcherReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "acme.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1 := "format: acme\ntime: {path: ts}\nfields: {tenant: {path: c}, actor.user: {path: u}}\nrules:\n  - type: session.start\n"
	write(v1)
	var logMu sync.Mutex
	var logBuf strings.Builder
	log := zerolog.New(zerolog.SyncWriter(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logBuf.Write(p)
	})))
	w, err := NewFormatsWatcher(WatchConfig{Files: []string{file}, PollInterval: 10 * time.Millisecond, Log: log, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	w.hup = make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Watch(ctx) })
	defer func() { cancel(); wg.Wait() }()

	rec := []byte(`{"ts":"2026-11-20T10:00:00Z","c":"acme:1","u":"jane"}`)
	typeOf := func() string {
		a, ok := w.Get("acme")
		if !ok {
			return "no format"
		}
		var got string
		_ = a.Convert(rec, testMSP, func(o Out) error {
			if o.Event != nil {
				got = strings.Clone(o.Event.EventType) // valid until emit returns
			} else {
				got = "not an event"
			}
			return nil
		})
		return got
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for typeOf() != want {
			if time.Now().After(deadline) {
				t.Fatalf("type %q, want %q", typeOf(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("session.start")
	write(strings.Replace(v1, "session.start", "session.end", 1))
	waitFor("session.end")
	write(strings.Replace(v1, "session.start", "session.ended", 1))
	deadline := time.Now().Add(5 * time.Second)
	for {
		logMu.Lock()
		s := logBuf.String()
		logMu.Unlock()
		if strings.Contains(s, "acme.yaml:5:11: event_type: \\\"session.ended\\\" is not a contract v1 event type") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no file:line error logged:\n%s", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := typeOf(); got != "session.end" {
		t.Fatalf("after a bad reload the format converts to %q, want the previous session.end", got)
	}
	if err := w.Reload(); err == nil {
		t.Fatal("Reload of a bad file succeeded")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
