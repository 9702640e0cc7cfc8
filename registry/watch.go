package registry

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/reload"
)

// WatchConfig configures a Watcher.
type WatchConfig struct {
	File string
	// PollInterval is how often Watch stats the file (default 2s). Polling
	// also sees Kubernetes ConfigMap updates, which swap a symlink.
	PollInterval time.Duration
	Log          zerolog.Logger
	Registerer   prometheus.Registerer
}

// Watcher serves the current registry and replaces it when the file
// changes. A file that does not validate is rejected as a whole: the
// previous registry keeps serving and the errors are logged with their
// file:line:col.
type Watcher struct {
	cfg     WatchConfig
	current atomic.Pointer[Registry]

	mu  sync.Mutex // serialises reloads
	fp  fingerprint
	hup chan os.Signal

	reloads      *prometheus.CounterVec
	lastReloadOK prometheus.Gauge
	tenants      prometheus.Gauge
}

// fingerprint identifies a version of the file: its size, modification
// time and a hash of its content (an edit within the file system's
// timestamp granularity that keeps the size is still noticed; registry
// files are small, so reading one every poll costs nothing).
type fingerprint struct {
	size, mtime int64
	sum         [32]byte
}

// NewWatcher loads the registry once. At start-up an invalid file is an
// error: ingest must not silently run without the policy it was given.
func NewWatcher(cfg WatchConfig) (*Watcher, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	w := &Watcher{
		cfg: cfg,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_registry_reloads_total", Help: "MSP registry reload attempts, by result.",
		}, []string{"result"}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_registry_last_reload_success", Help: "1 if the last registry reload succeeded, 0 if the previous registry is still in use.",
		}),
		tenants: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_registry_tenants", Help: "Contracted tenants in the registry in use.",
		}),
	}
	w.reloads.WithLabelValues("success")
	w.reloads.WithLabelValues("error")
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(w.reloads, w.lastReloadOK, w.tenants)
	}
	fp, _ := statFile(cfg.File)
	r, err := Load(cfg.File)
	if err != nil {
		return nil, err
	}
	w.install(r, fp)
	cfg.Log.Info().Str("registry", cfg.File).Int("msps", r.MSPs()).Int("tenants", r.Tenants()).Msg("registry loaded")
	return w, nil
}

// Registry returns the registry in use.
func (w *Watcher) Registry() *Registry { return w.current.Load() }

// Context enriches ev from the registry in use (ingest.Enricher).
func (w *Watcher) Context(ev *contract.Event) *contract.Context {
	return w.current.Load().Context(ev)
}

// Resolve maps the vendor IDs in ev (its tenant, an Entra sign-in's app)
// with the current registry (Registry.Resolve).
func (w *Watcher) Resolve(ev *contract.Event) bool {
	return w.current.Load().Resolve(ev)
}

func (w *Watcher) install(r *Registry, fp fingerprint) {
	w.current.Store(r)
	w.fp = fp
	w.lastReloadOK.Set(1)
	w.tenants.Set(float64(r.Tenants()))
}

// Reload loads the file again and swaps the registry in if it is valid;
// otherwise the previous one stays in use and the error is returned.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	fp, _ := statFile(w.cfg.File)
	r, err := Load(w.cfg.File)
	if err != nil {
		// Logged before counted: whoever sees the counter move finds the
		// reason already in the log.
		var es Errors
		if errors.As(err, &es) {
			for _, e := range es {
				w.cfg.Log.Error().Str("registry", w.cfg.File).Str("at", e.Error()).Msg("registry reload rejected; previous registry stays in use")
			}
		} else {
			w.cfg.Log.Error().Str("registry", w.cfg.File).Err(err).Msg("registry reload rejected; previous registry stays in use")
		}
		w.reloads.WithLabelValues("error").Inc()
		w.lastReloadOK.Set(0)
		w.fp = fp // do not retry the same broken file every poll
		return err
	}
	w.install(r, fp)
	w.cfg.Log.Info().Str("registry", w.cfg.File).Int("msps", r.MSPs()).Int("tenants", r.Tenants()).Msg("registry reloaded")
	w.reloads.WithLabelValues("success").Inc()
	return nil
}

// Watch reloads on SIGHUP and when the file changes (size, modification
// time or content), until ctx is done.
func (w *Watcher) Watch(ctx context.Context) {
	reload.Loop(ctx, w.cfg.PollInterval, w.hup, w.changed, func(why reload.Reason) {
		if why == reload.Signal {
			w.cfg.Log.Info().Msg("SIGHUP: reloading the registry")
		}
		_ = w.Reload()
	})
}

func (w *Watcher) changed() bool {
	fp, err := statFile(w.cfg.File)
	if err != nil {
		w.cfg.Log.Warn().Str("registry", w.cfg.File).Err(err).Msg("cannot stat the registry")
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return fp != w.fp
}

func statFile(file string) (fingerprint, error) {
	info, err := os.Stat(file)
	if err != nil {
		return fingerprint{}, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fingerprint{}, err
	}
	return fingerprint{size: info.Size(), mtime: info.ModTime().UnixNano(), sum: sha256.Sum256(data)}, nil
}
