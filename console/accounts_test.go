package console

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/triage"
)

// TestAccountsReload: the users and tokens files are re-read while the
// console serves: on a change found by the poll and on SIGHUP; an invalid
// new file is reported with file:line and the previous accounts stay;
// sessions of removed and disabled users, and of changed passwords, end.
func TestAccountsReload(t *testing.T) {
	e := newEnv(t, "t_accounts")
	dir := t.TempDir()
	usersPath, tokensPath := filepath.Join(dir, "users"), filepath.Join(dir, "tokens")
	line := func(name, pw string) string {
		l, err := UserLine(name, RoleAnalyst, "", "", pw)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ana, bob, carol, carol2 := line("ana", analystPW), line("bob", "bob-password-1"), line("carol", "carol-password-1"), line("carol", "carol-password-2")
	secret, tokLine, err := api.NewToken("script", api.RoleViewer, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, tokLine2, err := api.NewToken("other", api.RoleViewer, "", "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(path string, lines ...string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(usersPath, ana, bob)
	write(tokensPath, tokLine)
	users, err := LoadUsers(usersPath)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.LoadTokens(tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	pack, err := NewRulePack("", engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := zerolog.New(logs)
	svc := triage.New(e.st)
	con, err := New(Config{Triage: svc, Store: e.st, Users: users, UsersFile: usersPath, TokensFile: tokensPath,
		API: api.New(svc, tokens, log), Rules: pack, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := con.Serve(ctx, ln, ServeOptions{AccountsWatch: 20 * time.Millisecond, Hup: hup}); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	newBrowser := func() *browser {
		jar, _ := cookiejar.New(nil)
		return &browser{t: t, base: "http://" + ln.Addr().String(), c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	loggedIn := func(b *browser) bool { status, _ := b.get("/queue"); return status == 200 }
	canLogin := func(name, pw string) bool {
		b := newBrowser()
		_, page := b.get("/")
		r, _ := b.do(http.MethodPost, "/login", urlValues("csrf", csrfOf(t, page), "name", name, "password", pw))
		return r.StatusCode == http.StatusSeeOther
	}
	tokenWorks := func() bool {
		r, _ := newBrowser().do(http.MethodGet, "/api/alerts", nil, "Authorization", "Bearer "+secret)
		return r.StatusCode == 200
	}
	// eventually waits for the poll (or the signal) to take effect.
	eventually := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("not within 10 s: %s", what)
	}
	anaB, bobB := newBrowser(), newBrowser()
	anaB.login("ana", analystPW)
	bobB.login("bob", "bob-password-1")
	if !tokenWorks() {
		t.Fatal("the token does not work")
	}
	var carolB *browser

	for _, step := range []struct {
		name  string
		users []string // the new users file; nil leaves it
		toks  []string // the new tokens file; nil leaves it
		// signal: the file is rewritten with its old time and size, so
		// only SIGHUP re-reads it.
		signal bool
		check  func(t *testing.T)
	}{
		{name: "an invalid users file keeps the previous one", users: []string{ana, bob, "# a comment", "dave:not-a-hash:analyst"},
			check: func(t *testing.T) {
				eventually(t, "the rejection is logged", func() bool { return strings.Contains(logs.String(), usersPath+":4: user dave") })
				if st := con.AccountsStatus(); !strings.Contains(st.Err, usersPath+":4:") || strings.Contains(st.Err, "not-a-hash") {
					t.Errorf("status %q: want file:line, no hash field", st.Err)
				}
				if !loggedIn(anaB) || !loggedIn(bobB) || !canLogin("bob", "bob-password-1") {
					t.Error("the previous users stopped working")
				}
			}},
		{name: "a removed user's session ends", users: []string{ana, carol},
			check: func(t *testing.T) {
				eventually(t, "bob's session ends", func() bool { return !loggedIn(bobB) })
				if !loggedIn(anaB) {
					t.Error("ana's session ended too")
				}
				if canLogin("bob", "bob-password-1") || !canLogin("carol", "carol-password-1") {
					t.Error("bob can still log in, or the added carol cannot")
				}
				carolB = newBrowser()
				carolB.login("carol", "carol-password-1")
			}},
		{name: "a changed password ends the user's sessions", users: []string{ana, carol2},
			check: func(t *testing.T) {
				eventually(t, "carol's session ends", func() bool { return !loggedIn(carolB) })
				if canLogin("carol", "carol-password-1") || !canLogin("carol", "carol-password-2") || !loggedIn(anaB) {
					t.Error("the old password still works, or the new one does not, or ana's session ended")
				}
			}},
		{name: "a disabled user's session ends", users: []string{strings.Replace(ana, ":$", ":!$", 1), carol2},
			check: func(t *testing.T) {
				eventually(t, "ana's session ends", func() bool { return !loggedIn(anaB) })
				if canLogin("ana", analystPW) {
					t.Error("a disabled user logs in")
				}
			}},
		{name: "an invalid tokens file keeps the previous one", toks: []string{tokLine, "broken"},
			check: func(t *testing.T) {
				eventually(t, "the rejection is logged", func() bool { return strings.Contains(logs.String(), tokensPath+":2") })
				if !tokenWorks() {
					t.Error("the token stopped working")
				}
			}},
		{name: "a removed token stops working, on SIGHUP", toks: []string{tokLine2}, signal: true,
			check: func(t *testing.T) {
				time.Sleep(100 * time.Millisecond) // five polls
				if !tokenWorks() {
					t.Fatal("the poll re-read a file whose time and size did not change")
				}
				hup <- syscall.SIGHUP
				eventually(t, "the token is refused", func() bool { return !tokenWorks() })
			}},
	} {
		t.Run(step.name, func(t *testing.T) {
			path, lines := usersPath, step.users
			if step.toks != nil {
				path, lines = tokensPath, step.toks
			}
			before, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if step.signal {
				// Same size, so that only the content differs.
				old, _ := os.ReadFile(path)
				body := strings.Join(lines, "\n")
				lines = []string{body + strings.Repeat(" ", max(0, len(old)-len(body)-1))}
			}
			if step.signal {
				// Written beside it with the old time, then renamed over it:
				// writing in place would show a poll the new time (or a
				// truncated size) until Chtimes set it back.
				tmp := path + ".new"
				write(tmp, lines...)
				if err := os.Chtimes(tmp, before.ModTime(), before.ModTime()); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			} else {
				write(path, lines...)
				// A later time even on a coarse clock.
				later := before.ModTime().Add(time.Second)
				if err := os.Chtimes(path, later, later); err != nil {
					t.Fatal(err)
				}
			}
			step.check(t)
		})
	}
	for _, secret := range []string{analystPW, "bob-password-1", "carol-password-1", "carol-password-2", secret} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

func urlValues(kv ...string) map[string][]string {
	v := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = append(v[kv[i]], kv[i+1])
	}
	return v
}
