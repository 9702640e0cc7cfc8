package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
)

// TestConsoleUsers: console user add makes a line from a password on
// stdin, and tripline console --listen --clickhouse --users serves the
// login page at / and the API under /api/ (401 without a session or
// token, as pinned), and logs the user in.
func TestConsoleUsers(t *testing.T) {
	var out, errb bytes.Buffer
	const pw = "a password long enough"
	if err := runConsoleUserAdd([]string{"ana", "--role", "analyst"}, strings.NewReader(pw+"\n"), &out, &errb); err != nil {
		t.Fatalf("user add: %v %s", err, errb.String())
	}
	line := strings.TrimSpace(out.String())
	if !strings.HasPrefix(line, "ana:$argon2id$") || !strings.HasSuffix(line, ":analyst") || strings.Contains(line, pw) {
		t.Fatalf("user add line %q", line)
	}
	if err := runConsoleUserAdd([]string{"bob", "--role", "viewer"}, strings.NewReader(pw), io.Discard, io.Discard); err == nil {
		t.Error("user add took a viewer without a tenant")
	}
	if err := runConsoleUserAdd([]string{"--role", "admin"}, strings.NewReader(pw), io.Discard, io.Discard); err == nil {
		t.Error("user add without a name")
	}

	srv := chserver.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: srv.Addr(), Database: "t_console_cmd"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := st.InsertAlerts(ctx, []record.Alert{{AlertID: "a-1", Fingerprint: "fp", RuleID: "rule-1", RuleTitle: "Rule One", Level: "high",
		MSP: "msp-a", Tenant: "t-1", ActorUser: "tech1", WindowStart: now, FirstTime: now, LastTime: now, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cctx, stop := context.WithCancel(ctx)
	var logs syncBuffer // read while the console writes it
	done := make(chan int, 1)
	go func() {
		done <- run(cctx, []string{"console", "--listen", addr, "--users", users, "--clickhouse", srv.Addr(), "--clickhouse-db", "t_console_cmd",
			"--log-format", "json"}, io.Discard, &logs)
	}()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := "http://" + addr
	var resp *http.Response
	for i := 0; i < 200; i++ {
		if resp, err = c.Get(base + "/api/alerts"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/alerts without a session: %d, want 401", resp.StatusCode)
	}
	resp, err = c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "name": {"ana"}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	queue, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/queue" || !strings.Contains(string(queue), "Rule One") {
		t.Errorf("after login: %d %s\n%s", resp.StatusCode, resp.Request.URL, queue)
	}
	// The users file is re-read while the console runs: a broken edit is
	// refused with its file:line, removing ana ends her session.
	for _, step := range []struct {
		content, want string
		sessionEnds   bool
	}{
		{line + "\nbob:plain-password:analyst\n", users + ":2: user bob", false},
		{"# nobody yet\n" + strings.Replace(line, ":$", ":!$", 1) + "\n", "console users file reloaded", true},
	} {
		if err := os.WriteFile(users, []byte(step.content), 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(logs.String(), step.want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), step.want) {
			t.Fatalf("the log lacks %q after 20 s", step.want)
		}
		resp, err := c.Get(base + "/api/alerts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ended := resp.StatusCode == http.StatusUnauthorized; ended != step.sessionEnds {
			t.Errorf("after %q: GET /api/alerts with ana's session: %d", step.want, resp.StatusCode)
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("console exit %d: %s", code, logs.String())
	}
	if strings.Contains(logs.String(), pw) {
		t.Error("the password reached the log")
	}
}
