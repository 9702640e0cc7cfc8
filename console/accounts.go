package console

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/reload"
)

// accountFile is one re-readable accounts file (users or API tokens):
// its path, what it was when last read, and how to install a new one.
type accountFile struct {
	what    string // "users", "tokens"
	path    string
	install func(data []byte) error
	// stamp identifies the version last read (modification time and
	// size): a poll re-reads only when it changes.
	stamp string
}

func stampOf(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size()), nil
}

// AccountsStatus is the outcome of the last re-read of the accounts
// files, shown to admins on the rule health page.
type AccountsStatus struct {
	At  time.Time
	Err string
}

// accounts re-reads the users and tokens files.
type accounts struct {
	files []*accountFile

	mu   sync.Mutex
	last AccountsStatus
}

func (s *Server) newAccounts() (*accounts, error) {
	a := &accounts{}
	if p := s.cfg.UsersFile; p != "" {
		a.files = append(a.files, &accountFile{what: "users", path: p, install: func(data []byte) error {
			us, err := ParseUsers(data, p)
			if err != nil {
				return err
			}
			s.users.Store(us)
			return nil
		}})
	}
	if p := s.cfg.TokensFile; p != "" {
		a.files = append(a.files, &accountFile{what: "tokens", path: p, install: func(data []byte) error {
			ts, err := api.ParseTokens(data, p)
			if err != nil {
				return err
			}
			s.cfg.API.SetTokens(ts)
			return nil
		}})
	}
	// What was read at start is the baseline: the first poll re-reads
	// only a file changed since.
	for _, f := range a.files {
		st, err := stampOf(f.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.what, err)
		}
		f.stamp = st
	}
	return a, nil
}

// changed reports whether any file's stamp moved (a missing file counts:
// its re-read reports the error).
func (a *accounts) changed() bool {
	for _, f := range a.files {
		if st, err := stampOf(f.path); err != nil || st != f.stamp {
			return true
		}
	}
	return false
}

// reread reads every file whose stamp moved (all of them on force, a
// SIGHUP) and installs the valid ones; an invalid or unreadable file
// leaves the accounts read before in force. Only Serve's watch goroutine
// calls it.
func (s *Server) reread(a *accounts, force bool) error {
	var errs []error
	for _, f := range a.files {
		st, err := stampOf(f.path)
		if err == nil && st == f.stamp && !force {
			continue
		}
		var data []byte
		if err == nil {
			data, err = os.ReadFile(f.path)
		}
		if err == nil {
			err = f.install(data)
		}
		if err != nil {
			// Parse errors name file:line and never echo a hash or a
			// token; the stamp is kept so that each change is reported
			// once, not at every poll.
			errs = append(errs, fmt.Errorf("%s file not reloaded, the previous one stays in force: %w", f.what, err))
			s.cfg.Log.Error().Err(err).Str("file", f.path).Msg("console " + f.what + " file rejected; the previous one stays in force")
		} else {
			s.cfg.Log.Info().Str("file", f.path).Msg("console " + f.what + " file reloaded")
		}
		f.stamp = st
	}
	err := errors.Join(errs...)
	a.mu.Lock()
	a.last = AccountsStatus{At: s.now().UTC()}
	if err != nil {
		a.last.Err = err.Error()
	}
	a.mu.Unlock()
	return err
}

// watchAccounts re-reads the accounts files on SIGHUP (hup in tests)
// and when a poll every `every` finds them changed, until ctx is done.
func (s *Server) watchAccounts(ctx context.Context, a *accounts, every time.Duration, hup <-chan os.Signal) {
	if len(a.files) == 0 {
		return
	}
	reload.Loop(ctx, every, hup, a.changed, func(r reload.Reason) { _ = s.reread(a, r == reload.Signal) })
}

// AccountsStatus returns the outcome of the last re-read (zero before
// the first).
func (s *Server) AccountsStatus() AccountsStatus {
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	return s.acct.last
}
