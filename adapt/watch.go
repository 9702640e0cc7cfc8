package adapt

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/reload"
)

// WatchConfig configures a FormatsWatcher.
type WatchConfig struct {
	// Files are the mapping files (--mapping).
	Files []string
	// PollInterval is how often Watch reads the files (default 2s).
	PollInterval time.Duration
	Log          zerolog.Logger
	Registerer   prometheus.Registerer
}

// FormatsWatcher serves the formats of a set of mapping files and replaces
// the set when a file changes, like the MSP registry and the rules: a
// new set that does not load (any file invalid, a name taken twice) is
// rejected as a whole, its errors logged with their file:line, and the
// previous set keeps converting.
type FormatsWatcher struct {
	cfg     WatchConfig
	current atomic.Pointer[Formats]

	mu  sync.Mutex // serialises reloads
	sum [32]byte
	// hup replaces SIGHUP in tests.
	hup chan os.Signal

	reloads      *prometheus.CounterVec
	lastReloadOK prometheus.Gauge
}

// NewFormatsWatcher loads the files once; at start-up an invalid file is
// an error (a worker must not run without a format it was told to read).
func NewFormatsWatcher(cfg WatchConfig) (*FormatsWatcher, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	f := promauto.With(cfg.Registerer)
	w := &FormatsWatcher{cfg: cfg,
		reloads: f.NewCounterVec(prometheus.CounterOpts{Name: "tripline_mapping_reloads_total",
			Help: "Reloads of the mapping files (--mapping), by result."}, []string{"result"}),
		lastReloadOK: f.NewGauge(prometheus.GaugeOpts{Name: "tripline_mapping_last_reload_ok",
			Help: "1 if the last load of the mapping files succeeded, 0 if the previous set is still in use."}),
	}
	sum, _ := w.fingerprint()
	fs, err := LoadFormats(cfg.Files...)
	if err != nil {
		return nil, err
	}
	w.current.Store(fs)
	w.sum = sum
	w.lastReloadOK.Set(1)
	return w, nil
}

// Formats is the current set.
func (w *FormatsWatcher) Formats() *Formats { return w.current.Load() }

// Get returns the adapter of a format in the current set.
func (w *FormatsWatcher) Get(name string) (Adapter, bool) { return w.current.Load().Get(name) }

// Names lists the current set's formats.
func (w *FormatsWatcher) Names() []string { return w.current.Load().Names() }

// Reload loads the files again and swaps the set in if they are valid;
// otherwise the previous set stays in use and the error is returned.
func (w *FormatsWatcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	sum, _ := w.fingerprint()
	fs, err := LoadFormats(w.cfg.Files...)
	w.sum = sum // a broken file is not retried every poll, only when it changes
	if err != nil {
		// Logged before counted: whoever sees the counter move finds the
		// reason already in the log.
		for _, e := range unjoin(err) {
			w.cfg.Log.Error().Str("at", e.Error()).Msg("mapping reload rejected; previous formats stay in use")
		}
		w.reloads.WithLabelValues("error").Inc()
		w.lastReloadOK.Set(0)
		return err
	}
	w.current.Store(fs)
	w.cfg.Log.Info().Strs("formats", fs.Names()).Msg("mapping files reloaded")
	w.reloads.WithLabelValues("success").Inc()
	w.lastReloadOK.Set(1)
	return nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// Watch reloads on SIGHUP and when a file's content changes, until ctx is
// done.
func (w *FormatsWatcher) Watch(ctx context.Context) {
	var hup <-chan os.Signal
	if w.hup != nil {
		hup = w.hup
	}
	reload.Loop(ctx, w.cfg.PollInterval, hup, w.changed, func(why reload.Reason) {
		if why == reload.Signal {
			w.cfg.Log.Info().Msg("SIGHUP: reloading the mapping files")
		}
		_ = w.Reload()
	})
}

func (w *FormatsWatcher) changed() bool {
	sum, err := w.fingerprint()
	if err != nil {
		w.cfg.Log.Warn().Err(err).Msg("cannot read a mapping file")
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return sum != w.sum
}

// fingerprint hashes the files' contents (mapping files are small; a hash
// sees an edit that keeps size and modification time).
func (w *FormatsWatcher) fingerprint() ([32]byte, error) {
	h := sha256.New()
	var errs []error
	for _, f := range w.cfg.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
		}
		h.Write([]byte(f))
		h.Write([]byte{0})
		h.Write(data)
		h.Write([]byte{0})
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, errors.Join(errs...)
}
