package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// kind is one vendor API: how to ask for the page after a checkpoint, and
// what a page says.
type kind interface {
	// open prepares cp for a request at now (opens a time window); ok is
	// false when there is nothing to ask for yet.
	open(cp Checkpoint, now time.Time) (Checkpoint, bool)
	request(ctx context.Context, cp Checkpoint) (*http.Request, error)
	// advance reads a page fetched at cp: its records (a JSON array, as
	// the vendor sent them), how many, the checkpoint once they are
	// written, and whether another page follows now.
	advance(body []byte, cp Checkpoint, now time.Time) (page, error)
}

type page struct {
	records json.RawMessage
	n       int
	next    Checkpoint
	more    bool
}

// errPage is a page the poller cannot read: the vendor changed its shape
// or sent garbage. The checkpoint does not move.
var errPage = errors.New("unreadable page")

func pageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPage, fmt.Sprintf(format, args...))
}

// members reads a page object; key must hold an array (or be absent or
// null, an empty page).
func members(body []byte, key string) (map[string]json.RawMessage, json.RawMessage, int, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, 0, pageErr("not a JSON object: %v", err)
	}
	raw := bytes.TrimSpace(m[key])
	if len(raw) == 0 || string(raw) == "null" {
		return m, nil, 0, nil
	}
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, nil, 0, pageErr("%q is not an array", key)
	}
	if len(elems) == 0 {
		return m, nil, 0, nil
	}
	return m, raw, len(elems), nil
}

func stringMember(m map[string]json.RawMessage, key string) (string, error) {
	raw := m[key]
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", pageErr("%q is not a string", key)
	}
	return s, nil
}

// sameOrigin refuses a next-page URL on another host than the API's: the
// request would carry the bearer token there.
func sameOrigin(base, next string) (*url.URL, error) {
	b, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	n, err := url.Parse(next)
	if err != nil || !strings.EqualFold(n.Scheme, b.Scheme) || !strings.EqualFold(n.Host, b.Host) {
		return nil, pageErr("next-page URL is not on %s://%s; refusing to send it the token", b.Scheme, b.Host)
	}
	return n, nil
}

// ninjaOne pages GET /v2/activities by activity ID. The API lists newest
// first; a poll sweeps down from the newest with olderThan (the lowest ID
// of the page before) to the last ID written (newerThan), until a page
// is empty. Read as newest-first, an oldest-first answer is handled too,
// at the cost of an empty page per page.
type ninjaOne struct {
	base     string
	pageSize int
}

func (ninjaOne) open(cp Checkpoint, _ time.Time) (Checkpoint, bool) { return cp, true }

func (k ninjaOne) request(ctx context.Context, cp Checkpoint) (*http.Request, error) {
	q := url.Values{"pageSize": {strconv.Itoa(k.pageSize)}}
	if cp.LastID > 0 {
		q.Set("newerThan", strconv.FormatInt(cp.LastID, 10))
	}
	if cp.SweepBelow > 0 {
		q.Set("olderThan", strconv.FormatInt(cp.SweepBelow, 10))
	}
	return http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(k.base, "/")+"/v2/activities?"+q.Encode(), nil)
}

func (k ninjaOne) advance(body []byte, cp Checkpoint, _ time.Time) (page, error) {
	_, raw, n, err := members(body, "activities")
	if err != nil {
		return page{}, err
	}
	if n == 0 {
		// The sweep reached the last ID written. If it wrote anything,
		// activities may have arrived since it started (or, resumed
		// after a kill, since long ago): another sweep from the new
		// LastID finds them, and ends at once when there are none.
		more := cp.SweepTop > cp.LastID
		cp.LastID = max(cp.LastID, cp.SweepTop)
		cp.SweepTop, cp.SweepBelow = 0, 0
		return page{next: cp, more: more}, nil
	}
	var ids []struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(raw, &ids); err != nil {
		return page{}, pageErr("activities: %v", err)
	}
	lo, hi := int64(0), int64(0)
	for i, a := range ids {
		id, err := strconv.ParseInt(string(a.ID), 10, 64)
		if err != nil || id <= 0 {
			return page{}, pageErr("activity %d has no positive integer id", i)
		}
		if cp.LastID > 0 && id <= cp.LastID || cp.SweepBelow > 0 && id >= cp.SweepBelow {
			return page{}, pageErr("activity %d (id %d) is outside the requested range (%d, %d)", i, id, cp.LastID, cp.SweepBelow)
		}
		if lo == 0 || id < lo {
			lo = id
		}
		hi = max(hi, id)
	}
	cp.SweepTop = max(cp.SweepTop, hi)
	cp.SweepBelow = lo
	return page{records: raw, n: n, next: cp, more: true}, nil
}

// window is the time cursor of TeamViewer, Graph and Datto RMM.
type window struct {
	overlap, lookback, maxWindow, delay time.Duration
}

// open starts a window at cp.Since (now-lookback the first time) ending
// at now-delay, at most maxWindow long; a window being paged is kept.
func (w window) open(cp Checkpoint, now time.Time) (Checkpoint, bool) {
	if !cp.Until.IsZero() {
		return cp, true
	}
	if cp.Since.IsZero() {
		cp.Since = now.Add(-w.lookback).UTC().Truncate(time.Second)
	}
	end := now.Add(-w.delay).UTC().Truncate(time.Second)
	if lim := cp.Since.Add(w.maxWindow); end.After(lim) {
		end = lim
	}
	if !end.After(cp.Since) {
		return cp, false
	}
	cp.Until = end
	return cp, true
}

// close moves cp past a window whose last page was written (next empty)
// or to the window's next page.
func (w window) close(cp Checkpoint, next string, now time.Time) (Checkpoint, bool) {
	if next != "" {
		cp.Next = next
		return cp, true
	}
	// The next window re-reads the last `overlap` of this one: records
	// that arrive late land in it.
	end := cp.Until
	cp.Since, cp.Until, cp.Next = end.Add(-w.overlap), time.Time{}, ""
	if s := end.Add(-w.maxWindow); cp.Since.Before(s) {
		cp.Since = s
	}
	// Caught up once the window reached now-delay (within a second).
	caughtUp := !end.Before(now.Add(-w.delay).Add(-time.Second))
	return cp, !caughtUp
}

func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// teamViewer pages POST /api/v1/EventLogging with StartDate, EndDate and
// ContinuationToken.
type teamViewer struct {
	window
	base string
}

func (k teamViewer) request(ctx context.Context, cp Checkpoint) (*http.Request, error) {
	q := struct {
		StartDate         string `json:"StartDate"`
		EndDate           string `json:"EndDate"`
		ContinuationToken string `json:"ContinuationToken,omitempty"`
	}{rfc3339(cp.Since), rfc3339(cp.Until), cp.Next}
	b, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(k.base, "/")+"/api/v1/EventLogging", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (k teamViewer) advance(body []byte, cp Checkpoint, now time.Time) (page, error) {
	m, raw, n, err := members(body, "AuditEvents")
	if err != nil {
		return page{}, err
	}
	tok, err := stringMember(m, "ContinuationToken")
	if err != nil {
		return page{}, err
	}
	if tok != "" && tok == cp.Next {
		return page{}, pageErr("the continuation token did not change (the API would loop)")
	}
	next, more := k.close(cp, tok, now)
	return page{records: raw, n: n, next: next, more: more}, nil
}

// teamViewerConnections pages GET /api/v1/reports/connections with
// from_date, to_date and offset_id: at most 1,000 records a page under
// "records", "records_remaining" counting those left and "next_offset"
// naming the offset_id of the next page (TeamViewer's API documentation,
// as quoted by public scripts using it). Assumed, not confirmed: the dates
// select connections by their start, and a connection still open is
// reported without end_date; it is read again, with its end, while the
// window's overlap still covers its start (docs/sources.md).
type teamViewerConnections struct {
	window
	base string
}

func (k teamViewerConnections) request(ctx context.Context, cp Checkpoint) (*http.Request, error) {
	q := url.Values{"from_date": {rfc3339(cp.Since)}, "to_date": {rfc3339(cp.Until)}}
	if cp.Next != "" {
		q.Set("offset_id", cp.Next)
	}
	return http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(k.base, "/")+"/api/v1/reports/connections?"+q.Encode(), nil)
}

func (k teamViewerConnections) advance(body []byte, cp Checkpoint, now time.Time) (page, error) {
	m, raw, n, err := members(body, "records")
	if err != nil {
		return page{}, err
	}
	next, err := stringMember(m, "next_offset")
	if err != nil {
		return page{}, err
	}
	var remaining int64
	if r := m["records_remaining"]; len(r) > 0 && string(r) != "null" {
		if err := json.Unmarshal(r, &remaining); err != nil || remaining < 0 {
			return page{}, pageErr("records_remaining is not a count")
		}
	}
	if remaining == 0 {
		next = ""
	} else if next == "" {
		return page{}, pageErr("%d records remaining but no next_offset", remaining)
	} else if next == cp.Next {
		return page{}, pageErr("next_offset did not change (the API would loop)")
	}
	c, more := k.close(cp, next, now)
	return page{records: raw, n: n, next: c, more: more}, nil
}

// graphSignIns pages GET /auditLogs/signIns with $filter on
// createdDateTime and @odata.nextLink.
type graphSignIns struct {
	window
	base     string
	pageSize int
}

func (k graphSignIns) request(ctx context.Context, cp Checkpoint) (*http.Request, error) {
	if cp.Next != "" {
		u, err := sameOrigin(k.base, cp.Next)
		if err != nil {
			return nil, err
		}
		return http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	}
	filter := fmt.Sprintf("createdDateTime ge %s and createdDateTime lt %s", rfc3339(cp.Since), rfc3339(cp.Until))
	// Spaces as %20: Graph's OData parser reads '+' in $filter literally
	// on some endpoints.
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	u := strings.TrimRight(k.base, "/") + "/auditLogs/signIns?$filter=" + enc(filter) + "&$top=" + strconv.Itoa(k.pageSize)
	return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
}

func (k graphSignIns) advance(body []byte, cp Checkpoint, now time.Time) (page, error) {
	m, raw, n, err := members(body, "value")
	if err != nil {
		return page{}, err
	}
	next, err := stringMember(m, "@odata.nextLink")
	if err != nil {
		return page{}, err
	}
	if next != "" {
		if _, err := sameOrigin(k.base, next); err != nil {
			return page{}, err
		}
	}
	c, more := k.close(cp, next, now)
	return page{records: raw, n: n, next: c, more: more}, nil
}

// dattoRMM pages GET /api/v2/activity-logs with from/until and
// pageDetails.nextPageUrl. PROVISIONAL, like the adapter.
type dattoRMM struct {
	window
	base     string
	pageSize int
	// jobs adds the components of the jobs the records name (nil: off).
	jobs *dattoJobs
}

func (k dattoRMM) request(ctx context.Context, cp Checkpoint) (*http.Request, error) {
	if cp.Next != "" {
		u, err := sameOrigin(k.base, cp.Next)
		if err != nil {
			return nil, err
		}
		return http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	}
	q := url.Values{"from": {rfc3339(cp.Since)}, "until": {rfc3339(cp.Until)}, "size": {strconv.Itoa(k.pageSize)}, "order": {"asc"}}
	return http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(k.base, "/")+"/api/v2/activity-logs?"+q.Encode(), nil)
}

func (k dattoRMM) advance(body []byte, cp Checkpoint, now time.Time) (page, error) {
	m, raw, n, err := members(body, "activities")
	if err != nil {
		return page{}, err
	}
	next, err := dattoNextPage(m)
	if err != nil {
		return page{}, err
	}
	if next != "" {
		if _, err := sameOrigin(k.base, next); err != nil {
			return page{}, err
		}
		if next == cp.Next {
			return page{}, pageErr("nextPageUrl did not change (the API would loop)")
		}
	}
	c, more := k.close(cp, next, now)
	return page{records: raw, n: n, next: c, more: more}, nil
}

// dattoNextPage is a Datto RMM page's pageDetails.nextPageUrl ("" on the
// last page).
func dattoNextPage(m map[string]json.RawMessage) (string, error) {
	pd := m["pageDetails"]
	if len(pd) == 0 || string(pd) == "null" {
		return "", nil
	}
	var d struct {
		NextPageURL *string `json:"nextPageUrl"`
	}
	if err := json.Unmarshal(pd, &d); err != nil {
		return "", pageErr("pageDetails: %v", err)
	}
	if d.NextPageURL == nil {
		return "", nil
	}
	return *d.NextPageURL, nil
}
