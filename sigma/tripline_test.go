package sigma

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const alertRule = "title: x\ndetection:\n    sel: {a: b}\n    condition: sel\ntripline:\n    alert:\n"

func TestAlertBlock(t *testing.T) {
	coll, err := ParseBytes([]byte(alertRule+"        group_by: [msp, package.sha256]\n        window: 2d\n        mute_in_maintenance: true\n"), "r.yml")
	if err != nil {
		t.Fatal(err)
	}
	b := coll.Rules[0].Alert
	if b == nil || !slices.Equal(b.GroupBy, []string{"msp", "package.sha256"}) || b.Window != 48*time.Hour || !b.MuteInMaintenance ||
		b.GroupByPos[1].Line != 7 || b.Pos.Line != 6 {
		t.Fatalf("alert block %+v", b)
	}
	coll, err = ParseBytes([]byte("title: c\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 2}\ntripline:\n    alert:\n        group_by: actor.user\n"), "c.yml")
	if err != nil || len(coll.Correlations) != 1 || !slices.Equal(coll.Correlations[0].Alert.GroupBy, []string{"actor.user"}) {
		t.Fatalf("correlation: %v %+v", err, coll)
	}
	coll, err = ParseBytes([]byte(alertRule[:strings.Index(alertRule, "tripline")]), "plain.yml")
	if err != nil || coll.Rules[0].Alert != nil {
		t.Fatalf("a rule without the block: %v %+v", err, coll.Rules[0].Alert)
	}
}

func TestAlertBlockErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", alertRule + "        groupby: [msp]\n", `r.yml:7:9: unknown key "groupby" in tripline.alert`},
		{"unknown tripline key", "title: x\ndetection:\n    sel: {a: b}\n    condition: sel\ntripline:\n    alerts: {}\n", `r.yml:6:5: unknown key "alerts" in tripline`},
		{"bad window", alertRule + "        window: 24x\n", `r.yml:7:17: tripline.alert.window: timespan "24x": unknown unit`},
		{"window too long", alertRule + "        window: 31d\n", `r.yml:7:17: tripline.alert.window "31d" exceeds the maximum of 30d`},
		{"zero window", alertRule + "        window: 0s\n", `r.yml:7:17: tripline.alert.window "0s" must be positive`},
		{"window not scalar", alertRule + "        window: [1h]\n", `r.yml:7:9: tripline.alert.window must be a duration`},
		{"mute not bool", alertRule + "        mute_in_maintenance: yes please\n", `r.yml:7:9: tripline.alert.mute_in_maintenance must be true or false`},
		{"group_by empty", alertRule + "        group_by: []\n", `r.yml:7:9: tripline.alert.group_by is empty`},
		{"group_by twice", alertRule + "        group_by: [msp, tenant, msp]\n", `r.yml:7:33: tripline.alert.group_by lists "msp" twice`},
		{"group_by map", alertRule + "        group_by: {a: b}\n", `r.yml:7:9: tripline.alert.group_by must be`},
		{"alert not a map", "title: x\ndetection:\n    sel: {a: b}\n    condition: sel\ntripline:\n    alert: 24h\n", `r.yml:6:5: tripline.alert must be a mapping, got scalar`},
		{"tripline not a map", "title: x\ndetection:\n    sel: {a: b}\n    condition: sel\ntripline: [a]\n", `r.yml:5:1: tripline must be a mapping`},
		{"on a filter", "title: f\nlogsource: {product: msp}\nfilter:\n    rules: [x]\n    sel: {a: b}\n    condition: not sel\ntripline:\n    alert: {window: 1h}\n", `r.yml:7:1: a filter raises no alerts`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBytes([]byte(tc.doc), "r.yml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
