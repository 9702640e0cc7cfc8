package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestNotifyLintExample: the shipped example passes lint.
func TestNotifyLintExample(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"notify", "lint", "--config", "../../deployments/notify.example.yml"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "ok (5 receivers, 4 routes)") {
		t.Errorf("lint said %q", errb.String())
	}
}

// TestNotifyPoisonConfig: a bad config fails lint with file:line, and
// notify refuses to start with it before connecting to anything.
func TestNotifyPoisonConfig(t *testing.T) {
	poison := "../../notify/testdata/poison.yml"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"notify", "lint", "--config", poison}, &out, &errb); code != 1 {
		t.Fatalf("lint exit %d", code)
	}
	if !strings.Contains(out.String(), poison+":18: route \"page\": match.level \"severe\"") {
		t.Errorf("lint output:\n%s", out.String())
	}
	out.Reset()
	start := time.Now()
	// Unreachable brokers and ClickHouse: the config is refused first.
	code := run(context.Background(), []string{"notify", "--config", poison, "--brokers", "127.0.0.1:1", "--clickhouse", "127.0.0.1:1"}, &out, &errb)
	if code != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %s", code, time.Since(start))
	}
	msg := errb.String()
	if !strings.Contains(msg, "tripline notify: refusing to start: "+poison+":2: defaults.group_wait") {
		t.Errorf("stderr:\n%s", msg)
	}
	for _, secret := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "XXXXSECRETXXXX"} {
		if strings.Contains(msg+out.String(), secret) {
			t.Errorf("output quotes a secret")
		}
	}
}

// TestNotifyMissingSecret: a valid config whose secret is not set refuses
// to start, naming the reference and its line; lint --resolve says the same.
func TestNotifyMissingSecret(t *testing.T) {
	example := "../../deployments/notify.example.yml"
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"notify", "lint", "--config", example, "--resolve"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), example+":22: receiver \"soc-webhook\": secret (env:TRIPLINE_NOTIFY_SOC_SECRET): variable TRIPLINE_NOTIFY_SOC_SECRET is not set") {
		t.Errorf("lint --resolve: exit %d:\n%s", code, out.String())
	}
	errb.Reset()
	code = run(context.Background(), []string{"notify", "--config", example, "--brokers", "127.0.0.1:1", "--clickhouse", "127.0.0.1:1"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "refusing to start") || !strings.Contains(errb.String(), "/run/secrets/slack_webhook_url") {
		t.Errorf("exit %d:\n%s", code, errb.String())
	}
}
