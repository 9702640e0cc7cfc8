package engine

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

// flatEvent is a Source over precomputed Values: lookups never allocate,
// which keeps allocation measurements about the engine alone.
type flatEvent struct {
	vals map[string]fields.Value
	ls   fields.Logsource
}

func (e *flatEvent) Lookup(p string) fields.Value { return e.vals[p] }
func (e *flatEvent) Logsource() fields.Logsource  { return e.ls }
func (e *flatEvent) EachString(fn func(string) bool) {
	for _, v := range e.vals {
		switch v.Kind {
		case fields.String:
			if !fn(v.Str) {
				return
			}
		case fields.Strings:
			for _, s := range v.Strs {
				if !fn(s) {
					return
				}
			}
		}
	}
}

func flat(ls fields.Logsource, kv ...string) *flatEvent {
	e := &flatEvent{vals: map[string]fields.Value{}, ls: ls}
	for i := 0; i+1 < len(kv); i += 2 {
		e.vals[kv[i]] = fields.Str(kv[i+1])
	}
	return e
}

// ruleDoc wraps a detection body (indented by 4 spaces in the output) into
// a full rule document.
func ruleDoc(id, logsource, detection string) string {
	var b strings.Builder
	b.WriteString("title: test " + id + "\nid: " + id + "\n")
	if logsource != "" {
		b.WriteString("logsource:\n")
		for _, l := range strings.Split(strings.TrimSpace(logsource), "\n") {
			b.WriteString("    " + strings.TrimSpace(l) + "\n")
		}
	}
	b.WriteString("detection:\n")
	for _, l := range strings.Split(strings.Trim(detection, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func mustCompile(t testing.TB, cfg Config, docs ...string) *RuleSet {
	t.Helper()
	coll, err := sigma.ParseBytes([]byte(strings.Join(docs, "---\n")), "test.yml")
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, strings.Join(docs, "---\n"))
	}
	rs, errs := CompileCollection(coll, cfg)
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	return rs
}

func ids(rules []*Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.ID)
	}
	return out
}
