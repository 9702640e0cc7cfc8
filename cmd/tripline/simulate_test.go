package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
)

// TestSimulateRealtimeKafka: a live feed reaches Kafka as it comes; it
// used to be held until 2,000 events had accumulated (over an hour of
// simulated traffic), and lost on Ctrl-C.
func TestSimulateRealtimeKafka(t *testing.T) {
	b, err := broker.Start(broker.Options{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	// Five minutes of backlog come at once, the rest in real time.
	start := time.Now().UTC().Add(-5 * time.Minute).Format(time.RFC3339)
	go func() {
		done <- run(ctx, []string{"simulate", "--brokers", b.Addrs()[0], "--realtime", "--start", start}, &stdout, &stderr)
	}()
	inKafka := func() int64 {
		var n int64
		for _, topic := range []string{kafkaio.TopicRemoteSessions, kafkaio.TopicSoftwareUpdates} {
			conn, err := kafka.DialLeader(ctx, "tcp", b.Addrs()[0], topic, 0)
			if err != nil {
				continue // not created yet
			}
			last, _ := conn.ReadLastOffset()
			conn.Close()
			n += last
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for inKafka() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no simulated event reached Kafka in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr.String())
	}
}

// TestSimulateProfile: --profile picks a convention profile, so that
// anyone can reproduce the traffic a quality run measured.
func TestSimulateProfile(t *testing.T) {
	tests := []struct {
		name, profile string
		wantErr       string
		check         func(t *testing.T, events, registry string)
	}{
		{"sparse fields", "sparse-fields", "", func(t *testing.T, events, _ string) {
			if strings.Contains(events, `"country":`) || strings.Contains(events, `"asn":`) || !strings.Contains(events, `"event_type"`) {
				t.Errorf("sparse-fields traffic carries actor.country or actor.asn, or nothing:\n%.500s", events)
			}
		}},
		{"tenant zones in the registry", "follow-the-sun", "", func(t *testing.T, events, registry string) {
			if !strings.Contains(registry, "        tz: Etc/GMT") || !strings.Contains(events, `Z","msp"`) {
				t.Errorf("no tenant tz in the registry or no UTC times:\n%.800s", registry)
			}
		}},
		{"default", "default", "", func(t *testing.T, events, _ string) {
			if !strings.Contains(events, `"country":`) {
				t.Error("default traffic without actor.country")
			}
		}},
		{"unknown", "no-such-profile", `--profile "no-such-profile"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out, reg := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "registry.yml")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"simulate", "--out", out, "--registry-out", reg, "--events", "3000",
				"--profile", tt.profile, "--start", "2026-11-02T00:00:00Z"}, &stdout, &stderr)
			if tt.wantErr != "" {
				if code == 0 || !strings.Contains(stderr.String(), tt.wantErr) {
					t.Fatalf("exit %d, stderr %q, want %q", code, stderr.String(), tt.wantErr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			events, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			registry, err := os.ReadFile(reg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, string(events), string(registry))
		})
	}
}
