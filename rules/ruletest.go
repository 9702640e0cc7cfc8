package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
	"github.com/tripline/tripline/yamlbound"
)

// A rule's tests live beside it in NAME.tests.yml:
//
//	rule: <id>           # optional: which rule of NAME.yml (default: all)
//	match:               # events every tested rule must match
//	  - {event_type: script.run, ...}
//	no_match:            # events no tested rule may match
//	  - {...}
//
// Events are contract events or arbitrary JSON objects written as YAML.
//
// Correlations are tested with timed sequences; every case is run through
// a fresh evaluator, in event-time order:
//
//	match:
//	  - sequence:
//	      - {event_type: auth.failure, time: "2026-11-20T10:00:00Z", ..., _repeat: 10, _every: 20s}
//	      - {event_type: auth.login, _after: 1m, ...}
//	no_match:
//	  - sequence: [...]
type testFile struct {
	Rule    string           `yaml:"rule"`
	Match   []map[string]any `yaml:"match"`
	NoMatch []map[string]any `yaml:"no_match"`
}

// TestFileLimits bound a rule test file (see package yamlbound) as rule
// files are bounded: the largest shipped test file has some 1,200 nodes.
var TestFileLimits = yamlbound.Limits{
	Kind:         "rule test file",
	MaxBytes:     16 << 20,
	MaxNodes:     100_000,
	MaxDepth:     64,
	MaxDocuments: 1,
}

// maxSequenceEvents bounds the events one test case expands to (`_repeat`
// multiplies them as aliases do nodes).
const maxSequenceEvents = 100_000

// TestResult is the outcome of one rule's tests.
type TestResult struct {
	RuleID   string
	File     string
	Matched  int // match cases passed
	Rejected int // no_match cases passed
	Failures []string
}

// Passed reports whether every case passed and both kinds of case exist.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

// Test runs the tests of every rule file under the given paths (files or
// directories). A directory is loaded as one rule set, as the detector loads
// it, so filters and references across files apply. A rule without a tests
// file, or without at least one match and one no_match case, fails.
func Test(paths []string, cfg engine.Config) ([]TestResult, error) {
	var results []TestResult
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules test: %w", err)
		}
		files := []string{filepath.Clean(p)}
		if info.IsDir() {
			found, err := ruleFiles(os.DirFS(p), ".")
			if err != nil {
				return nil, fmt.Errorf("rules test: %w", err)
			}
			files = files[:0]
			for _, f := range found {
				files = append(files, filepath.Join(p, f))
			}
		}
		b, errs := LoadBundle(Source{Path: p}, cfg)
		for _, f := range files {
			results = append(results, testRuleFile(f, b, errsFor(f, errs))...)
		}
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].File < results[j].File })
	return results, nil
}

// errsFor returns the load errors located in file.
func errsFor(file string, errs []error) []error {
	var out []error
	for _, err := range errs {
		if strings.Contains(err.Error(), file+":") {
			out = append(out, err)
		}
	}
	return out
}

func testRuleFile(path string, b *Bundle, loadErrs []error) []TestResult {
	if len(loadErrs) > 0 || b == nil || b.Rules == nil {
		msg := "does not load"
		if len(loadErrs) > 0 {
			msg = fmt.Sprintf("does not load: %v", loadErrs[0])
		}
		return []TestResult{{RuleID: filepath.Base(path), File: path, Failures: []string{msg}}}
	}
	rs, cs := b.Rules, b.Correlations
	testPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".tests.yml"
	// The tested units: plain rules that generate detections of their own,
	// and every correlation. Rules only a correlation reads are covered by
	// the correlation's sequences.
	type unit struct {
		rule *engine.Rule
		corr *correlate.Rule
	}
	var units []unit
	var results []TestResult
	for _, r := range rs.Rules() {
		if r.Path == path && cs.Generates(r.Identity()) {
			units = append(units, unit{rule: r})
			results = append(results, TestResult{RuleID: r.Identity(), File: path})
		}
	}
	for _, c := range cs.Rules() {
		if c.Sigma.Path != path || !cs.Generates(c.ID) {
			continue // intermediate correlations are tested through their parent
		}
		units = append(units, unit{corr: c})
		results = append(results, TestResult{RuleID: c.ID, File: path})
	}
	fail := func(msg string) []TestResult {
		for i := range results {
			results[i].Failures = append(results[i].Failures, msg)
		}
		return results
	}
	data, err := os.ReadFile(testPath)
	if err != nil {
		return fail(fmt.Sprintf("no tests: create %s with match and no_match events", filepath.Base(testPath)))
	}
	var tf testFile
	if err := yamlbound.Unmarshal(data, testPath, TestFileLimits, &tf); err != nil {
		return fail(err.Error()) // file:line: message
	}
	dec := contract.Decoder{}
	parse := func(c map[string]any, ls fields.Logsource) (OfflineEvent, []byte, error) {
		raw, err := json.Marshal(c)
		if err != nil {
			return OfflineEvent{}, nil, err
		}
		ev, err := ParseOfflineEvent(&dec, raw, ls)
		if err != nil {
			return ev, raw, err
		}
		if ev.ContractErr != nil {
			return ev, raw, fmt.Errorf("not a valid contract event: %v", ev.ContractErr)
		}
		return ev, raw, nil
	}
	for i := range results {
		res := &results[i]
		u := units[i]
		if u.corr != nil {
			if tf.Rule != "" && !u.corr.Sigma.Refers(tf.Rule) {
				res.Failures = append(res.Failures, fmt.Sprintf("%s tests rule %q only", filepath.Base(testPath), tf.Rule))
				continue
			}
			testCorrelation(res, b, u.corr, tf, parse)
			continue
		}
		r := u.rule
		if tf.Rule != "" && tf.Rule != r.Identity() && tf.Rule != r.Name {
			res.Failures = append(res.Failures, fmt.Sprintf("%s tests rule %q only", filepath.Base(testPath), tf.Rule))
			continue
		}
		match, noMatch := plainCases(tf.Match), plainCases(tf.NoMatch)
		if len(match) == 0 || len(noMatch) == 0 {
			res.Failures = append(res.Failures, "needs at least one match and one no_match event")
		}
		run := func(kind string, cases []map[string]any, want bool) {
			for n, c := range cases {
				ev, raw, err := parse(c, defaultLogsource(r))
				if err != nil {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", kind, n, err))
					continue
				}
				got := false
				for _, m := range rs.Match(ev.Source, nil) {
					got = got || m == r
				}
				switch {
				case got == want && want:
					res.Matched++
				case got == want:
					res.Rejected++
				case want:
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: expected a match, got none: %s", kind, n, raw))
				default:
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: expected no match, but it matched: %s", kind, n, raw))
				}
			}
		}
		run("match", match, true)
		run("no_match", noMatch, false)
	}
	return results
}

// plainCases are the single-event cases (not `sequence:` ones).
func plainCases(cases []map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range cases {
		if _, seq := c["sequence"]; !seq {
			out = append(out, c)
		}
	}
	return out
}

// testCorrelation runs the `sequence:` cases of a test file through a
// fresh evaluator each: a match sequence must make the correlation fire, a
// no_match sequence must not. A plain event case is a sequence of one.
//
// In a sequence, an event may carry `_after: 2m` (its time is the previous
// event's plus 2m, instead of a `time` of its own), `_repeat: N` (N copies)
// and `_every: 10s` (the spacing of the copies, default 1s).
func testCorrelation(res *TestResult, b *Bundle, c *correlate.Rule, tf testFile,
	parse func(map[string]any, fields.Logsource) (OfflineEvent, []byte, error)) {
	var ls fields.Logsource
	if refs := b.Rules.Rules(); len(refs) > 0 {
		for _, r := range refs {
			if slices.Contains(c.Refs, r.Identity()) {
				ls = defaultLogsource(r)
				break
			}
		}
	}
	run := func(kind string, cases []map[string]any, want bool) int {
		n := 0
		for i, cs := range cases {
			seq, err := expandSequence(cs)
			if err != nil {
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", kind, i, err))
				continue
			}
			var evs []OfflineEvent
			bad := false
			for j, e := range seq {
				ev, _, err := parse(e, ls)
				if err != nil {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d] event %d: %v", kind, i, j, err))
					bad = true
					break
				}
				evs = append(evs, ev)
			}
			if bad {
				continue
			}
			core := detection.New(b, detection.Config{})
			var got []correlate.Detection
			collect := func(r detection.Result) {
				if r.Correlation != nil && r.Correlation.Rule == c {
					got = append(got, *r.Correlation)
				}
			}
			for j, ev := range evs {
				id := ev.ID
				if id == "" {
					// Zero-padded: ties in time order by ID, so input order.
					id = fmt.Sprintf("event-%06d", j)
				}
				in := ev.Input(id)
				core.Process(&in, collect)
			}
			core.Flush(collect)
			n++
			switch {
			case want && len(got) > 0:
				res.Matched++
			case !want && len(got) == 0:
				res.Rejected++
			case want:
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: expected the correlation to fire on %d events, it did not", kind, i, len(evs)))
			default:
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: expected no detection, got %d: %s", kind, i, len(got), got[0].Summary))
			}
		}
		return n
	}
	m := run("match", tf.Match, true)
	nm := run("no_match", tf.NoMatch, false)
	if m == 0 || nm == 0 {
		res.Failures = append(res.Failures, "needs at least one match and one no_match sequence")
	}
}

// expandSequence turns one case into its timed events.
func expandSequence(c map[string]any) ([]map[string]any, error) {
	var items []any
	if seq, ok := c["sequence"]; ok {
		list, ok := seq.([]any)
		if !ok {
			return nil, fmt.Errorf("sequence must be a list of events")
		}
		items = list
	} else {
		items = []any{c}
	}
	var out []map[string]any
	var prev time.Time
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("sequence event %d is not a mapping", i)
		}
		e := map[string]any{}
		for k, v := range m {
			e[k] = v
		}
		dur := func(key string, def time.Duration) (time.Duration, error) {
			v, ok := e[key]
			delete(e, key)
			if !ok {
				return def, nil
			}
			d, err := sigma.ParseTimespan(fmt.Sprint(v))
			if err != nil {
				return 0, fmt.Errorf("sequence event %d: %s: %v", i, key, err)
			}
			return d, nil
		}
		after, err := dur("_after", -1)
		if err != nil {
			return nil, err
		}
		every, err := dur("_every", time.Second)
		if err != nil {
			return nil, err
		}
		repeat := 1
		if v, ok := e["_repeat"]; ok {
			n, ok := v.(int)
			if !ok || n < 1 {
				return nil, fmt.Errorf("sequence event %d: _repeat must be a positive integer", i)
			}
			repeat = n
			delete(e, "_repeat")
		}
		if len(out)+repeat > maxSequenceEvents {
			return nil, fmt.Errorf("sequence event %d: the sequence expands to more than %d events", i, maxSequenceEvents)
		}
		var t time.Time
		switch {
		case after >= 0:
			if prev.IsZero() {
				return nil, fmt.Errorf("sequence event %d: _after needs an earlier event with a time", i)
			}
			t = prev.Add(after)
		default:
			s, _ := e["time"].(string)
			if s == "" {
				return nil, fmt.Errorf("sequence event %d: needs time or _after", i)
			}
			p, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("sequence event %d: time: %v", i, err)
			}
			t = p
		}
		for r := 0; r < repeat; r++ {
			cp := map[string]any{}
			for k, v := range e {
				cp[k] = v
			}
			// In the offset the sequence was written in: contract
			// time_local keeps it for rules asking for the local hour.
			cp["time"] = t.Format(time.RFC3339Nano)
			out = append(out, cp)
			prev = t
			t = t.Add(every)
		}
	}
	return out, nil
}

// defaultLogsource gives arbitrary-JSON test events the tested rule's own
// logsource, so that routing does not hide them from it.
func defaultLogsource(r *engine.Rule) fields.Logsource {
	return fields.Logsource{Product: r.Logsource.Product, Category: r.Logsource.Category, Service: r.Logsource.Service}
}
