package ops

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually waits until /readyz answers code with a body containing want.
func eventually(t *testing.T, addr string, code int, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, body := get(addr, "/readyz")
		if c == code && strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q, want %d containing %q", c, body, code, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRun: every readiness condition (pipeline, clickhouse, kafka) shows on
// /readyz and tripline_ready, the worker's error is Run's, and nothing of
// Run outlives it.
func TestRun(t *testing.T) {
	addr := freeAddr(t)
	var pingDown atomic.Bool
	pingDown.Store(true)
	var pings atomic.Int32
	// Nothing listens on the broker's address: every lag poll fails.
	broker := freeAddr(t)
	cfg := Config{
		Addr: addr, Log: zerolog.Nop(),
		Ping: func(context.Context) error {
			pings.Add(1)
			if pingDown.Load() {
				return errors.New("clickhouse down")
			}
			return nil
		},
		Kafka: kafkaio.Config{Brokers: []string{broker}}, Group: "g", Topics: []string{"t"}, LagInterval: 50 * time.Millisecond,
	}
	done := errors.New("worker done")
	var registered bool
	err := Run(context.Background(), cfg, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		registered = reg != nil
		eventually(t, addr, 503, "not ready: [clickhouse kafka]")
		ready(false)
		eventually(t, addr, 503, "not ready: [clickhouse kafka pipeline]")
		if _, body := get(addr, "/metrics"); !strings.Contains(body, `tripline_ready{condition="pipeline"} 0`) ||
			!strings.Contains(body, `tripline_ready{condition="clickhouse"} 0`) || !strings.Contains(body, "tripline_consumer_lag_errors_total") {
			t.Errorf("/metrics lacks the readiness gauges or the lag metrics:\n%s", body)
		}
		pingDown.Store(false)
		ready(true)
		eventually(t, addr, 503, "not ready: [kafka]")
		if c, _ := get(addr, "/healthz"); c != 200 {
			t.Errorf("/healthz = %d", c)
		}
		return done
	})
	if !errors.Is(err, done) || !registered {
		t.Fatalf("Run = %v (registry given: %v), want the worker's error", err, registered)
	}
	if c, _ := get(addr, "/healthz"); c != 0 {
		t.Errorf("the server still answers after Run returned")
	}
	n := pings.Load()
	time.Sleep(probeInterval + 200*time.Millisecond)
	if pings.Load() != n {
		t.Errorf("the ClickHouse probe still runs after Run returned")
	}
}

// TestRunServerError: a metrics address that cannot be served is Run's
// error when the worker itself succeeds.
func TestRunServerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), Config{Addr: ln.Addr().String(), Log: zerolog.Nop()}, func(context.Context, prometheus.Registerer, func(bool)) error {
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Fatalf("Run = %v, want the listener's error", err)
	}
}
