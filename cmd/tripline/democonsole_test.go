package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/store/storetest"
)

// TestDemoConsole: what a newcomer does after `tripline demo` on a
// terminal: open the printed address, log in with the printed demo
// password, reach the queue and the API; Ctrl-C stops it.
func TestDemoConsole(t *testing.T) {
	srv := chserver.ForTest(t)
	st := storetest.Migrated(t, srv.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan string, 4)
	done := make(chan error, 1)
	go func() {
		done <- demoConsole(ctx, st, "127.0.0.1:0", zerolog.Nop(), func(f string, a ...any) { lines <- fmt.Sprintf(f, a...) })
	}()
	var line string
	select {
	case line = <-lines:
	case err := <-done:
		t.Fatalf("demoConsole returned before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no console address printed")
	}
	m := regexp.MustCompile(`http://(\S+)/ \(log in as demo, password (\S+)\)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("printed %q: no address and password", line)
	}
	base, password := "http://"+m[1], m[2]
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/api/alerts"); code != http.StatusUnauthorized {
		t.Errorf("GET /api/alerts before login: %d, want 401", code)
	}
	code, page := get("/")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if code != http.StatusOK || csrf == nil {
		t.Fatalf("login page: %d, csrf %v", code, csrf)
	}
	resp, err := c.PostForm(base+"/login", url.Values{"csrf": {csrf[1]}, "name": {"demo"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/queue" {
		t.Fatalf("login as demo: %d -> %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, body := get("/queue"); code != http.StatusOK || !strings.Contains(body, "demo") {
		t.Errorf("queue after login: %d", code)
	}
	if code, _ := get("/api/alerts"); code != http.StatusOK {
		t.Errorf("GET /api/alerts with the session: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demoConsole after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the console did not stop")
	}
}
