package rules

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/reload"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Dir is a rule directory or file; empty means the embedded pack.
	Dir string
	// SigmaHQ is the SigmaHQ checkout the rule lists read from (Source);
	// empty leaves those rules off.
	SigmaHQ string
	Engine  engine.Config
	// PollInterval is how often Watch looks for changed files (default 2s).
	// Polling, rather than inotify, also sees Kubernetes ConfigMap updates,
	// which swap a symlink.
	PollInterval time.Duration
	Log          zerolog.Logger
	Registerer   prometheus.Registerer
}

// Manager serves the current rule set and replaces it when the files change.
type Manager struct {
	cfg ManagerConfig
	src Source
	// current is the snapshot in use: rules and correlations swapped as
	// one value, so no reader ever pairs one version's rules with
	// another's correlations.
	current atomic.Pointer[detection.Snapshot]

	// reloadMu serialises reloads (poll, SIGHUP, explicit calls).
	reloadMu sync.Mutex
	// fingerprint of the files the current set was loaded from.
	fingerprint [32]byte

	reloads      *prometheus.CounterVec
	loadedRules  prometheus.Gauge
	lastReloadOK prometheus.Gauge
}

// NewManager loads the rules once. At start-up any invalid file is an
// error: a detector should not silently run without some of its rules.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	m := &Manager{
		cfg: cfg,
		src: Source{Path: cfg.Dir, SigmaHQ: cfg.SigmaHQ, Warn: func(err error) {
			cfg.Log.Warn().Err(err).Msg("SigmaHQ rule skipped")
		}},
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_rules_reloads_total", Help: "Rule set reload attempts, by result.",
		}, []string{"result"}),
		loadedRules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_rules_loaded", Help: "Rules in the running rule set.",
		}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tripline_rules_last_reload_success", Help: "1 if the last reload succeeded, 0 if the previous set is still running.",
		}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(m.reloads, m.loadedRules, m.lastReloadOK)
	}
	fp, _ := m.fingerprintNow()
	b, errs := LoadBundle(m.src, cfg.Engine)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w in %s: %w", ErrInvalid, m.src, errors.Join(errs...))
	}
	m.install(b, fp)
	cfg.Log.Info().Str("rules", m.src.String()).Int("count", b.Rules.Len()).Int("correlations", b.Correlations.Len()).Msg("rules loaded")
	return m, nil
}

// Snapshot returns the rules and correlations in use.
func (m *Manager) Snapshot() *detection.Snapshot { return m.current.Load() }

// RuleSet returns the rule set in use.
func (m *Manager) RuleSet() *engine.RuleSet { return m.current.Load().Rules }

// Correlations returns the correlations in use.
func (m *Manager) Correlations() *correlate.Set { return m.current.Load().Correlations }

// Match matches ev against the current rule set.
func (m *Manager) Match(ev fields.Source, dst []*engine.Rule) []*engine.Rule {
	return m.current.Load().Rules.Match(ev, dst)
}

func (m *Manager) install(b *Bundle, fp [32]byte) {
	rs := b.Rules
	m.current.Store(b)
	m.fingerprint = fp
	m.loadedRules.Set(float64(rs.Len()))
	m.lastReloadOK.Set(1)
}

// Reload loads the files again and swaps the set in if every file is valid.
// On error the previous set keeps running.
func (m *Manager) Reload() error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	fp, _ := m.fingerprintNow()
	b, errs := LoadBundle(m.src, m.cfg.Engine)
	if len(errs) > 0 {
		// Logged before counted: whoever sees the counter move (a test, an
		// alert on the metric) finds the reason already in the log.
		for _, err := range errs {
			m.cfg.Log.Error().Str("rules", m.src.String()).Err(err).Msg("rule reload rejected; previous rule set keeps running")
		}
		m.reloads.WithLabelValues("error").Inc()
		m.lastReloadOK.Set(0)
		m.fingerprint = fp // do not retry the same broken files every poll
		return fmt.Errorf("%w in %s: %w", ErrInvalid, m.src, errors.Join(errs...))
	}
	prev := m.current.Load().Rules.Len()
	m.install(b, fp)
	m.cfg.Log.Info().Str("rules", m.src.String()).Int("count", b.Rules.Len()).Int("correlations", b.Correlations.Len()).Int("previous", prev).Msg("rules reloaded")
	m.reloads.WithLabelValues("success").Inc()
	return nil
}

// Watch reloads on SIGHUP and when the files change, until ctx is done.
// The embedded pack never changes, so Watch only waits then.
func (m *Manager) Watch(ctx context.Context) {
	changed := m.changed
	if m.src.Path == "" {
		changed = nil
	}
	reload.Loop(ctx, m.cfg.PollInterval, nil, changed, func(why reload.Reason) {
		if why == reload.Signal {
			m.cfg.Log.Info().Msg("SIGHUP: reloading rules")
		}
		_ = m.Reload()
	})
}

func (m *Manager) changed() bool {
	fp, err := m.fingerprintNow()
	if err != nil {
		m.cfg.Log.Warn().Err(err).Msg("cannot scan rule directory")
		return false
	}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	return fp != m.fingerprint
}

// fingerprintNow hashes the names, sizes and modification times of the rule
// files, which is enough to notice an edit, an addition or a removal.
func (m *Manager) fingerprintNow() ([32]byte, error) {
	fsys, files, err := m.src.fsys()
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	for _, f := range files {
		info, err := fs.Stat(fsys, f)
		if err != nil {
			return [32]byte{}, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f, info.Size(), info.ModTime().UnixNano())
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}
