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
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tripline/tripline/chserver"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a worker's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretsInOutput runs migrate, ingest and detect at every log level
// with a ClickHouse password and a Kafka SASL password set (from the
// environment and from a _FILE), against servers that refuse them, so that
// errors are produced and logged; neither secret may appear in any log
// line, error message or metric.
func TestNoSecretsInOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse")
	}
	const (
		chSecret     = "ch-Secret-4f9a1c"
		kafkaSecret  = "kafka-Secret-7d2e8b"
		writerSecret = "writer-Secret-0c3b5e"
	)
	secrets := []string{chSecret, kafkaSecret, writerSecret}
	ch := chserver.ForTest(t)
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "tripline", "the-broker-has-another-one"),
		kfake.Superuser("PLAIN", "tripline", "the-broker-has-another-one"),
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, port, _ := net.SplitHostPort(addr)
			return net.Listen(network, net.JoinHostPort("127.0.0.1", port))
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	brokers := strings.Join(broker.ListenAddrs(), ",")
	kafkaFile := filepath.Join(t.TempDir(), "kafka-password")
	if err := os.WriteFile(kafkaFile, []byte(kafkaSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s reveals a secret:\n%s", what, out)
			}
		}
	}

	for i, level := range []string{"debug", "info", "warn", "error"} {
		t.Run(level, func(t *testing.T) {
			// ClickHouse refuses the password: migrate and the workers fail
			// at start-up with an authentication error.
			t.Setenv("TRIPLINE_CLICKHOUSE_PASSWORD", chSecret)
			t.Setenv("TRIPLINE_KAFKA_SASL_PASSWORD_FILE", kafkaFile)
			for _, args := range [][]string{
				{"migrate", "--clickhouse", ch.Addr(), "--log-level", level},
				{"ingest", "--clickhouse", ch.Addr(), "--brokers", brokers, "--log-level", level, "--log-format", "json",
					"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "tripline"},
				{"detect", "--clickhouse", ch.Addr(), "--brokers", brokers, "--log-level", level, "--log-format", "console"},
			} {
				var stdout, stderr syncBuffer
				code := run(context.Background(), args, &stdout, &stderr)
				if code == 0 {
					t.Fatalf("%s succeeded with a wrong ClickHouse password", args[0])
				}
				if !strings.Contains(stderr.String(), "tripline "+args[0]+":") {
					t.Errorf("%s printed no error:\n%s", args[0], stderr.String())
				}
				check(t, args[0]+" output", stdout.String()+stderr.String())
			}

			// migrate --create-users with the writer's password set: on
			// 18.16 it must say to use users.xml; newer servers create it.
			t.Setenv("TRIPLINE_CLICKHOUSE_PASSWORD", "")
			t.Setenv("TRIPLINE_WRITER_PASSWORD", writerSecret)
			{
				var stdout, stderr syncBuffer
				code := run(context.Background(), []string{"migrate", "--clickhouse", ch.Addr(), "--log-level", level,
					"--create-users", "--writer-user", "tripline_ingest", "--msp-analysts", "msp-a"}, &stdout, &stderr)
				out := stdout.String() + stderr.String()
				if code != 0 && !strings.Contains(out, "users.xml") {
					t.Errorf("migrate --create-users failed without pointing to users.xml:\n%s", out)
				}
				check(t, "migrate --create-users output", out)
			}

			// ClickHouse accepts (no password); the broker refuses the SASL
			// password: the workers run, log the failures and serve metrics.
			t.Setenv("TRIPLINE_CLICKHOUSE_PASSWORD", "")
			mech := []string{"SCRAM-SHA-256", "PLAIN"}[i%2]
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for _, role := range []string{"ingest", "detect"} {
				addr := freeAddr(t)
				var stdout, stderr syncBuffer
				wg.Go(func() {
					run(ctx, []string{role, "--clickhouse", ch.Addr(), "--brokers", brokers, "--metrics-addr", addr,
						"--log-level", level, "--log-format", "json", "--lag-interval", "200ms",
						"--kafka-sasl-mechanism", mech, "--kafka-sasl-user", "tripline"}, &stdout, &stderr)
				})
				wg.Go(func() {
					time.Sleep(2 * time.Second)
					for _, path := range []string{"/metrics", "/readyz"} {
						resp, err := http.Get("http://" + addr + path)
						if err != nil {
							t.Errorf("%s %s: %v", role, path, err)
							continue
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						check(t, role+" "+path, string(body))
						if path == "/readyz" && resp.StatusCode != http.StatusServiceUnavailable {
							t.Errorf("%s /readyz = %d with the broker refusing its credentials, want 503", role, resp.StatusCode)
						}
					}
				})
				t.Cleanup(func() {
					out := stderr.String()
					check(t, role+" log", out)
					if level != "error" && !strings.Contains(out, `"level":"warn"`) {
						t.Errorf("%s at level %s logged no warning about the refused credentials:\n%s", role, level, out)
					}
				})
			}
			wg.Wait()
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
