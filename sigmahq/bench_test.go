package sigmahq

import (
	"testing"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
)

// BenchmarkViews is the cost the views add to matching one event with the
// pack's SigmaHQ subset: a pushed script (both views built and matched), a
// remote-session event (no view applies), and the same set without views
// as the baseline.
func BenchmarkViews(b *testing.B) {
	t := &testing.T{}
	set, _ := packSet(t)
	if t.Failed() || set == nil {
		b.Skip("SigmaHQ corpus missing or the pack list does not load")
	}
	noViews, errs := engine.Compile(rulesOf(set), nil, engine.Config{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	script := &contract.Event{EventType: "script.run", MSP: "m", Tenant: "t", Tool: "ninjaone"}
	script.Script.Interpreter = "powershell"
	script.Script.Command = `Invoke-WebRequest -Uri "https://download.screenconnect.com/24.1.1/ScreenConnect.ClientSetup.msi" -OutFile "$env:TEMP\sc.msi"; Start-Process msiexec.exe -ArgumentList "/i $env:TEMP\sc.msi /qn" -Wait`
	login := &contract.Event{EventType: "session.start", MSP: "m", Tenant: "t", Tool: "ninjaone"}
	for _, bc := range []struct {
		name string
		set  *engine.RuleSet
		ev   *contract.Event
	}{
		{"script/views", set, script},
		{"script/baseline", noViews, script},
		{"session/views", set, login},
		{"session/baseline", noViews, login},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := bc.set.NewMatcher()
			var dst []*engine.Rule
			b.ReportAllocs()
			for b.Loop() {
				dst = m.Match(bc.ev, dst[:0])
			}
		})
	}
}

func rulesOf(set *engine.RuleSet) []*sigma.Rule {
	out := make([]*sigma.Rule, 0, set.Len())
	for _, r := range set.Rules() {
		out = append(out, r.Sigma)
	}
	return out
}
