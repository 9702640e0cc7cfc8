package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tripline/tripline/api"
)

// ServeOptions say how Serve serves.
type ServeOptions struct {
	// TLSCert and TLSKey, both set, serve HTTPS.
	TLSCert, TLSKey string
	// Shutdown is how long a cancelled ctx waits for requests in flight
	// (default 10 s).
	Shutdown time.Duration
	// RuleWatch is how often the rule pack is checked for changes
	// (default a minute).
	RuleWatch time.Duration
	// AccountsWatch is how often the users and tokens files are checked
	// for changes (default 5 s: a stat each).
	AccountsWatch time.Duration
	// Hup replaces SIGHUP, which re-reads the users and tokens files
	// (tests send on it).
	Hup <-chan os.Signal
}

// Serve serves the console on ln until ctx is cancelled, then shuts down
// gracefully. It owns the watchers of the rule pack and of the users and
// tokens files for as long as it serves.
// `tripline console` and `tripline demo` both serve through it.
func (s *Server) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	if o.Shutdown <= 0 {
		o.Shutdown = 10 * time.Second
	}
	if o.RuleWatch <= 0 {
		o.RuleWatch = time.Minute
	}
	if o.AccountsWatch <= 0 {
		o.AccountsWatch = 5 * time.Second
	}
	srv := api.NewHTTPServer(ln.Addr().String(), s.Handler())
	wctx, stopWatch := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	watchers.Go(func() { s.cfg.Rules.Watch(wctx, o.RuleWatch) })
	watchers.Go(func() { s.watchAccounts(wctx, s.acct, o.AccountsWatch, o.Hup) })
	defer func() { stopWatch(); watchers.Wait() }()
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.Shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
