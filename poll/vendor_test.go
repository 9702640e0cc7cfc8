package poll

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// vendor is a local HTTP server speaking one vendor API as documented
// (docs/sources.md, "tripline poll"): its token endpoint, its paging and
// its page shapes, over records it holds in memory.
type vendor struct {
	t    testing.TB
	kind string
	srv  *httptest.Server

	mu      sync.Mutex
	records []rec // ascending id and time
	// tokens maps a token to its remaining API uses (-1: unlimited).
	tokens      map[string]int
	tokenCalls  int
	revokeAfter int // a token is refused after this many uses (0: never)
	apiCalls    int
	pageSize    int // server-side page size (TeamViewer has no parameter)
	// conns are TeamViewer connection reports (ascending start); with
	// connections unset the source's config turns them off.
	conns       []rec
	connections bool
	connCalls   []url.Values
	// fault, when it returns true, has answered API call n itself.
	fault func(w http.ResponseWriter, r *http.Request, n int) bool
	// tokenBodies are the token requests' forms (to check grants).
	tokenForms []url.Values
	basicUsers []string
	// Datto RMM jobs: dattoRecord, when set, renders the activity
	// records; jobComps are each job's component uids (a job not listed
	// is 404); comps are the account's components (uid, name,
	// categoryCode), listed two to a page; the calls are counted.
	dattoRecord   func(r rec) string
	jobComps      map[string][]string
	comps         [][3]string
	jobCalls      map[string]int
	compListCalls int
}

type rec struct {
	id int
	at time.Time
}

const (
	testSecret = "s3cr3t-value-never-logged-0123456789"
	testAPIKey = "datto-api-key-0123"
)

func newVendor(t testing.TB, kind string) *vendor {
	v := &vendor{t: t, kind: kind, tokens: map[string]int{}, pageSize: 3}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ws/oauth/token", v.token)
	mux.HandleFunc("POST /auth/oauth/token", v.token)
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", v.token)
	mux.HandleFunc("GET /v2/activities", v.api(v.ninjaOne))
	mux.HandleFunc("POST /api/v1/EventLogging", v.api(v.teamViewer))
	mux.HandleFunc("GET /api/v1/reports/connections", v.api(v.teamViewerConnections))
	mux.HandleFunc("GET /beta/auditLogs/signIns", v.api(v.graph))
	mux.HandleFunc("GET /api/v2/activity-logs", v.api(v.datto))
	mux.HandleFunc("GET /api/v2/job/{uid}/components", v.api(v.dattoJobComponents))
	mux.HandleFunc("GET /api/v2/account/components", v.api(v.dattoComponents))
	v.srv = httptest.NewServer(mux)
	t.Cleanup(v.srv.Close)
	return v
}

func (v *vendor) setFault(f func(w http.ResponseWriter, r *http.Request, n int) bool) {
	v.mu.Lock()
	v.fault = f
	v.mu.Unlock()
}

// add appends n records, one every 10 s from start, ids continuing.
func (v *vendor) add(n int, start time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	next := 100
	if len(v.records) > 0 {
		next = v.records[len(v.records)-1].id + 1
	}
	for i := range n {
		v.records = append(v.records, rec{id: next + i, at: start.Add(time.Duration(i) * 10 * time.Second)})
	}
}

func (v *vendor) token(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	v.tokenForms = append(v.tokenForms, r.PostForm)
	u, p, _ := r.BasicAuth()
	v.basicUsers = append(v.basicUsers, u+":"+p)
	ok := false
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		ok = r.PostForm.Get("client_id") == "client-1" && r.PostForm.Get("client_secret") == testSecret
	case "password":
		ok = u == "public-client" && p == "public" && r.PostForm.Get("username") == testAPIKey && r.PostForm.Get("password") == testSecret
	}
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	v.tokenCalls++
	tok := fmt.Sprintf("tok-%d", v.tokenCalls)
	v.tokens[tok] = -1
	if v.revokeAfter > 0 {
		v.tokens[tok] = v.revokeAfter
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
}

// api checks the bearer token and the fault hook, then serves page.
func (v *vendor) api(page func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.apiCalls++
		n := v.apiCalls
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		left, known := v.tokens[tok]
		if v.kind == TeamViewer {
			known, left = tok == testSecret, -1
		}
		if known && left > 0 {
			v.tokens[tok] = left - 1
		}
		fault := v.fault
		v.mu.Unlock()
		if !known || left == 0 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_token"}`)
			return
		}
		if fault != nil && fault(w, r, n) {
			return
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		page(w, r)
	}
}

// record renders r as the vendor's JSON, a record the adapter converts.
func (v *vendor) record(r rec) string {
	switch v.kind {
	case NinjaOne:
		return fmt.Sprintf(`{"id":%d,"activityTime":%d,"organizationId":12,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","status":"App user logged in","activityResult":"SUCCESS","userId":17,"data":{"message":{"code":"app_user_logged_in","params":{"appUserName":"tech%d@msp.example","ipAddress":"203.0.113.7"}}}}`, r.id, r.at.Unix(), r.id)
	case TeamViewer:
		return fmt.Sprintf(`{"EventName":"EditUserProperties","EventType":"UserManagement","Timestamp":%q,"Author":{"Name":"Tech","Email":"tech%d@msp.example"},"AffectedItem":"user%d@client.example","EventDetails":[{"PropertyName":"GroupId","PropertyType":"String","NewValue":"g98765432"},{"PropertyName":"Seq","PropertyType":"String","NewValue":"%d"}]}`, r.at.UTC().Format("2006-01-02T15:04:05.000Z"), r.id, r.id, r.id)
	case EntraSignIn:
		return fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","createdDateTime":%q,"userPrincipalName":"tech%d@msp.example","userId":"u-%d","ipAddress":"203.0.113.7","clientAppUsed":"Browser","status":{"errorCode":0},"resourceTenantId":"0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f","homeTenantId":"7c1e3f5a-2b4d-4e6f-8a0c-9d1e2f3a4b5c","crossTenantAccessType":"serviceProvider"}`, r.id, r.at.UTC().Format(time.RFC3339), r.id, r.id)
	case DattoRMM:
		if v.dattoRecord != nil {
			return v.dattoRecord(r)
		}
		return fmt.Sprintf(`{"id":"datto-%d","entity":"USER","category":"user","action":"login","date":%d,"site":{"id":4412,"uid":"site-4412"},"user":{"id":551,"userName":"tech%d@msp.example"},"details":"{\"ip\":\"203.0.113.7\"}"}`, r.id, r.at.Unix(), r.id)
	}
	panic("kind")
}

// recordKey is the test's identity of a record in the vendor's JSON.
func recordKey(kind string, raw json.RawMessage) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, err
	}
	switch kind {
	case NinjaOne:
		return int(m["id"].(float64)), nil
	case TeamViewer:
		for _, d := range m["EventDetails"].([]any) {
			if d := d.(map[string]any); d["PropertyName"] == "Seq" {
				return strconv.Atoi(d["NewValue"].(string))
			}
		}
	case EntraSignIn:
		s := m["id"].(string)
		return strconv.Atoi(strings.TrimLeft(s[strings.LastIndex(s, "-")+1:], "0"))
	case DattoRMM:
		return strconv.Atoi(strings.TrimPrefix(m["id"].(string), "datto-"))
	}
	return 0, fmt.Errorf("no key")
}

func (v *vendor) writeRecords(w io.Writer, rs []rec) {
	for i, r := range rs {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, v.record(r))
	}
}

// ninjaOne: newest first, newerThan/olderThan exclusive, pageSize.
func (v *vendor) ninjaOne(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	newer, _ := strconv.Atoi(q.Get("newerThan"))
	older, _ := strconv.Atoi(q.Get("olderThan"))
	size, err := strconv.Atoi(q.Get("pageSize"))
	if err != nil || size < 1 || size > 1000 {
		http.Error(w, `{"error":"pageSize"}`, 400)
		return
	}
	var out []rec
	for i := len(v.records) - 1; i >= 0 && len(out) < size; i-- {
		if id := v.records[i].id; id > newer && (older == 0 || id < older) {
			out = append(out, v.records[i])
		}
	}
	last := 0
	if len(v.records) > 0 {
		last = v.records[len(v.records)-1].id
	}
	fmt.Fprintf(w, `{"lastActivityId":%d,"activities":[`, last)
	v.writeRecords(w, out)
	io.WriteString(w, "]}")
}

// window selects the records of [from, until) in time order.
func (v *vendor) window(from, until time.Time) []rec {
	var out []rec
	for _, r := range v.records {
		if !r.at.Before(from) && r.at.Before(until) {
			out = append(out, r)
		}
	}
	return out
}

func (v *vendor) teamViewer(w http.ResponseWriter, r *http.Request) {
	var q struct {
		StartDate, EndDate, ContinuationToken string
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		http.Error(w, `{"error":"body"}`, 400)
		return
	}
	from, err1 := time.Parse(time.RFC3339, q.StartDate)
	until, err2 := time.Parse(time.RFC3339, q.EndDate)
	if err1 != nil || err2 != nil {
		http.Error(w, `{"error":"dates"}`, 400)
		return
	}
	off := 0
	if q.ContinuationToken != "" {
		if off, err1 = strconv.Atoi(strings.TrimPrefix(q.ContinuationToken, "off:")); err1 != nil {
			http.Error(w, `{"error":"token"}`, 400)
			return
		}
	}
	all := v.window(from, until)
	end := min(off+v.pageSize, len(all))
	io.WriteString(w, `{"AuditEvents":[`)
	v.writeRecords(w, all[min(off, len(all)):end])
	io.WriteString(w, "]")
	if end < len(all) {
		fmt.Fprintf(w, `,"ContinuationToken":"off:%d"`, end)
	}
	io.WriteString(w, "}")
}

var graphFilter = regexp.MustCompile(`^createdDateTime ge (\S+) and createdDateTime lt (\S+)$`)

func (v *vendor) graph(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := graphFilter.FindStringSubmatch(q.Get("$filter"))
	top, err := strconv.Atoi(q.Get("$top"))
	if m == nil || err != nil || top < 1 || top > 1000 {
		http.Error(w, `{"error":{"code":"BadRequest"}}`, 400)
		return
	}
	from, _ := time.Parse(time.RFC3339, m[1])
	until, _ := time.Parse(time.RFC3339, m[2])
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	// Graph lists newest first.
	all := v.window(from, until)
	slices.Reverse(all)
	end := min(skip+top, len(all))
	io.WriteString(w, `{"@odata.context":"https://graph.microsoft.com/beta/$metadata#auditLogs/signIns","value":[`)
	v.writeRecords(w, all[min(skip, len(all)):end])
	io.WriteString(w, "]")
	if end < len(all) {
		nq := url.Values{"$filter": {q.Get("$filter")}, "$top": {q.Get("$top")}, "$skiptoken": {strconv.Itoa(end)}}
		fmt.Fprintf(w, `,"@odata.nextLink":%q`, v.srv.URL+"/beta/auditLogs/signIns?"+nq.Encode())
	}
	io.WriteString(w, "}")
}

func (v *vendor) datto(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339, q.Get("from"))
	until, err2 := time.Parse(time.RFC3339, q.Get("until"))
	size, err3 := strconv.Atoi(q.Get("size"))
	if err1 != nil || err2 != nil || err3 != nil || size < 1 || size > 250 {
		http.Error(w, `{"error":"params"}`, 400)
		return
	}
	pg, _ := strconv.Atoi(q.Get("page"))
	all := v.window(from, until)
	start, end := min(pg*size, len(all)), min((pg+1)*size, len(all))
	next := "null"
	if end < len(all) {
		q.Set("page", strconv.Itoa(pg+1))
		next = strconv.Quote(v.srv.URL + "/api/v2/activity-logs?" + q.Encode())
	}
	fmt.Fprintf(w, `{"pageDetails":{"count":%d,"nextPageUrl":%s},"activities":[`, end-start, next)
	v.writeRecords(w, all[start:end])
	io.WriteString(w, "]}")
}

// dattoJobComponents: a job's components (uid and name), as the
// published API v2 has them; 404 for a job it does not hold.
func (v *vendor) dattoJobComponents(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	if v.jobCalls == nil {
		v.jobCalls = map[string]int{}
	}
	v.jobCalls[uid]++
	ids, ok := v.jobComps[uid]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"job not found"}`)
		return
	}
	var items []string
	for _, id := range ids {
		for _, c := range v.comps {
			if c[0] == id {
				items = append(items, fmt.Sprintf(`{"uid":%q,"name":%q,"variables":[]}`, c[0], c[1]))
			}
		}
	}
	fmt.Fprintf(w, `{"pageDetails":{"count":%d,"nextPageUrl":null},"jobComponents":[%s]}`, len(items), strings.Join(items, ","))
}

// dattoComponents: the account's components, two to a page.
func (v *vendor) dattoComponents(w http.ResponseWriter, r *http.Request) {
	v.compListCalls++
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	start, end := min(2*pg, len(v.comps)), min(2*pg+2, len(v.comps))
	next := "null"
	if end < len(v.comps) {
		next = strconv.Quote(fmt.Sprintf("%s/api/v2/account/components?page=%d", v.srv.URL, pg+1))
	}
	var items []string
	for _, c := range v.comps[start:end] {
		items = append(items, fmt.Sprintf(`{"id":1,"uid":%q,"name":%q,"categoryCode":%q,"credentialsRequired":false}`, c[0], c[1], c[2]))
	}
	fmt.Fprintf(w, `{"pageDetails":{"count":%d,"nextPageUrl":%s},"components":[%s]}`, len(items), next, strings.Join(items, ","))
}

// sourceYAML is a config file's source entry for v.
func (v *vendor) sourceYAML(msp string, pageSize int) string {
	common := fmt.Sprintf("  - source: %s\n    msp: %s\n", v.kind, msp)
	if pageSize > 0 && v.kind != TeamViewer {
		common += fmt.Sprintf("    page_size: %d\n", pageSize)
	}
	windowed := "    lookback: 2h\n    max_window: 30m\n    overlap: 5m\n"
	switch v.kind {
	case NinjaOne:
		return common + "    url: " + v.srv.URL + "\n    client_id: {value: client-1}\n    client_secret: {env: TEST_POLL_SECRET}\n"
	case EntraSignIn:
		return common + windowed + "    url: " + v.srv.URL + "/beta\n    token_url: " + v.srv.URL + "/tenant/oauth2/v2.0/token\n" +
			"    client_id: {value: client-1}\n    client_secret: {env: TEST_POLL_SECRET}\n"
	case TeamViewer:
		if !v.connections {
			common += "    connections: false\n"
		}
		return common + windowed + "    url: " + v.srv.URL + "\n    token: {env: TEST_POLL_SECRET}\n"
	case DattoRMM:
		return common + windowed + "    url: " + v.srv.URL + "\n    api_key: {env: TEST_POLL_APIKEY}\n    api_secret: {env: TEST_POLL_SECRET}\n"
	}
	panic("kind")
}

// teamViewerConnections serves GET /api/v1/reports/connections as
// documented: from_date/to_date (on the start), offset_id, at most
// pageSize records under "records", "records_remaining" and "next_offset".
func (v *vendor) teamViewerConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v.connCalls = append(v.connCalls, q)
	from, err1 := time.Parse(time.RFC3339, q.Get("from_date"))
	until, err2 := time.Parse(time.RFC3339, q.Get("to_date"))
	if err1 != nil || err2 != nil {
		http.Error(w, `{"error":"dates"}`, 400)
		return
	}
	var all []rec
	for _, c := range v.conns {
		if !c.at.Before(from) && c.at.Before(until) {
			all = append(all, c)
		}
	}
	off := 0
	if id := q.Get("offset_id"); id != "" {
		off = slices.IndexFunc(all, func(c rec) bool { return "conn-"+strconv.Itoa(c.id) == id })
		if off < 0 {
			http.Error(w, `{"error":"offset_id"}`, 400)
			return
		}
	}
	end := min(off+v.pageSize, len(all))
	io.WriteString(w, `{"records":[`)
	for i, c := range all[off:end] {
		if i > 0 {
			io.WriteString(w, ",")
		}
		fmt.Fprintf(w, `{"id":"conn-%d","userid":"u1234567","username":"Tech %d","deviceid":"d%d","devicename":"ws-%03d","groupid":"g98765432","groupname":"Acme Dental","start_date":%q,"end_date":%q,"fee":0,"currency":"EUR","billing_state":"NoBilling","notes":"","session_code":"s%d"}`,
			c.id, c.id, c.id, c.id, c.at.UTC().Format("2006-01-02T15:04:05Z"), c.at.Add(5*time.Minute).UTC().Format("2006-01-02T15:04:05Z"), c.id)
	}
	fmt.Fprintf(w, `],"records_remaining":%d`, len(all)-end)
	if end < len(all) {
		fmt.Fprintf(w, `,"next_offset":"conn-%d"`, all[end].id)
	}
	io.WriteString(w, "}")
}
