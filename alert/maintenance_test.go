package alert

import (
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
)

// TestMuteInMaintenance: a rule that mutes itself in maintenance windows
// gets its alert marked while every detection is inside one, whatever the
// order; one detection outside lifts it; a rule that does not mute is
// never marked.
func TestMuteInMaintenance(t *testing.T) {
	in, out := true, false
	mk := func(id string, at time.Duration, maint *bool) (ev, *contract.Event) {
		e := ev{id: id, msp: "m", tenant: "t1", user: "tech", pkg: "P", at: at}
		src := e.source()
		if maint != nil {
			src.Context = &contract.Context{InMaintenanceWindow: maint}
		}
		return e, src
	}
	for _, tc := range []struct {
		name    string
		mute    bool
		windows []*bool
		want    string
	}{
		{"all inside", true, []*bool{&in, &in}, MaintenanceSilence},
		{"one outside", true, []*bool{&in, &out, &in}, ""},
		{"no registry", true, []*bool{nil}, ""},
		{"rule does not mute", false, []*bool{&in, &in}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, reverse := range []bool{false, true} {
				g := NewGrouper(Config{Now: fixedClock()})
				p := Policy{MuteInMaintenance: tc.mute}
				var got string
				for i := range tc.windows {
					j := i
					if reverse {
						j = len(tc.windows) - 1 - i
					}
					e, src := mk(string(rune('a'+j)), time.Duration(j)*time.Minute, tc.windows[j])
					d, _ := det("r", "high", e)
					ch := g.Add(&d, src, p)
					got = ch.Alerts[len(ch.Alerts)-1].SuppressedBy
					if m := ch.Messages[len(ch.Messages)-1]; m.Alert.SuppressedBy != got {
						t.Errorf("message suppressed_by %q, row %q", m.Alert.SuppressedBy, got)
					}
				}
				if got != tc.want {
					t.Errorf("reverse=%v: suppressed_by %q, want %q", reverse, got, tc.want)
				}
			}
		})
	}
}
