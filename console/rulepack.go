package console

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/sigma"
)

// RuleInfo is what the console shows of a rule or correlation.
type RuleInfo struct {
	ID          string
	Title       string
	Level       string
	Tags        []string
	Description string
	Path        string
	Correlation bool
	// Conditions and Searches say what the rule looks for: the condition
	// strings, and each search's items as "field|modifiers: values".
	Conditions []string
	Searches   []Search
}

// Search is one named search of a rule.
type Search struct {
	Name  string
	Items []string
}

// RulePack is the rule pack the console reads, loaded as detect loads it
// (rules.LoadBundle from --rules, else the embedded pack), with the
// outcome of the last reload.
type RulePack struct {
	src rules.Source
	cfg engine.Config

	mu       sync.Mutex
	snap     *packSnapshot
	byID     map[string]*RuleInfo
	order    []*RuleInfo
	loadedAt time.Time
	lastAt   time.Time
	lastErrs []string
}

// NewRulePack loads the pack in dir ("" for the embedded one). An invalid
// pack is an error at start-up, as for detect.
func NewRulePack(dir string, cfg engine.Config) (*RulePack, error) {
	p := &RulePack{src: rules.Source{Path: dir}, cfg: cfg}
	if err := p.Reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload loads the pack again; on error the previous pack stays and the
// errors are kept for the rule health page.
func (p *RulePack) Reload() error {
	b, errs := rules.LoadBundle(p.src, p.cfg)
	now := time.Now().UTC()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastAt = now
	p.lastErrs = p.lastErrs[:0:0]
	for _, err := range errs {
		p.lastErrs = append(p.lastErrs, err.Error())
	}
	if len(errs) > 0 || b == nil {
		return errors.Join(errs...)
	}
	byID := map[string]*RuleInfo{}
	var order []*RuleInfo
	snap := &packSnapshot{set: b.Rules, rules: map[string]*engine.Rule{}, corrs: map[string]*correlate.Rule{}, probes: map[string]*probeSet{}}
	for _, r := range b.Rules.Rules() {
		snap.rules[r.Identity()] = r
		ri := &RuleInfo{ID: r.Identity(), Title: r.Title, Level: r.Level, Tags: r.Tags, Description: r.Description, Path: r.Path}
		if r.Sigma != nil && r.Sigma.Detection != nil {
			ri.Conditions, ri.Searches = describe(r.Sigma.Detection)
		}
		byID[ri.ID] = ri
		order = append(order, ri)
	}
	for _, c := range b.Correlations.Rules() {
		snap.corrs[c.ID] = c
		ri := &RuleInfo{ID: c.ID, Title: c.Title, Level: c.Level, Tags: c.Tags, Correlation: true}
		if c.Sigma != nil {
			ri.Description = c.Sigma.Description
			ri.Conditions = []string{c.Sigma.Type + " of " + strings.Join(c.Refs, ", ") + " by " + strings.Join(c.GroupBy, ", ") + " within " + c.Sigma.TimespanRaw}
		}
		byID[ri.ID] = ri
		order = append(order, ri)
	}
	p.byID, p.order, p.loadedAt, p.snap = byID, order, now, snap
	return nil
}

// packSnapshot is the compiled pack as loaded, for "why it matched":
// the rule set the detector would run, its rules and correlations by
// identity, and the probes compiled so far (package explain).
type packSnapshot struct {
	set   *engine.RuleSet
	rules map[string]*engine.Rule
	corrs map[string]*correlate.Rule

	mu     sync.Mutex
	probes map[string]*probeSet
}

func (p *RulePack) snapshot() *packSnapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap
}

// probes returns the probes of r, compiled on first use per loaded pack.
func (p *RulePack) probes(snap *packSnapshot, r *engine.Rule) *probeSet {
	id := r.Identity()
	snap.mu.Lock()
	ps := snap.probes[id]
	snap.mu.Unlock()
	if ps != nil {
		return ps
	}
	// Compiled outside the lock: two pages racing compile twice, and
	// one result is kept.
	ps = compileProbes(r, p.cfg)
	snap.mu.Lock()
	defer snap.mu.Unlock()
	if old := snap.probes[id]; old != nil {
		return old
	}
	snap.probes[id] = ps
	return ps
}

// describe renders a detection's conditions and searches for people.
func describe(d *sigma.Detection) ([]string, []Search) {
	var conds []string
	for _, c := range d.Conditions {
		conds = append(conds, c.Text)
	}
	var searches []Search
	for _, name := range d.Order {
		s := d.Searches[name]
		if s == nil {
			continue
		}
		out := Search{Name: name}
		for gi, g := range s.Groups {
			for _, it := range g.Items {
				prefix := ""
				if len(s.Groups) > 1 {
					prefix = "or #" + strconv.Itoa(gi+1) + ": "
				}
				out.Items = append(out.Items, prefix+itemText(it))
			}
		}
		searches = append(searches, out)
	}
	return conds, searches
}

// Rule returns the rule with identity id, or nil.
func (p *RulePack) Rule(id string) *RuleInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byID[id]
}

// Status is the pack's state for the rule health page.
type Status struct {
	Source   string
	Rules    []*RuleInfo
	LoadedAt time.Time
	LastAt   time.Time
	LastErrs []string
}

// Status returns the rules in load order and the last reload's outcome.
func (p *RulePack) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{Source: p.src.String(), Rules: p.order, LoadedAt: p.loadedAt, LastAt: p.lastAt, LastErrs: p.lastErrs}
}

// Watch reloads a pack on disk every interval until ctx is done (the
// embedded pack never changes). Errors are kept, not fatal.
func (p *RulePack) Watch(ctx context.Context, interval time.Duration) {
	if p.src.Path == "" || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = p.Reload()
		}
	}
}
