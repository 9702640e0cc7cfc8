package ops

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestServerTimeouts: every timeout of the metrics server is set, so a
// slow or idle client cannot pin connections (the server had only a
// read-header timeout).
func TestServerTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	for _, tt := range []struct {
		name string
		d    time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout},
		{"ReadTimeout", srv.ReadTimeout},
		{"WriteTimeout", srv.WriteTimeout},
		{"IdleTimeout", srv.IdleTimeout},
	} {
		if tt.d <= 0 || tt.d > time.Minute {
			t.Errorf("%s = %s, want set and at most a minute", tt.name, tt.d)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes = %d", srv.MaxHeaderBytes)
	}
}

// TestPprofOptIn: the profiler is served only when asked for, beside the
// usual endpoints, over a real listener.
func TestPprofOptIn(t *testing.T) {
	for _, on := range []bool{false, true} {
		h := Handler(NewRegistry(), &Readiness{})
		if on {
			h = WithPprof(h)
		}
		srv := httptest.NewServer(h)
		for path, want := range map[string]int{
			"/metrics":                  http.StatusOK,
			"/healthz":                  http.StatusOK,
			"/debug/pprof/":             map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on],
			"/debug/pprof/heap?debug=1": map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on],
		} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("pprof %v: GET %s = %d, want %d", on, path, resp.StatusCode, want)
			}
		}
		srv.Close()
	}
}
