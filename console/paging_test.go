package console

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/record"
)

var (
	rowRe  = regexp.MustCompile(`data-alert="([^"]+)"`)
	nextRe = regexp.MustCompile(`href="([^"]+)" id="next-page"`)
)

// pagingAlerts stores n alerts of msp-p, one every minute back from now
// with two at each last_time (the cursor's tie-break on alert_id), each
// active for 30 minutes; it returns them newest first, as listed.
func (e *env) pagingAlerts(prefix string, n int, newest time.Time) []string {
	e.t.Helper()
	var as []record.Alert
	var ids []string
	for i := range n {
		last := newest.Add(-time.Duration(i/2) * time.Minute)
		id := fmt.Sprintf("%s-%04d", prefix, i)
		as = append(as, record.Alert{AlertID: id, Fingerprint: "fp-" + id, RuleID: e.rule.ID, RuleTitle: "paging", Level: "medium",
			MSP: "msp-p", Tenant: "t-p", ActorUser: "tech9", WindowStart: last.Truncate(24 * time.Hour), FirstTime: last.Add(-30 * time.Minute),
			LastTime: last, Count: 1, Summary: id})
		ids = append(ids, id)
	}
	if err := e.st.InsertAlerts(e.ctx, as); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// apiPages lists the alerts of query through /api/alerts page by page,
// calling between after each page.
func apiPages(t *testing.T, b *browser, query string, between func(page int)) (ids []string, pages int) {
	t.Helper()
	after := ""
	for {
		q, _ := url.ParseQuery(query)
		if after != "" {
			q.Set("after", after)
		}
		status, body := b.get("/api/alerts?" + q.Encode())
		if status != 200 {
			t.Fatalf("GET /api/alerts?%s: %d %s", q.Encode(), status, body)
		}
		var page struct {
			Alerts []struct {
				AlertID string `json:"alert_id"`
			} `json:"alerts"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Alerts {
			ids = append(ids, a.AlertID)
		}
		pages++
		if between != nil {
			between(pages)
		}
		if page.Next == "" || pages > 100 {
			return ids, pages
		}
		after = page.Next
	}
}

// queuePages lists the alerts of the queue page by page, following its
// "older" link.
func queuePages(t *testing.T, b *browser, path string) (ids []string, pages int) {
	t.Helper()
	for path != "" && pages < 100 {
		status, page := b.get(path)
		if status != 200 {
			t.Fatalf("GET %s: %d", path, status)
		}
		for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
			ids = append(ids, m[1])
		}
		pages++
		path = ""
		if m := nextRe.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return ids, pages
}

// TestQueuePaging: the queue and the API page by the same keyset cursor,
// neither skipping nor repeating alerts while new ones arrive, and read
// a since/until window alike.
func TestQueuePaging(t *testing.T) {
	e := newEnv(t, "t_paging")
	now := time.Now().UTC().Truncate(time.Second)
	all := e.pagingAlerts("p", 2*queueLimit+30, now.Add(-time.Minute))
	ana := e.browser()
	ana.login("ana", analystPW)

	// The API, 50 a page; three newer alerts arrive after the first page.
	got, pages := apiPages(t, ana, "msp=msp-p&limit=50", func(page int) {
		if page == 1 {
			e.pagingAlerts("new", 3, now)
		}
	})
	if !slices.Equal(got, all) || pages != (len(all)+49)/50 {
		t.Fatalf("API pages: %d alerts in %d pages, want the %d stored before, in order, once each (first %v)", len(got), pages, len(all), got[:min(5, len(got))])
	}
	// The queue, 200 a page, now with the newer three on top.
	want := append(e.idsOf("new", 3), all...)
	got, pages = queuePages(t, ana, "/queue?msp=msp-p")
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("queue pages: %d alerts in %d pages, want %d in 3", len(got), pages, len(want))
	}
	if status, body := ana.get("/queue?msp=msp-p&after=not-a-cursor"); status != 400 || !strings.Contains(body, "not a cursor") || rowRe.MatchString(body) {
		t.Errorf("a bad cursor on the queue: %d", status)
	}
	if status, _ := ana.get("/api/alerts?after=%25%25"); status != 400 {
		t.Errorf("API bad cursor: %d, want 400", status)
	}

	// Windows: the alerts active in [since, until), pages and API alike.
	// Old alert i is active [last-30m, last] with last = now-1m-k·1m,
	// k = i/2; the new ones end at now (two) and now-1m.
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, tc := range []struct {
		name, since, until string
		status             int
		want               int
	}{
		// Relative times at half minutes: the API and the page read
		// "now" a moment apart, never across an alert's minute.
		{name: "since only", since: "10m30s", status: 200, want: 3 + 2*10},                                        // last >= now-10m30s: new 3, old k <= 9
		{name: "until only", until: "200m30s", status: 200, want: 2 * 45},                                         // first < now-200m30s: old k >= 170
		{name: "window", since: rfc(-50 * time.Minute), until: rfc(-45 * time.Minute), status: 200, want: 2 * 35}, // old 15 <= k <= 49
		{name: "until before since", since: "1h", until: "2h", status: 400},
		{name: "bad until", until: "tomorrow", status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"msp": {"msp-p"}}
			if tc.since != "" {
				q.Set("since", tc.since)
			}
			if tc.until != "" {
				q.Set("until", tc.until)
			}
			status, _ := ana.get("/api/alerts?" + q.Encode())
			pstatus, _ := ana.get("/queue?" + q.Encode())
			if status != tc.status || pstatus != tc.status {
				t.Fatalf("API %d, page %d, want %d", status, pstatus, tc.status)
			}
			if tc.status != 200 {
				return
			}
			q.Set("limit", "5000")
			api, _ := apiPages(t, ana, q.Encode(), nil)
			q.Del("limit")
			page, _ := queuePages(t, ana, "/queue?"+q.Encode())
			if !slices.Equal(api, page) {
				t.Errorf("API and queue disagree: %d and %d alerts", len(api), len(page))
			}
			if len(api) != tc.want {
				t.Errorf("%d alerts, want %d", len(api), tc.want)
			}
		})
	}
}

func (e *env) idsOf(prefix string, n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("%s-%04d", prefix, i))
	}
	return ids
}

var (
	incidentRowRe  = regexp.MustCompile(`data-incident="([^"]+)"`)
	moreIncidentRe = regexp.MustCompile(`href="([^"]+)" id="(?:more|next)-incidents"`)
)

// pagingIncidents stores n incidents of msp-p, two at each last_time
// (the cursor's tie-break on incident_id), newest first from newest; it
// returns their IDs in list order.
func (e *env) pagingIncidents(prefix string, n int, newest time.Time) []string {
	e.t.Helper()
	var is []record.Incident
	var ids []string
	for i := range n {
		last := newest.Add(-time.Duration(i/2) * time.Minute)
		id := fmt.Sprintf("%s-%04d", prefix, i)
		is = append(is, record.Incident{IncidentID: id, MSP: "msp-p", EntityKind: "actor", EntityValue: "tech9", Level: "high",
			WindowStart: last.Truncate(24 * time.Hour), FirstTime: last.Add(-10 * time.Minute), LastTime: last,
			AlertIDs: []string{"a-" + id}, Tenants: []string{"t-p"}, RuleIDs: []string{e.rule.ID}})
		ids = append(ids, id)
	}
	if err := e.st.InsertIncidents(e.ctx, is); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// TestIncidentPaging: the queue heads with the newest incidents and links
// to the incidents page, which pages on through the rest by the same
// keyset cursor as the API, none skipped or repeated while newer ones
// arrive; a tenant viewer sees none of another MSP's.
func TestIncidentPaging(t *testing.T) {
	e := newEnv(t, "t_incpaging")
	now := time.Now().UTC().Truncate(time.Second)
	all := e.pagingIncidents("p", 2*incidentLimit+7, now.Add(-time.Minute))
	ana := e.browser()
	ana.login("ana", analystPW)

	// The queue's first page: the newest incidentLimit, then a link on.
	status, page := ana.get("/queue?msp=msp-p")
	if status != 200 {
		t.Fatalf("queue: %d", status)
	}
	var got []string
	for _, m := range incidentRowRe.FindAllStringSubmatch(page, -1) {
		got = append(got, m[1])
	}
	if !slices.Equal(got, all[:incidentLimit]) {
		t.Fatalf("queue shows %d incidents, want the newest %d", len(got), incidentLimit)
	}
	newer := false
	path, pages := "", 1
	if m := moreIncidentRe.FindStringSubmatch(page); m != nil {
		path = html.UnescapeString(m[1])
	}
	for path != "" && pages < 20 {
		if !newer {
			// Newer incidents arrive while the analyst pages: they belong
			// on the first page, not in the middle of this walk.
			e.pagingIncidents("new", 3, now)
			newer = true
		}
		status, page := ana.get(path)
		if status != 200 {
			t.Fatalf("GET %s: %d", path, status)
		}
		for _, m := range incidentRowRe.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		pages++
		path = ""
		if m := moreIncidentRe.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if !slices.Equal(got, all) || pages != 3 {
		t.Fatalf("queue and incidents pages: %d incidents in %d pages, want %d in 3, once each, in order", len(got), pages, len(all))
	}

	// The API, 40 a page, now with the newer three on top.
	want := append(e.idsOf("new", 3), all...)
	got = nil
	after := ""
	for pages = 0; pages < 20; pages++ {
		q := url.Values{"msp": {"msp-p"}, "limit": {"40"}}
		if after != "" {
			q.Set("after", after)
		}
		status, body := ana.get("/api/incidents?" + q.Encode())
		if status != 200 {
			t.Fatalf("GET /api/incidents?%s: %d %s", q.Encode(), status, body)
		}
		var p struct {
			Incidents []struct {
				IncidentID string `json:"incident_id"`
			} `json:"incidents"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		for _, i := range p.Incidents {
			got = append(got, i.IncidentID)
		}
		if after = p.Next; after == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("API pages: %d incidents, want %d in order once each", len(got), len(want))
	}
	if status, body := ana.get("/incidents?after=not-a-cursor"); status != 400 || !strings.Contains(body, "not a cursor") || incidentRowRe.MatchString(body) {
		t.Errorf("a bad cursor on the incidents page: %d", status)
	}

	viewer := e.browser()
	viewer.login("clinic", viewerPW)
	status, body := viewer.get("/incidents?msp=msp-p")
	if status != 200 {
		t.Fatalf("a tenant viewer's incidents page: %d", status)
	}
	for _, m := range incidentRowRe.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(m[1], "p-") || strings.HasPrefix(m[1], "new-") {
			t.Fatalf("a tenant viewer of msp-a sees msp-p's incident %s", m[1])
		}
	}
}
