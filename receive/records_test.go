package receive_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/receive"
)

// Records are counted as the format's adapter reads them: a bare object
// is one record however many arrays it holds (an Entra sign-in's two
// authenticationDetails, TeamViewer's EventDetails), a page counts the
// records under its page key only, and the count is what the 202 body,
// the records metric and the per-request record limit see.
func TestRecordsCountedByPageKey(t *testing.T) {
	// A record of each format with arrays of its own, larger than the
	// page it goes in: counting the largest array would say 3.
	nested := map[string]string{
		"ninjaone":      `{"id":1,"activityTime":1763647120,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","tags":["a","b","c"]}`,
		"screenconnect": `{"EventType":"Connected","Time":"2025-11-20T14:00:00Z","SessionID":"s1","Data":["x","y","z"]}`,
		"teamviewer":    `{"EventName":"StartedSession","Timestamp":"2025-11-20T14:00:00Z","EventDetails":[{"PropertyName":"a"},{"PropertyName":"b"},{"PropertyName":"c"}]}`,
		"entra-signin":  `{"id":"e1","createdDateTime":"2025-11-20T14:00:00Z","authenticationDetails":[{"succeeded":true},{"succeeded":true},{"succeeded":false}]}`,
		"m365-audit":    `{"Id":"m1","CreationTime":"2025-11-20T14:00:00","Operation":"Add member to role.","ModifiedProperties":[{"Name":"a"},{"Name":"b"},{"Name":"c"}]}`,
		"datto-rmm":     `{"id":"d1","category":"user","action":"login","date":1763647000,"alerts":[1,2,3]}`,
		"ocsf":          `{"metadata":{"uid":"o1","version":"1.3.0"},"class_uid":3002,"time":1763647000000,"observables":[{},{},{}]}`,
	}
	pageKey := map[string]string{"ninjaone": "activities", "screenconnect": "Events", "teamviewer": "AuditEvents",
		"entra-signin": "value", "m365-audit": "Records", "datto-rmm": "activities", "ocsf": "events"}
	for _, format := range receive.Formats() {
		if format == receive.FormatContract {
			continue
		}
		t.Run(format, func(t *testing.T) {
			rec, key := nested[format], pageKey[format]
			if rec == "" || key == "" {
				t.Fatalf("no test record for format %s", format)
			}
			reg := prometheus.NewRegistry()
			e := newEnv(t, receive.Config{MaxRecords: 2, Registerer: reg})
			tok := e.tokens["msp-northwind"]
			for _, c := range []struct {
				name, body string
				status     int
				records    float64
			}{
				{"record", rec, http.StatusAccepted, 1},
				{"page of two", `{"` + key + `":[` + rec + `,` + rec + `],"nextPageUrl":null,"more":[1,2,3,4]}`, http.StatusAccepted, 2},
				{"array of two", `[` + rec + `,` + rec + `]`, http.StatusAccepted, 2},
				{"page over the record limit", `{"` + key + `":[` + strings.Repeat(rec+`,`, 2) + rec + `]}`, http.StatusRequestEntityTooLarge, 0},
				{"empty page", `{"` + key + `":[]}`, http.StatusBadRequest, 0},
				{"duplicate key", `{"` + key + `":[` + rec + `],"` + key + `":[]}`, http.StatusBadRequest, 0},
			} {
				r := e.post(format, tok, []byte(c.body))
				if r.status != c.status || c.status == http.StatusAccepted && r.body["records"] != c.records {
					t.Errorf("%s: %d %v, want %d with %v records", c.name, r.status, r.body, c.status, c.records)
				}
			}
			if got := ops.SumBy(reg, "tripline_receive_records_total", "format")[format]; got != 5 {
				t.Errorf("tripline_receive_records_total{format=%q} = %v, want 5", format, got)
			}
		})
	}
}
