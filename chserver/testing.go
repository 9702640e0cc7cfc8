package chserver

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
)

// inCI reports whether a missing ClickHouse must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// ForTest starts a server for one test and stops it in tb.Cleanup. Without a
// ClickHouse binary the test is skipped with the install hint, or fails when
// CI=true; under -short it is skipped, as an integration test. When the test
// failed, the tail of the server log is logged before the directory is
// removed.
func ForTest(tb testing.TB) *Server {
	tb.Helper()
	skipShort(tb)
	srv, err := Start(context.Background(), Options{})
	if err != nil {
		skipOrFatal(tb, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("clickhouse log tail (%s):\n%s", srv.LogPath(), srv.logTail())
		}
		if err := srv.Stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return srv
}

func skipShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping under -short: needs a ClickHouse server")
	}
}

func skipOrFatal(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNotFound) && !inCI() {
		tb.Skipf("skipping: needs a ClickHouse server binary: %v", err)
	}
	tb.Fatalf("%v", err)
}

// Shared is one server shared by all tests of a package: started by the
// first Get, stopped by Run once the tests are done. Declare it as a
// package-level variable in a _test.go file and call Run from TestMain (see
// the package documentation). The zero value is ready to use; Options may be
// set before the first Get.
type Shared struct {
	Options Options

	once sync.Once
	mu   sync.Mutex
	srv  *Server
	err  error
}

// Get returns the shared server, starting it on first use. Like ForTest it
// skips under -short and skips (or fails under CI=true) when the binary is
// missing; a failed start fails every test that asks, without retrying.
func (s *Shared) Get(tb testing.TB) *Server {
	tb.Helper()
	skipShort(tb)
	s.once.Do(func() {
		srv, err := Start(context.Background(), s.Options)
		s.mu.Lock()
		s.srv, s.err = srv, err
		s.mu.Unlock()
	})
	if s.err != nil {
		skipOrFatal(tb, s.err)
	}
	return s.srv
}

// Run runs the tests and then stops the server if one was started, returning
// the exit code for os.Exit. A failing Stop turns a passing run into a
// failing one: leaking a server is a bug.
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	if err := s.Stop(); err != nil {
		os.Stderr.WriteString("chserver: " + err.Error() + "\n")
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Stop stops the shared server if it was started. Run calls it; call it
// directly only from a custom TestMain.
func (s *Shared) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	return s.srv.Stop()
}
