package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

// Severity of a lint finding.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	// SeverityInfo is a note that needs no change to the rule (e.g. that
	// it reads context.* fields, which only ingest --registry sets).
	SeverityInfo Severity = "info"
)

// Finding is one lint result, printed "file:line:col: severity: message".
type Finding struct {
	Pos      sigma.Pos
	Severity Severity
	Msg      string
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s: %s", f.Pos, f.Severity, f.Msg) }

// Lint checks the rule files at path (a file or a directory, recursively):
// YAML and schema, condition references, modifiers and regular expressions
// (everything the engine compiles) as errors; for rules on the MSP
// logsource, fields outside the event contract and missing metadata as
// warnings.
func Lint(path string, cfg engine.Config) ([]Finding, error) {
	return LintPaths([]string{path}, cfg)
}

// LintPaths is Lint over several files and directories checked as one rule
// set, as the detector would load them together: an id or name used in two
// of them is an error, and references resolve across them.
func LintPaths(paths []string, cfg engine.Config) ([]Finding, error) {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		// A file named twice (a directory and a file in it) is one file,
		// not a duplicate of its own rules.
		key := filepath.Clean(f)
		if abs, err := filepath.Abs(f); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, f)
		}
	}
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("lint: %w", err)
		}
		if !info.IsDir() {
			add(path)
			continue
		}
		found, err := ruleFiles(os.DirFS(path), ".")
		if err != nil {
			return nil, fmt.Errorf("lint %s: %w", path, err)
		}
		for _, f := range found {
			add(filepath.Join(path, f))
		}
	}
	// Parse file by file (a broken file must not hide the others), then
	// compile everything as one set, as the detector does, so filters and
	// references across files resolve.
	var out []Finding
	var all sigma.Collection
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("lint: %w", err)
		}
		coll, err := sigma.ParseBytes(data, f)
		if err != nil {
			for _, e := range flatten(err) {
				out = append(out, errorFinding(f, e))
			}
		}
		if coll == nil {
			continue
		}
		all.Add(coll)
		for _, r := range coll.Rules {
			out = append(out, lintRule(r)...)
		}
		if all.Nodes > maxSetNodes {
			out = append(out, errorFinding(f, setTooLarge(f, all.Nodes)))
			break
		}
	}
	where := ""
	if len(paths) > 0 {
		where = paths[0]
	}
	for _, e := range all.RemoveDuplicates() {
		out = append(out, errorFinding(where, e))
	}
	rs, cerrs := engine.CompileCollection(&all, cfg)
	_, corrErrs := correlate.Compile(all.Correlations, rs)
	_, alertErrs := alertPolicies(&all)
	for _, e := range slices.Concat(cerrs, corrErrs, alertErrs) {
		out = append(out, errorFinding(where, e))
	}
	for _, c := range all.Correlations {
		if c.ID == "" {
			out = append(out, Finding{Pos: c.Pos, Severity: SeverityWarning, Msg: "correlation has no id: detections will be keyed by its name or file name"})
		}
		if c.Level == "" {
			out = append(out, Finding{Pos: c.Pos, Severity: SeverityWarning, Msg: "correlation has no level"})
		}
	}
	return out, nil
}

func errorFinding(file string, err error) Finding {
	var se *sigma.Error
	if errors.As(err, &se) {
		msg := se.Msg
		if se.Err != nil {
			msg += ": " + se.Err.Error()
		}
		return Finding{Pos: se.Pos, Severity: SeverityError, Msg: msg}
	}
	return Finding{Pos: sigma.Pos{File: file}, Severity: SeverityError, Msg: err.Error()}
}

// freeFormPrefixes are field families whose names are free-form.
var freeFormPrefixes = []string{"attributes."}

func lintRule(r *sigma.Rule) []Finding {
	var out []Finding
	warn := func(pos sigma.Pos, format string, args ...any) {
		out = append(out, Finding{Pos: pos, Severity: SeverityWarning, Msg: fmt.Sprintf(format, args...)})
	}
	if r.ID == "" {
		warn(r.Pos, "rule has no id: detections will be keyed by its file name, which changes when the file moves")
	}
	if r.Level == "" {
		warn(r.Pos, "rule has no level")
	}
	if !strings.EqualFold(r.Logsource.Product, contract.Product) || r.Detection == nil {
		return out
	}
	var needsRegistry []string
	var needsRegistryPos sigma.Pos
	for _, name := range r.Detection.Order {
		s := r.Detection.Searches[name]
		for _, g := range s.Groups {
			for _, it := range g.Items {
				if it.Field == "" || slices.Contains(contract.FieldPaths, it.Field) {
					continue
				}
				if strings.HasPrefix(it.Field, "context.") {
					if !slices.Contains(contract.ContextPaths, it.Field) {
						warn(it.Pos, "field %q is not a registry context field (known: %s); the rule can never see it", it.Field, strings.Join(contract.ContextPaths, ", "))
					} else if !slices.Contains(needsRegistry, it.Field) {
						if needsRegistry == nil {
							needsRegistryPos = it.Pos
						}
						needsRegistry = append(needsRegistry, it.Field)
					}
					continue
				}
				if slices.ContainsFunc(freeFormPrefixes, func(p string) bool { return strings.HasPrefix(it.Field, p) }) {
					continue
				}
				warn(it.Pos, "field %q is not in the MSP event contract v1 (known: %s); the rule can never see it on MSP events", it.Field, strings.Join(contract.FieldPaths, ", "))
			}
		}
	}
	if len(needsRegistry) > 0 {
		out = append(out, Finding{Pos: needsRegistryPos, Severity: SeverityInfo, Msg: fmt.Sprintf(
			"needs the registry: reads %s, which only `tripline ingest --registry` sets (docs/registry.md); without a registry this rule stays silent",
			strings.Join(needsRegistry, ", "))})
	}
	return out
}
