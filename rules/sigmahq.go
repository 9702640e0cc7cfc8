package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
	"github.com/tripline/tripline/sigmahq"
)

// addSigmaHQ adds to coll the SigmaHQ rules that the source's lists
// (sigmahq.ListFile) enable, read from the checkout src.SigmaHQ, and turns
// on the views that evaluate them on pushed scripts (docs/sigmahq.md).
// Errors are what makes the set invalid (a malformed list, a missing
// checkout); a listed rule that cannot be used is passed to src.Warn and
// skipped. Without src.SigmaHQ the lists are ignored.
func addSigmaHQ(src Source, fsys fs.FS, prefix string, cfg *engine.Config, coll *sigma.Collection) []error {
	if src.SigmaHQ == "" {
		return nil
	}
	var entries []sigmahq.Entry
	var errs []error
	lists, err := listFiles(fsys, src)
	if err != nil {
		return []error{fmt.Errorf("rules: looking for %s: %w", sigmahq.ListFile, err)}
	}
	for _, f := range lists {
		name := path.Join("rules", f)
		if prefix != "" {
			name = filepath.Join(prefix, f)
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			continue
		}
		e, lerrs := sigmahq.ParseList(data, name)
		entries = append(entries, e...)
		errs = append(errs, lerrs...)
	}
	if len(errs) > 0 {
		return errs
	}
	if len(lists) == 0 {
		src.warn(fmt.Errorf("%s: no %s enables a SigmaHQ rule; --sigmahq %s has no effect", src, sigmahq.ListFile, src.SigmaHQ))
		return nil
	}
	loaded, skipped, err := sigmahq.Load(src.SigmaHQ, entries, *cfg)
	if err != nil {
		return []error{err}
	}
	for _, s := range skipped {
		src.warn(s)
	}
	coll.Rules = append(coll.Rules, loaded...)
	cfg.Views = append(cfg.Views[:len(cfg.Views):len(cfg.Views)], sigmahq.Views()...)
	return nil
}

// listFiles finds the SigmaHQ lists of a rule source: every file named
// sigmahq.ListFile below its root (none for a single rule file).
func listFiles(fsys fs.FS, src Source) ([]string, error) {
	if src.Path != "" {
		if info, err := os.Stat(src.Path); err != nil || !info.IsDir() {
			return nil, nil
		}
	}
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if !d.IsDir() && d.Name() == sigmahq.ListFile {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func (s Source) warn(err error) {
	if s.Warn != nil {
		s.Warn(err)
	}
}
