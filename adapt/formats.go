package adapt

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Formats is a set of formats by name: the built-in adapters and the
// mapping files an operator loaded. It is immutable once built, so a
// reload swaps a whole set (FormatsWatcher). A nil *Formats holds the
// built-in adapters only.
type Formats struct {
	extra []Adapter
	names []string
}

// NewFormats returns the built-in adapters plus extra; a name taken twice
// (by a built-in format or another extra) is an error.
func NewFormats(extra ...Adapter) (*Formats, error) {
	f := &Formats{names: Names()}
	var errs []error
	for _, a := range extra {
		if _, taken := f.Get(a.Name()); taken {
			errs = append(errs, fmt.Errorf("%s: format %q is already defined%s", fileOf(a), a.Name(), definedIn(f, a.Name())))
			continue
		}
		f.extra = append(f.extra, a)
		f.names = append(f.names, a.Name())
	}
	sort.Strings(f.names)
	return f, errors.Join(errs...)
}

func fileOf(a Adapter) string {
	if m, ok := a.(*Mapping); ok {
		return m.File()
	}
	return a.Name()
}

func definedIn(f *Formats, name string) string {
	for _, a := range f.extra {
		if a.Name() == name {
			return " by " + fileOf(a)
		}
	}
	return " (built in)"
}

// LoadFormats reads mapping files (tripline's --mapping flags) into a set
// with the built-in adapters. Every error of every file is reported, each
// with its file:line.
func LoadFormats(files ...string) (*Formats, error) {
	var extra []Adapter
	var errs []error
	for _, file := range files {
		m, err := LoadMapping(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		extra = append(extra, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewFormats(extra...)
}

// Get returns the adapter of a format.
func (f *Formats) Get(name string) (Adapter, bool) {
	if a, ok := Get(name); ok {
		return a, true
	}
	if f == nil {
		return nil, false
	}
	for _, a := range f.extra {
		if a.Name() == name {
			return a, true
		}
	}
	return nil, false
}

// Names lists the formats, sorted.
func (f *Formats) Names() []string {
	if f == nil {
		return Names()
	}
	return slices.Clone(f.names)
}

// String lists the formats for usage and error messages.
func (f *Formats) String() string { return strings.Join(f.Names(), ", ") }

// FormatSet looks formats up by name: *Formats, or *FormatsWatcher, whose
// set is replaced when its mapping files change. Ingest, receive and
// convert take one, so a mapping file's format is read everywhere a
// built-in one is.
type FormatSet interface {
	Get(name string) (Adapter, bool)
	Names() []string
}
