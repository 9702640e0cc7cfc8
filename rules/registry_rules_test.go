package rules

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/registry"
)

// The rule tests' contexts come from deployments/registry.example.yml,
// which documents no technician hours. This covers the critical-asset
// rule's shift filter with a registry that does: the night NOC on a
// server at 03:00 is its job; the day admin's account at 03:00 is not,
// and neither is an account with no documented hours.
func TestCriticalAssetRuleSparesDocumentedShifts(t *testing.T) {
	reg, err := registry.Parse([]byte(`
msps:
  - id: m
    tz: America/Chicago
    working_hours: [{days: [weekdays], from: "08:00", to: "18:00"}]
    technicians:
      - {user: noc, hours: [{days: [daily], from: "19:00", to: "07:00"}, {days: [weekend], from: "00:00", to: "24:00"}]}
      - {user: admin, hours: [{days: [weekdays], from: "07:00", to: "19:00"}]}
      - contractor
    tenants:
      - {id: t, assets: [{host: dc01, tags: [critical]}]}
`), "shift.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, errs := LoadBundle(Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	dec := contract.Decoder{DiscardContext: true, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}
	// 2026-11-24 09:00Z is Tuesday 03:00 in Chicago.
	for user, want := range map[string]bool{"noc": false, "admin": true, "contractor": true} {
		ev, err := dec.Decode([]byte(`{"event_type":"session.start","time":"2026-11-24T09:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"` + user + `"},"target":{"host":"dc01"}}`))
		if err != nil {
			t.Fatal(err)
		}
		ev.Context = reg.Context(&ev)
		got := false
		for _, r := range b.Rules.Match(&ev, nil) {
			got = got || filepath.Base(r.Path) == "critical_asset_session_off_hours.yml"
		}
		if got != want {
			t.Errorf("%s at 03:00 on dc01: critical-asset rule matched %v, want %v", user, got, want)
		}
	}
}
