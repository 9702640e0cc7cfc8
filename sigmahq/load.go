package sigmahq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

// ListFile is the name of a list of enabled SigmaHQ rules inside a rule
// source (the pack ships rules/msp/sigmahq.txt).
const ListFile = "sigmahq.txt"

// ErrNoCorpus is wrapped by the error for a SigmaHQ checkout that is not
// there: the pack's own rules still load, the listed ones cannot.
var ErrNoCorpus = errors.New("SigmaHQ corpus not found")

// Entry is one enabled rule of a list: its path below the SigmaHQ
// repository's rules/ folder and, to notice a file that now holds another
// rule, its id.
type Entry struct {
	Path string
	ID   string
	Pos  sigma.Pos // where the list names it
}

// ParseList reads a list file: one rule a line, "PATH ID", the id
// optional; '#' starts a comment. name is the file's name for errors.
func ParseList(data []byte, name string) ([]Entry, []error) {
	var out []Entry
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		pos := sigma.Pos{File: name, Line: line, Col: 1}
		switch {
		case len(f) == 0:
			continue
		case len(f) > 2:
			errs = append(errs, sigma.Errorf(pos, "want \"PATH [ID]\", got %d words", len(f)))
			continue
		}
		p := path.Clean(f[0])
		if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || !strings.HasSuffix(p, ".yml") {
			errs = append(errs, sigma.Errorf(pos, "%q is not a .yml path inside the SigmaHQ rules folder", f[0]))
			continue
		}
		e := Entry{Path: p, Pos: pos}
		if len(f) == 2 {
			e.ID = f[1]
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return out, errs
}

// RulesDir resolves a SigmaHQ checkout (the repository, or its rules/
// folder) to its rules folder.
func RulesDir(corpus string) (string, error) {
	for _, dir := range []string{filepath.Join(corpus, "rules"), corpus} {
		if info, err := os.Stat(filepath.Join(dir, "windows")); err == nil && info.IsDir() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w at %s: want a checkout of https://github.com/SigmaHQ/sigma (a folder with rules/windows/); the pack's own rules still work without it", ErrNoCorpus, corpus)
}

// Load reads the listed rules from the checkout at corpus and keeps those
// the views can evaluate and the engine compiles (with cfg). Every rule it
// skips is one error in skipped, at the list's file:line, saying why. err
// is set, and nothing loaded, only when the checkout is missing.
func Load(corpus string, entries []Entry, cfg engine.Config) (rules []*sigma.Rule, skipped []error, err error) {
	dir, err := RulesDir(corpus)
	if err != nil {
		return nil, nil, err
	}
	fsys := os.DirFS(dir)
	for _, e := range entries {
		r, err := loadOne(fsys, dir, e, cfg)
		if err != nil {
			skipped = append(skipped, &sigma.Error{Pos: e.Pos, Msg: "SigmaHQ rule " + e.Path + " skipped", Err: err})
			continue
		}
		rules = append(rules, r)
	}
	return rules, skipped, nil
}

func loadOne(fsys fs.FS, dir string, e Entry, cfg engine.Config) (*sigma.Rule, error) {
	data, err := fs.ReadFile(fsys, e.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("not in the checkout (renamed or removed upstream?)")
		}
		return nil, err
	}
	coll, err := sigma.ParseBytes(data, filepath.Join(dir, filepath.FromSlash(e.Path)))
	if err != nil {
		return nil, err
	}
	if len(coll.Rules) != 1 || len(coll.Correlations)+len(coll.Filters) > 0 {
		return nil, errors.New("not a single detection rule")
	}
	r := coll.Rules[0]
	if e.ID != "" && r.ID != e.ID {
		return nil, fmt.Errorf("the file now holds rule %s, not %s", r.ID, e.ID)
	}
	if err := Check(r); err != nil {
		return nil, err
	}
	if _, errs := engine.Compile([]*sigma.Rule{r}, nil, cfg); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// Check reports whether the views can evaluate r: its logsource is one
// they present, and every field it names is one they answer (or one of
// the few they leave absent on purpose). The error names the first field
// that is not, at its file:line.
func Check(r *sigma.Rule) error {
	var known map[string]bool
	switch {
	case !strings.EqualFold(r.Logsource.Product, "windows") || r.Logsource.Service != "":
		return fmt.Errorf("logsource %s/%s/%s is not one a pushed script maps to (windows process_creation or ps_script)", r.Logsource.Product, r.Logsource.Category, r.Logsource.Service)
	case strings.EqualFold(r.Logsource.Category, ProcessCreation.Category):
		known = processFields
	case strings.EqualFold(r.Logsource.Category, PSScript.Category):
		known = scriptFields
	default:
		return fmt.Errorf("logsource category %q is not one a pushed script maps to (process_creation or ps_script)", r.Logsource.Category)
	}
	if r.Detection == nil {
		return errors.New("rule has no detection")
	}
	for _, name := range r.Detection.Order {
		for _, g := range r.Detection.Searches[name].Groups {
			for _, it := range g.Items {
				if !it.Keyword() && !known[it.Field] && !absentFields[it.Field] {
					return sigma.Errorf(it.Pos, "field %s has no counterpart in a pushed script (docs/sigmahq.md)", it.Field)
				}
				if !it.Has("fieldref") {
					continue
				}
				// fieldref's values are field names too.
				for _, v := range it.Values {
					if !known[v.Raw] && !absentFields[v.Raw] {
						return sigma.Errorf(v.Pos, "field %s (fieldref) has no counterpart in a pushed script (docs/sigmahq.md)", v.Raw)
					}
				}
			}
		}
	}
	return nil
}
