package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/simulate/vendor"
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

// TestSimulateFormat: --format all sends what each vendor logs as its
// records on the vendor topic, with the headers ingest reads, and the
// rest as contract v1; without --brokers it is a usage error, and a
// format without a record encoder is refused.
func TestSimulateFormat(t *testing.T) {
	b, err := broker.Start(broker.Options{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"simulate", "--brokers", b.Addrs()[0], "--events", "3000", "--format", "all"}, &stdout, &stderr); code != 0 {
		t.Fatalf("simulate --format: exit %d: %s", code, stderr.String())
	}
	if !regexp.MustCompile(`as vendor records on msp\.vendor \(datto-rmm [1-9]\d*, .*ninjaone [1-9]\d*`).MatchString(stderr.String()) {
		t.Errorf("no account of the vendor records: %s", stderr.String())
	}
	count := func(topic string) (n int, formats map[string]int) {
		formats = map[string]int{}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		for {
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				return n, formats
			}
			n++
			for _, h := range m.Headers {
				if h.Key == "tripline-format" {
					formats[string(h.Value)]++
				}
			}
		}
	}
	nv, formats := count(kafkaio.TopicVendor)
	nr, _ := count(kafkaio.TopicRemoteSessions)
	ns, _ := count(kafkaio.TopicSoftwareUpdates)
	inAll := 0
	for _, f := range vendor.All() {
		inAll += formats[f]
	}
	if nv+nr+ns != 3000 || formats["ninjaone"] == 0 || formats["datto-rmm"] == 0 || inAll != nv {
		t.Errorf("vendor %d (%v), remote sessions %d, software updates %d: want 3000 in all, the formats of all on the vendor topic", nv, formats, nr, ns)
	}
	for _, args := range [][]string{
		{"simulate", "--out", "-", "--format", "ninjaone"},
		{"simulate", "--brokers", b.Addrs()[0], "--format", "kaseya-vsa", "--events", "10"},
	} {
		stderr.Reset()
		if code := run(ctx, args, &stdout, &stderr); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
