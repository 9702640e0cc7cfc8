package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
)

const goodConfig = `
defaults:
  group_wait: 1s
  repeat_interval: 1h
retry:
  max_attempts: 4
  initial_backoff: 50ms
  max_backoff: 1s
  timeout: 2s
receivers:
  - name: soc
    type: webhook
    url: https://soc.example.com/hook
    secret: env:TEST_NOTIFY_SECRET
  - name: chat
    type: slack
    url: file:/run/secrets/slack
  - name: pager
    type: pagerduty
    routing_key: env:PD_KEY
  - name: mail
    type: email
    smtp_host: mail.example.com
    username: tripline
    password: env:SMTP_PW
    from: tripline@example.com
    to: [soc@example.com]
routes:
  - name: page
    match: {level: high, msp: [msp-a]}
    receivers: [pager]
    group_wait: 0s
    continue: true
  - name: attack
    match: {tags: [attack.t1072], kinds: [opened, updated]}
    receivers: [soc, chat]
  - name: rest
    receivers: [mail]
`

func msg(kind, level, mspID string, tags ...string) alert.Message {
	return alert.Message{Version: 1, Kind: kind, MessageID: alert.MessageID("a-"+mspID+level, kind, 1),
		Alert: alert.Body{AlertID: "a-" + mspID + level, Level: level, MSP: mspID, Tenant: "t-1", Tags: tags}}
}

func routeNames(rs []*Route) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Name)
	}
	return strings.Join(s, ",")
}

func TestParseAndRoute(t *testing.T) {
	cfg, err := Parse([]byte(goodConfig), "notify.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MinGroupWait(); got != 0 {
		t.Errorf("MinGroupWait = %s", got)
	}
	if cfg.Routes[1].GroupWait != time.Second || cfg.Routes[1].RepeatInterval != time.Hour {
		t.Errorf("defaults not applied: %+v", cfg.Routes[1])
	}
	if r := cfg.Receiver("mail"); r.SMTPPort != 587 || r.Password.String() != "env:SMTP_PW" {
		t.Errorf("mail receiver: %+v", r)
	}
	cases := []struct {
		m    alert.Message
		want string
	}{
		// continue: page matches and lets attack or rest match too.
		{msg("opened", "critical", "msp-a", "attack.t1072"), "page,attack"},
		{msg("opened", "high", "msp-a"), "page,rest"},
		// Below the level threshold, another msp: falls through.
		{msg("opened", "medium", "msp-a", "attack.t1072"), "attack"},
		{msg("opened", "critical", "msp-b"), "rest"},
		// updated is not a default kind: page takes only the defaults.
		{msg("updated", "critical", "msp-a", "attack.t1072"), "attack"},
		{msg("updated", "critical", "msp-b"), ""},
		{msg("resolved", "critical", "msp-a"), "page,rest"},
	}
	for _, c := range cases {
		if got := routeNames(cfg.Route(&c.m)); got != c.want {
			t.Errorf("%s %s %s %v: routes %q, want %q", c.m.Kind, c.m.Alert.Level, c.m.Alert.MSP, c.m.Alert.Tags, got, c.want)
		}
	}
}

// TestLintPoison: a config with many mistakes reports each with its line,
// and never quotes a secret pasted where a reference belongs.
func TestLintPoison(t *testing.T) {
	_, err := LoadFile("testdata/poison.yml")
	if err == nil {
		t.Fatal("poison config accepted")
	}
	got := err.Error()
	for _, want := range []string{
		"testdata/poison.yml:2: defaults.group_wait: 1h30m0s is outside [0s, 5m0s]",
		"testdata/poison.yml:6: receiver \"soc\": url: http is allowed only to loopback addresses",
		"testdata/poison.yml:7: receiver \"soc\": secret: must be a reference, env:NAME or file:/path",
		"testdata/poison.yml:10: receiver \"chat\": url: must be a reference",
		"testdata/poison.yml:14: receiver \"pager\": \"smtp_host\" does not apply to type pagerduty",
		"testdata/poison.yml:18: route \"page\": match.level \"severe\" is not one of",
		"testdata/poison.yml:19: route \"page\": match.kinds: \"fired\" is not one of",
		"testdata/poison.yml:20: route \"page\": receiver \"nobody\" is not defined",
		"testdata/poison.yml:21: route: unknown key \"colour\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lint output lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "XXXXSECRETXXXX"} {
		if strings.Contains(got, secret) {
			t.Errorf("lint output quotes a secret:\n%s", got)
		}
	}
}

func TestLintSmall(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"", "empty config"},
		{"receivers: []\nroutes: []", "receivers must be a non-empty list"},
		{"routes:\n  - receivers: [x]\n", "receivers is required"},
		{"receivers:\n  - name: a\n    type: sms\nroutes: [{receivers: [a]}]", ":2: receiver \"a\": type must be one of"},
		{"receivers:\n  - {name: a, type: slack, url: env:A}\n  - {name: a, type: slack, url: env:B}\nroutes: [{receivers: [a]}]", ":3: receiver \"a\": defined twice"},
		{"retry: {max_attempts: 100, timeout: 5m}\nreceivers: [{name: a, type: slack, url: env:A}]\nroutes: [{receivers: [a]}]", "add up to"},
		{"receivers: [{name: a, type: slack, url: env:A}]\nroutes: [{receivers: [a], repeat_interval: 5s}]", "below 1m"},
		{"receivers: [{name: a, type: slack, url: env:A}]\nroutes: [{receivers: [a, a]}]", ":2: route \"route-1\": receiver \"a\" listed twice"},
		{"a: &x [*x]", "f.yml:1:8: alias *x refers to a node that contains it"},
	} {
		_, err := Parse([]byte(c.yaml), "f.yml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
}

// TestSecrets: references resolve from the environment and files; a
// missing one fails BuildReceivers naming the reference and its line, not
// a value.
func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	slackFile := filepath.Join(dir, "slack")
	if err := os.WriteFile(slackFile, []byte("https://hooks.slack.com/services/T1/B1/s3cr3tPath\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText := strings.ReplaceAll(goodConfig, "/run/secrets/slack", slackFile)
	cfg, err := Parse([]byte(cfgText), "notify.yml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_NOTIFY_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("SMTP_PW", "hunter2-password")
	_, err = BuildReceivers(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "notify.yml:20: receiver \"pager\": routing_key (env:PD_KEY): variable PD_KEY is not set") {
		t.Fatalf("missing PD_KEY: %v", err)
	}
	t.Setenv("PD_KEY", "R0UTINGKEY0123456789")
	recv, err := BuildReceivers(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := recv.Sender("chat").(*Slack); !ok || s.URL != "https://hooks.slack.com/services/T1/B1/s3cr3tPath" {
		t.Errorf("slack url from file: %+v", recv.Sender("chat"))
	}
	red := recv.Redact(`Post "https://hooks.slack.com/services/T1/B1/s3cr3tPath": refused; key R0UTINGKEY0123456789; pw hunter2-password`)
	for _, s := range []string{"s3cr3tPath", "R0UTINGKEY", "hunter2"} {
		if strings.Contains(red, s) {
			t.Errorf("Redact left %q: %s", s, red)
		}
	}
	t.Setenv("TEST_NOTIFY_SECRET", "whsec_c2hvcnQ=")
	if _, err := BuildReceivers(cfg, nil); err == nil || !strings.Contains(err.Error(), "24 to 64") || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("short webhook secret: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	r := Retry{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	var got []time.Duration
	for a := 1; a <= 6; a++ {
		got = append(got, r.Backoff(a))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoffs %v", got)
		}
	}
}
