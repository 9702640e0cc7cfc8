package ops

import (
	"net/http"
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
