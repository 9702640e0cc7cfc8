package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/receive"
)

// `tripline receive` wires the receiver: a token made by `receive token`
// posts a record that is acknowledged, and the command stops on cancel.
func TestReceiveCommand(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Partitions: 2})
	var secret, line bytes.Buffer
	if err := runReceiveToken([]string{"--name", "ninja", "--msp", "msp-a"}, &secret, &line); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(strings.Split(line.String(), "\n")[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- runReceive(ctx, []string{"--listen", addr, "--tokens", tokens, "--brokers", b.Addrs()[0], "--log-format", "json"}, io.Discard, &stderr)
	}()
	var resp *http.Response
	for range 100 {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/ingest/ninjaone", strings.NewReader(`{"id":1}`))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(secret.String()))
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("receive: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), strings.TrimSpace(secret.String())) {
		t.Error("the token was logged")
	}
	if !strings.Contains(stderr.String(), receive.DefaultTopic) {
		t.Errorf("log does not name the topic: %s", stderr.String())
	}
}
