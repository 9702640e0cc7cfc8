package ops

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadiness(t *testing.T) {
	var r Readiness
	if ok, _ := r.Ready(); !ok {
		t.Fatal("no conditions should be ready")
	}
	if r.Set("pipeline", true) {
		t.Error("a new true condition is not a change worth logging")
	}
	if !r.Set("kafka", false) || !r.Set("clickhouse", false) {
		t.Error("a new false condition is a change")
	}
	if r.Set("kafka", false) {
		t.Error("setting the same value again is no change")
	}
	ok, failing := r.Ready()
	if ok || strings.Join(failing, ",") != "clickhouse,kafka" {
		t.Fatalf("Ready = %v %v, want false [clickhouse kafka]", ok, failing)
	}

	h := Handler(NewRegistry(), &r)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 503 || !strings.Contains(string(body), "clickhouse kafka") {
		t.Fatalf("/readyz = %d %q, want 503 naming the failing conditions", rec.Code, body)
	}
	r.Set("kafka", true)
	r.Set("clickhouse", true)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("/readyz = %d once every condition holds", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("/healthz = %d", rec.Code)
	}
}

func TestProbe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	var reports []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		Probe(ctx, 10*time.Millisecond, func(context.Context) error {
			if calls.Add(1) == 2 {
				return errors.New("down")
			}
			return nil
		}, func(err error) {
			reports = append(reports, err)
			if len(reports) == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Probe did not stop when its context ended")
	}
	if len(reports) < 3 || reports[0] != nil || reports[1] == nil || reports[2] != nil {
		t.Fatalf("reports = %v, want ok, error, ok", reports)
	}
}
