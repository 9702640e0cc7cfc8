package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

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
	// SigmaHQ is a checkout of github.com/SigmaHQ/sigma: the SigmaHQ rules
	// the source's lists enable are read from it (docs/sigmahq.md). Empty:
	// the lists are ignored.
	SigmaHQ string
	// Warn receives each listed SigmaHQ rule that is skipped (missing,
	// unmappable, not compiling), with the list's file:line; nil drops them.
	Warn func(error)
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
	parseFiles(fsys, files, prefix, func(p *parsedFile) bool {
		errs = append(errs, p.errs...)
		coll.Add(p.coll)
		if coll.Nodes > maxSetNodes {
			errs = append(errs, setTooLarge(p.name, coll.Nodes))
			return false
		}
		return true
	})
	errs = append(errs, addSigmaHQ(src, fsys, prefix, &cfg, &coll)...)
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

// parsedFile is one rule file read and parsed.
type parsedFile struct {
	name string
	coll *sigma.Collection
	errs []error
}

func parseFile(fsys fs.FS, f, prefix string) parsedFile {
	name := f
	if prefix != "" {
		name = filepath.Join(prefix, f)
	} else {
		name = path.Join("rules", f)
	}
	data, err := fs.ReadFile(fsys, f)
	if err != nil {
		return parsedFile{name: name, errs: []error{fmt.Errorf("read %s: %w", f, err)}}
	}
	c, err := sigma.ParseBytes(data, name)
	p := parsedFile{name: name, coll: c}
	if err != nil {
		p.errs = flatten(err)
	}
	return p
}

// parseFiles reads and parses files on up to GOMAXPROCS goroutines (YAML
// parsing is most of a large load) and hands the results to add in file
// order, so the set, the order of its errors and the node budget are those
// of a sequential load. Workers run at most a window of files ahead of add,
// which bounds what is held past the budget; add returning false stops the
// load. Every goroutine has returned when parseFiles does.
func parseFiles(fsys fs.FS, files []string, prefix string, add func(*parsedFile) bool) {
	workers := min(runtime.GOMAXPROCS(0), len(files))
	if workers <= 1 {
		for _, f := range files {
			p := parseFile(fsys, f, prefix)
			if !add(&p) {
				return
			}
		}
		return
	}
	// One buffered channel per file: a worker never waits for add.
	results := make([]chan parsedFile, len(files))
	for i := range results {
		results[i] = make(chan parsedFile, 1)
	}
	window := make(chan struct{}, 4*workers)
	jobs := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range files {
			select {
			case window <- struct{}{}:
			case <-stop:
				return
			}
			jobs <- i
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] <- parseFile(fsys, files[i], prefix)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	for i := range files {
		p := <-results[i]
		<-window
		if !add(&p) {
			return
		}
	}
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
