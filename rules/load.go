package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

//go:embed msp
var pack embed.FS

// Pack is the default rule pack shipped in the binary.
func Pack() fs.FS { return pack }

// IsRuleFile reports whether name is a Sigma rule file (and not a rule test
// file).
func IsRuleFile(name string) bool {
	ext := path.Ext(name)
	return (ext == ".yml" || ext == ".yaml") && !IsTestFile(name)
}

// IsTestFile reports whether name is a rule test file.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, ".tests.yml") || strings.HasSuffix(name, ".tests.yaml")
}

// Source says where rules come from: a directory or a single file on disk,
// or the embedded pack when Path is empty.
type Source struct {
	Path string
}

// fsys returns the file system and the root or single file to load.
func (s Source) fsys() (fs.FS, []string, error) {
	if s.Path == "" {
		files, err := ruleFiles(pack, ".")
		return pack, files, err
	}
	info, err := os.Stat(s.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: %w", err)
	}
	if !info.IsDir() {
		dir, file := filepath.Split(s.Path)
		if dir == "" {
			dir = "."
		}
		return os.DirFS(dir), []string{file}, nil
	}
	fsys := os.DirFS(s.Path)
	files, err := ruleFiles(fsys, ".")
	return fsys, files, err
}

func (s Source) String() string {
	if s.Path == "" {
		return "embedded rule pack"
	}
	return s.Path
}

// ruleFiles lists rule files below root in a stable order.
func ruleFiles(fsys fs.FS, root string) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if IsRuleFile(p) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// Load parses and compiles every rule file of src. Errors carry file:line;
// a non-empty error list means the set is incomplete. Correlations are
// compiled and checked too (see LoadBundle) but not returned.
func Load(src Source, cfg engine.Config) (*engine.RuleSet, []error) {
	b, errs := LoadBundle(src, cfg)
	if b == nil {
		return nil, errs
	}
	return b.Rules, errs
}

// Bundle is what a rule source holds: the plain rules and the correlations
// (Sigma correlation rules and tripline's anomaly types) over them, as the
// detection core's immutable snapshot.
type Bundle = detection.Snapshot

// LoadBundle parses and compiles every rule and correlation of src.
func LoadBundle(src Source, cfg engine.Config) (*Bundle, []error) {
	fsys, files, err := src.fsys()
	if err != nil {
		return nil, []error{err}
	}
	prefix := src.Path
	if prefix != "" {
		if info, statErr := os.Stat(prefix); statErr == nil && !info.IsDir() {
			prefix = filepath.Dir(prefix)
		}
	}
	var coll sigma.Collection
	var errs []error
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", f, err))
			continue
		}
		name := f
		if prefix != "" {
			name = filepath.Join(prefix, f)
		} else {
			name = path.Join("rules", f)
		}
		c, err := sigma.ParseBytes(data, name)
		if err != nil {
			errs = append(errs, flatten(err)...)
		}
		coll.Add(c)
		if coll.Nodes > maxSetNodes {
			errs = append(errs, setTooLarge(name, coll.Nodes))
			break
		}
	}
	// An id or name used twice would resolve references to one of the two
	// rules and silently starve the other.
	errs = append(errs, coll.RemoveDuplicates()...)
	rs, cerrs := engine.CompileCollection(&coll, cfg)
	errs = append(errs, cerrs...)
	cs, corrErrs := correlate.Compile(coll.Correlations, rs)
	errs = append(errs, corrErrs...)
	policies, perrs := alertPolicies(&coll)
	return &Bundle{Rules: rs, Correlations: cs, Alerts: policies}, append(errs, perrs...)
}

// flatten unpacks joined errors so each is reported on its own line.
func flatten(err error) []error {
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range multi.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// ErrInvalid is wrapped by load errors that reject a whole rule set.
var ErrInvalid = errors.New("invalid rule set")
