package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
)

// TestAlertsCLIAndConsole runs the alerts subcommands and the console
// against a real server.
func TestAlertsCLIAndConsole(t *testing.T) {
	srv := chserver.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: srv.Addr(), Database: "t_cli"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := st.InsertAlerts(ctx, []record.Alert{{
		AlertID: "a-1", Fingerprint: "fp", RuleID: "rule-1", RuleTitle: "Rule One", Level: "high", MSP: "msp-a", Tenant: "t-1",
		ActorUser: "tech1", GroupKeys: []string{"msp", "actor.user"}, GroupValues: []string{"msp-a", "tech1"},
		WindowStart: now.Truncate(24 * time.Hour), FirstTime: now, LastTime: now, Count: 2,
	}}); err != nil {
		t.Fatal(err)
	}
	ch := []string{"--clickhouse", srv.Addr(), "--clickhouse-db", "t_cli", "--as", "alice"}
	cli := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, ch...), &out, &errb); code != wantCode {
			t.Fatalf("tripline %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}

	if out := cli(0, "alerts", "list", "--level", "medium", "--since", "1h"); !strings.Contains(out, "a-1") || !strings.Contains(out, "open") {
		t.Errorf("list:\n%s", out)
	}
	if out := cli(0, "alerts", "list", "--status", "closed"); strings.Contains(out, "a-1") {
		t.Errorf("list closed:\n%s", out)
	}
	cli(2, "alerts", "ack")
	cli(1, "alerts", "list", "--level", "severe")
	if out := cli(0, "alerts", "ack", "a-1", "--note", "on it"); !strings.Contains(out, "acknowledged") {
		t.Errorf("ack: %s", out)
	}
	if out := cli(1, "alerts", "ack", "a-1"); !strings.Contains(out, "only an open alert") {
		t.Errorf("second ack: %s", out)
	}
	cli(0, "alerts", "assign", "a-1", "bob")
	cli(0, "alerts", "note", "a-1", "seen", "in", "CHG-7")
	filter := filepath.Join(t.TempDir(), "fp.yml")
	cli(0, "alerts", "close", "a-1", "--reason", "false_positive", "--filter-out", filter)
	if b, err := os.ReadFile(filter); err != nil || !strings.Contains(string(b), "rule-1") {
		t.Errorf("draft filter: %s %v", b, err)
	}
	out := cli(0, "alerts", "show", "a-1", "--json")
	var d struct {
		Alert struct {
			Status      string `json:"status"`
			Assignee    string `json:"assignee"`
			CloseReason string `json:"close_reason"`
		} `json:"alert"`
		Actions []struct{ Actor, Action, Note string } `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if d.Alert.Status != "closed" || d.Alert.Assignee != "bob" || len(d.Actions) != 4 || d.Actions[0].Actor != "alice" || d.Actions[2].Note != "seen in CHG-7" {
		t.Errorf("show --json: %+v", d)
	}
	if out := cli(0, "alerts", "show", "a-1"); !strings.Contains(out, "false_positive") || !strings.Contains(out, "actor.user=tech1") {
		t.Errorf("show:\n%s", out)
	}

	// With --brokers, a reopen reaches tripline.alerts for notify.
	b, err := broker.Start(broker.Options{Partitions: 1, Topics: []string{"t.alerts"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cli(0, "alerts", "reopen", "a-1", "--brokers", b.Addrs()[0], "--alerts-topic", "t.alerts")
	conn, err := kafka.DialLeader(ctx, "tcp", b.Addrs()[0], "t.alerts", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	msg, err := conn.ReadMessage(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := alert.ParseMessage(msg.Value); err != nil || m.Kind != alert.KindReopened || m.Actor != "alice" || string(msg.Key) != "a-1" {
		t.Errorf("published: %s %s, %v", msg.Key, msg.Value, err)
	}
	cli(1, "alerts", "silence", "--match", "rule_id=rule-1", "--for", "31d", "--reason", "x")
	cli(1, "alerts", "silence", "--match", "rule_id=rule-1", "--for", "1h")
	out = cli(0, "alerts", "silence", "--match", "rule_id=rule-1", "--match", "level=~high|critical", "--for", "2h", "--reason", "CHG-42")
	id := strings.Fields(out)[1]
	if out := cli(0, "alerts", "silences"); !strings.Contains(out, id) || !strings.Contains(out, "active") {
		t.Errorf("silences:\n%s", out)
	}
	cli(0, "alerts", "expire", id)
	if out := cli(0, "alerts", "silences"); strings.Contains(out, id) {
		t.Errorf("expired silence listed as active:\n%s", out)
	}
	if out := cli(0, "alerts", "silences", "--all", "--json"); !strings.Contains(out, `"active":false`) {
		t.Errorf("silences --all --json:\n%s", out)
	}

	// The console serves the same store over HTTP.
	var tokOut, tokErr bytes.Buffer
	if code := run(ctx, []string{"console", "token", "--name", "ops", "--role", "analyst", "--msp", "msp-b"}, &tokOut, &tokErr); code != 0 {
		t.Fatalf("console token: %s", tokErr.String())
	}
	secret := strings.TrimSpace(tokOut.String())
	lines := strings.Split(strings.TrimSpace(tokErr.String()), "\n")
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(lines[len(lines)-1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cctx, stop := context.WithCancel(ctx)
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(cctx, append([]string{"console", "--listen", addr, "--tokens", tokens, "--log-format", "json"}, ch[:4]...), io.Discard, &logs)
	}()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/alerts", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The token is bound to msp-b: a-1 (msp-a) is not its to see.
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"alerts":[]}` {
		t.Errorf("console GET /api/alerts: %d %s", resp.StatusCode, body)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("console exit %d: %s", code, logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the token reached the console's log")
	}
}
