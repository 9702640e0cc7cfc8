package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
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
type testFile struct {
	Rule    string           `yaml:"rule"`
	Match   []map[string]any `yaml:"match"`
	NoMatch []map[string]any `yaml:"no_match"`
}

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
		rs, errs := Load(Source{Path: p}, cfg)
		for _, f := range files {
			results = append(results, testRuleFile(f, rs, errsFor(f, errs))...)
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

func testRuleFile(path string, all *engine.RuleSet, loadErrs []error) []TestResult {
	if len(loadErrs) > 0 || all == nil {
		msg := "does not load"
		if len(loadErrs) > 0 {
			msg = fmt.Sprintf("does not load: %v", loadErrs[0])
		}
		return []TestResult{{RuleID: filepath.Base(path), File: path, Failures: []string{msg}}}
	}
	var fileRules []*engine.Rule
	for _, r := range all.Rules() {
		if r.Path == path {
			fileRules = append(fileRules, r)
		}
	}
	testPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".tests.yml"
	var results []TestResult
	for _, r := range fileRules {
		results = append(results, TestResult{RuleID: r.Identity(), File: path})
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
	if err := yaml.Unmarshal(data, &tf); err != nil {
		return fail(fmt.Sprintf("%s: %v", testPath, err))
	}
	dec := contract.Decoder{}
	for i := range results {
		res := &results[i]
		r := fileRules[i]
		if tf.Rule != "" && tf.Rule != r.Identity() && tf.Rule != r.Name {
			res.Failures = append(res.Failures, fmt.Sprintf("%s tests rule %q only", filepath.Base(testPath), tf.Rule))
			continue
		}
		if len(tf.Match) == 0 || len(tf.NoMatch) == 0 {
			res.Failures = append(res.Failures, "needs at least one match and one no_match event")
		}
		run := func(kind string, cases []map[string]any, want bool) {
			for n, c := range cases {
				raw, err := json.Marshal(c)
				if err != nil {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", kind, n, err))
					continue
				}
				ev, err := ParseOfflineEvent(&dec, raw, defaultLogsource(r))
				if err != nil {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", kind, n, err))
					continue
				}
				if ev.ContractErr != nil {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: not a valid contract event: %v", kind, n, ev.ContractErr))
					continue
				}
				got := false
				for _, m := range all.Match(ev.Source, nil) {
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
		run("match", tf.Match, true)
		run("no_match", tf.NoMatch, false)
	}
	return results
}

// defaultLogsource gives arbitrary-JSON test events the tested rule's own
// logsource, so that routing does not hide them from it.
func defaultLogsource(r *engine.Rule) fields.Logsource {
	return fields.Logsource{Product: r.Logsource.Product, Category: r.Logsource.Category, Service: r.Logsource.Service}
}
