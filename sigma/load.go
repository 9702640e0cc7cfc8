package sigma

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ParseFile reads and parses one rule file.
func ParseFile(name string) (*Collection, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return &Collection{}, &Error{Pos: Pos{File: name}, Msg: "cannot read rule file", Err: err}
	}
	return ParseBytes(data, name)
}

// ParseDir parses every *.yml / *.yaml file below dir (recursively). It is
// ParseFS over os.DirFS with file names reported relative to the current
// directory (dir joined with the path inside it).
func ParseDir(dir string) (*Collection, []error) {
	coll, errs := parseFS(os.DirFS(dir), ".", func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) })
	return coll, errs
}

// ParseFS parses every *.yml / *.yaml file below root in fsys, in lexical
// order. A bad file (or document) does not stop the others: everything that
// parsed is returned together with one error per problem, each rendered as
// "file:line:col: message".
func ParseFS(fsys fs.FS, root string) (*Collection, []error) {
	return parseFS(fsys, root, func(p string) string { return p })
}

func parseFS(fsys fs.FS, root string, display func(string) string) (*Collection, []error) {
	coll := &Collection{}
	var errs []error
	walkErr := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: display(p)}, Msg: "cannot read", Err: err})
			if d != nil && d.IsDir() && p != root {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.ToLower(path.Ext(p))
		if ext != ".yml" && ext != ".yaml" {
			return nil
		}
		data, rerr := fs.ReadFile(fsys, p)
		if rerr != nil {
			errs = append(errs, &Error{Pos: Pos{File: display(p)}, Msg: "cannot read rule file", Err: rerr})
			return nil
		}
		c, perr := ParseBytes(data, display(p))
		coll.Add(c)
		if perr != nil {
			if l, ok := perr.(ErrorList); ok {
				errs = append(errs, l...)
			} else {
				errs = append(errs, perr)
			}
		}
		return nil
	})
	if walkErr != nil {
		errs = append(errs, fmt.Errorf("walking %s: %w", display(root), walkErr))
	}
	return coll, errs
}
