package console

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tripline/tripline/record"
)

// TestRuleHealthCountsReplays: a replay stores the same detections again
// (same detection_id, not merged yet); rule health counts each once.
func TestRuleHealthCountsReplays(t *testing.T) {
	e := newEnv(t, "t_rulehealth")
	admin := e.browser()
	admin.login("admin", adminPW)
	noisy := regexp.MustCompile(`<code>` + regexp.QuoteMeta(e.rule.ID) + `</code>[^<]*— (\d+)</li>`)
	stored := regexp.MustCompile(`(?s)<tr><td><code>` + regexp.QuoteMeta(e.rule.ID) + `</code>.*?</svg></td>\s*<td>(\d+)</td>`)
	now := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name string
		act  func()
		want int
	}{
		{name: "as seeded", act: func() {}, want: 2},
		{name: "replayed twice", act: func() { e.seed(); e.seed() }, want: 2},
		{name: "a new detection", act: func() {
			if err := e.st.InsertDetections(e.ctx, []record.Detection{{DetectionID: "d-new", RuleID: e.rule.ID, RuleTitle: e.rule.Title, Level: "high",
				MSP: "msp-a", Tenant: "t-1", FirstTime: now, LastTime: now, EventIDs: []string{"e-1"}, DetectedAt: now, AlertID: "a-1"}}); err != nil {
				t.Fatal(err)
			}
		}, want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.act()
			status, page := admin.get("/rules")
			if status != 200 {
				t.Fatalf("rules: %d", status)
			}
			for what, re := range map[string]*regexp.Regexp{"30 days": noisy, "stored": stored} {
				m := re.FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("no %s count for %s in the page", what, e.rule.ID)
				}
				if n, _ := strconv.Atoi(m[1]); n != tc.want {
					t.Errorf("%s: %d detections, want %d", what, n, tc.want)
				}
			}
		})
	}
}
