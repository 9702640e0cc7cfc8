package engine

import (
	"slices"
	"testing"

	"github.com/tripline/tripline/fields"
)

// TestViews: a rule of another logsource matches an event through a view
// of it, a rule without logsource matches once however many forms see it,
// and an event without a view is matched as before.
func TestViews(t *testing.T) {
	msp := fields.Logsource{Product: "msp", Category: "software_update"}
	proc := fields.Logsource{Product: "windows", Category: "process_creation"}
	// The view renames script.command to CommandLine, for events that
	// have one.
	view := func(ev fields.Source) fields.Source {
		v := ev.Lookup("script.command")
		if !v.Exists() {
			return nil
		}
		return flat(proc, "CommandLine", v.Str)
	}
	docs := []string{
		ruleDoc("own", "product: msp", "sel: {script.command|contains: certutil}\ncondition: sel"),
		ruleDoc("win", "product: windows\ncategory: process_creation", "sel: {CommandLine|contains: certutil}\ncondition: sel"),
		ruleDoc("any", "", "sel: [certutil]\ncondition: sel"),
	}
	tests := []struct {
		name  string
		views []View
		ev    fields.Source
		want  []string
	}{
		{"no view: the windows rule cannot see it", nil, flat(msp, "script.command", "certutil -decode a b"), []string{"own", "any"}},
		{"view: the windows rule matches, any once", []View{view}, flat(msp, "script.command", "certutil -decode a b"), []string{"own", "any", "win"}},
		{"two views of the same form: still once", []View{view, view}, flat(msp, "script.command", "certutil -decode a b"), []string{"own", "any", "win"}},
		{"no form: nothing added", []View{view}, flat(msp, "actor.user", "certutil"), []string{"any"}},
		{"view, no match", []View{view}, flat(msp, "script.command", "gpupdate /force"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, prefilter := range []bool{true, false} {
				rs := mustCompile(t, Config{Views: tc.views, DisablePrefilter: !prefilter}, docs...)
				if got := ids(rs.Match(tc.ev, nil)); !slices.Equal(got, tc.want) {
					t.Errorf("prefilter %v: Match = %v, want %v", prefilter, got, tc.want)
				}
				if got := ids(rs.NewMatcher().Match(tc.ev, nil)); !slices.Equal(got, tc.want) {
					t.Errorf("prefilter %v: Matcher.Match = %v, want %v", prefilter, got, tc.want)
				}
			}
		})
	}
}
