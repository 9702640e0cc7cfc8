package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/poll"
	"github.com/tripline/tripline/receive"
)

// `tripline poll --once` wires the poller: a NinjaOne API (OAuth client
// credentials, activities newest first) polled to caught-up, its records on
// the raw topic with the receiver's headers, and the checkpoint on disk.
func TestPollCommand(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Partitions: 1, Topics: []string{receive.DefaultTopic}})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ws/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("client_secret") != "cmd-test-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"access_token":"t1","token_type":"bearer","expires_in":3600}`)
	})
	mux.HandleFunc("GET /v2/activities", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var acts []string
		for id := 12; id >= 10; id-- {
			if fmt.Sprint(id) > r.FormValue("newerThan") && (r.FormValue("olderThan") == "" || fmt.Sprint(id) < r.FormValue("olderThan")) {
				acts = append(acts, fmt.Sprintf(`{"id":%d,"activityTime":1763647120,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","activityResult":"SUCCESS","data":{"message":{"params":{"appUserName":"tech@msp.example"}}}}`, id))
			}
		}
		fmt.Fprintf(w, `{"lastActivityId":12,"activities":[%s]}`, strings.Join(acts, ","))
	})
	api := httptest.NewServer(mux)
	defer api.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "poll.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`checkpoint_dir: %s
sources:
  - source: ninjaone
    msp: msp-a
    url: %s
    client_id: {value: c1}
    client_secret: {env: TEST_CMD_POLL_SECRET}
`, filepath.Join(dir, "cp"), api.URL)), 0o600)
	t.Setenv("TEST_CMD_POLL_SECRET", "cmd-test-secret")
	var stderr bytes.Buffer
	if err := runPoll(context.Background(), []string{"--source", "ninjaone", "--config", conf, "--once", "--brokers", b.Addrs()[0], "--log-format", "json"}, io.Discard, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: receive.DefaultTopic, Partition: 0})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hd := map[string]string{}
	for _, h := range m.Headers {
		hd[h.Key] = string(h.Value)
	}
	var recs []json.RawMessage
	if hd[ingest.HeaderFormat] != "ninjaone" || hd[ingest.HeaderMSP] != "msp-a" || json.Unmarshal(m.Value, &recs) != nil || len(recs) != 3 {
		t.Errorf("message headers %v value %s", hd, m.Value)
	}
	cp, err := os.ReadFile(filepath.Join(dir, "cp", "ninjaone-msp-a.checkpoint.json"))
	if err != nil || !strings.Contains(string(cp), `"last_id": 12`) {
		t.Errorf("checkpoint %s (%v)", cp, err)
	}
	if strings.Contains(stderr.String(), "cmd-test-secret") {
		t.Error("the secret is in the log")
	}
}

func TestPollCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("checkpoint_dir: "+dir+"\nsources:\n  - source: ninjaone\n    msp: m\n    urll: x\n"), 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--config", bad}, "usage"},
		{[]string{"--source", "ninjaone"}, "usage"},
		{[]string{"--source", "ninjaone", "--config", bad}, "bad.yaml:5:1: field urll not found"},
		{[]string{"--source", "ninjaone", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	}
	for _, c := range cases {
		err := runPoll(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
	if len(poll.Kinds()) != 4 {
		t.Errorf("kinds %v", poll.Kinds())
	}
}
