package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/receive"
)

const testMSP = "msp-northwind"

// now is the tests' clock: records lie in the 100 minutes before it.
var now = time.Date(2025, 11, 20, 16, 0, 0, 0, time.UTC)

// harness is one vendor server, one broker over TCP and one checkpoint
// directory; each run is a new Poller, as a restarted process would be.
type harness struct {
	t      testing.TB
	v      *vendor
	b      *broker.Broker
	w      *kafka.Writer
	dir    string
	conf   string
	reg    *prometheus.Registry
	log    *bytes.Buffer
	offset int64 // messages read so far
}

func newHarness(t testing.TB, kind string, pageSize int, extra string) *harness {
	t.Helper()
	t.Setenv("TEST_POLL_SECRET", testSecret)
	t.Setenv("TEST_POLL_APIKEY", testAPIKey)
	h := &harness{t: t, v: newVendor(t, kind), dir: t.TempDir(), log: &bytes.Buffer{}}
	h.b = broker.ForTest(t, broker.Options{Partitions: 1, Topics: []string{receive.DefaultTopic}})
	h.w = h.b.Config().NewWriter()
	t.Cleanup(func() { h.w.Close() })
	h.conf = fmt.Sprintf("checkpoint_dir: %s\nbackoff: 5ms\nmax_backoff: 20ms\nmax_attempts: 4\n%ssources:\n%s",
		filepath.Join(h.dir, "cp"), extra, h.v.sourceYAML(testMSP, pageSize))
	return h
}

// run polls once to caught-up with a new Poller.
func (h *harness) run(ctx context.Context, hook func(string, int) error) error {
	h.t.Helper()
	f, err := ParseFile([]byte(h.conf), "poll.yaml")
	if err != nil {
		h.t.Fatal(err)
	}
	h.reg = prometheus.NewRegistry()
	p, err := New(Config{File: f, Kind: h.v.kind, Producer: h.w, Once: true, Registerer: h.reg,
		Log: zerolog.New(h.log).Level(zerolog.DebugLevel), Now: func() time.Time { return now }, afterAck: hook})
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Run(ctx)
}

// messages reads the raw topic's messages written since the last call.
func (h *harness) messages() []kafka.Message {
	h.t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: h.b.Addrs(), Topic: receive.DefaultTopic, Partition: 0, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(h.offset); err != nil {
		h.t.Fatal(err)
	}
	var out []kafka.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			break
		}
		out = append(out, m)
		h.offset = m.Offset + 1
	}
	return out
}

// keys are the record keys of msgs, each message checked to be what
// receive writes: topic, key, headers, a JSON array the adapter converts.
func (h *harness) keys(msgs []kafka.Message) []int {
	h.t.Helper()
	a, ok := adapt.Get(h.v.kind)
	if !ok {
		h.t.Fatalf("no adapter %s", h.v.kind)
	}
	var keys []int
	for _, m := range msgs {
		hd := map[string]string{}
		for _, x := range m.Headers {
			hd[x.Key] = string(x.Value)
		}
		if string(m.Key) != testMSP || hd[ingest.HeaderFormat] != h.v.kind || hd[ingest.HeaderMSP] != testMSP || hd[receive.HeaderReceivedAt] == "" {
			h.t.Fatalf("message key %q headers %v", m.Key, hd)
		}
		var recs []json.RawMessage
		if err := json.Unmarshal(m.Value, &recs); err != nil {
			h.t.Fatalf("message is not a JSON array of records: %v", err)
		}
		for _, r := range recs {
			k, err := recordKey(h.v.kind, r)
			if err != nil {
				h.t.Fatalf("record %s: %v", r, err)
			}
			keys = append(keys, k)
		}
		events := 0
		err := a.Convert(m.Value, testMSP, func(o adapt.Out) error {
			if o.Event == nil {
				return fmt.Errorf("record %d: not converted: %v %s", o.Record, o.Err, o.Skip)
			}
			events++
			return nil
		})
		if err != nil || events != len(recs) {
			h.t.Fatalf("the %s adapter converted %d events of %d records: %v", h.v.kind, events, len(recs), err)
		}
	}
	return keys
}

// windowEnds are the ends of the windows a time-cursor source walks from
// its lookback to now (lookback 2h, max_window 30m, overlap 5m).
func windowEnds() []time.Time {
	var ends []time.Time
	since := now.Add(-2 * time.Hour)
	for {
		end := since.Add(30 * time.Minute)
		if end.After(now) {
			end = now
		}
		ends = append(ends, end)
		if !end.Before(now) {
			return ends
		}
		since = end.Add(-5 * time.Minute)
	}
}

// inOverlap reports whether a record of time at is re-read on purpose.
func inOverlap(kind string, at time.Time) bool {
	if kind == NinjaOne {
		return false
	}
	for _, e := range windowEnds()[:len(windowEnds())-1] {
		if !at.Before(e.Add(-5*time.Minute)) && at.Before(e) {
			return true
		}
	}
	return false
}

// check asserts no gap (every record written) and returns how many
// records were written more than once outside the overlap windows.
func (h *harness) check(keys []int) (extraDups int) {
	h.t.Helper()
	seen := map[int]int{}
	for _, k := range keys {
		seen[k]++
	}
	h.v.mu.Lock()
	defer h.v.mu.Unlock()
	for _, r := range h.v.records {
		n := seen[r.id]
		delete(seen, r.id)
		// Once, and once more when the overlap of two windows re-reads it.
		allowed := 1
		if inOverlap(h.v.kind, r.at) {
			allowed = 2
		}
		if n == 0 {
			h.t.Errorf("gap: record %d (%s) never written", r.id, r.at.Format(time.TimeOnly))
		}
		extraDups += max(n-allowed, 0)
	}
	for k := range seen {
		h.t.Errorf("record %d written but not served", k)
	}
	return extraDups
}

var kinds = []struct {
	kind     string
	pageSize int // asked; TeamViewer's server pages by 3
	page     int // records per page
}{
	{NinjaOne, 4, 4}, {TeamViewer, 0, 3}, {EntraSignIn, 4, 4}, {DattoRMM, 4, 4},
}

func addRecords(v *vendor) {
	// 60 records, one per 90 s, from 100 minutes before now.
	start := now.Add(-100 * time.Minute)
	for i := range 60 {
		v.add(1, start.Add(time.Duration(i)*90*time.Second))
	}
}

func TestFullPull(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			h := newHarness(t, k.kind, k.pageSize, "")
			addRecords(h.v)
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			msgs := h.messages()
			if dups := h.check(h.keys(msgs)); dups != 0 {
				t.Errorf("%d records written twice outside the overlap windows", dups)
			}
			if got := ops.Sum(h.reg, "tripline_poll_records_total"); int(got) < 60 {
				t.Errorf("tripline_poll_records_total %v, want >= 60", got)
			}
			cp, ok, err := loadCheckpoint(checkpointFile(filepath.Join(h.dir, "cp"), k.kind+"-"+testMSP))
			if err != nil || !ok {
				t.Fatalf("checkpoint: %v %v", ok, err)
			}
			if k.kind == NinjaOne {
				if cp.LastID != 159 || cp.SweepBelow != 0 || cp.SweepTop != 0 {
					t.Errorf("checkpoint %+v, want last_id 159 and no sweep", cp)
				}
			} else if !cp.Since.Equal(now.Add(-5*time.Minute)) || !cp.Until.IsZero() || cp.Next != "" {
				t.Errorf("checkpoint %+v, want since now-5m and no window open", cp)
			}
			// A second poll finds nothing new (ID cursor) or re-reads only
			// the overlap (time cursor).
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			for _, key := range h.keys(h.messages()) {
				if k.kind == NinjaOne {
					t.Errorf("record %d written again by a poll with nothing new", key)
				} else if key < 100+57 { // the records of the last 5 minutes
					t.Errorf("record %d re-read though older than the overlap", key)
				}
			}
		})
	}
}

// A poller killed mid-run (between Kafka's ack of a page and its
// checkpoint, or during a request) resumes without gaps, writing again at
// most the page whose checkpoint was lost.
func TestResumeAfterKill(t *testing.T) {
	for _, k := range kinds {
		for _, kill := range []string{"after-ack", "in-request"} {
			t.Run(k.kind+"/"+kill, func(t *testing.T) {
				h := newHarness(t, k.kind, k.pageSize, "")
				addRecords(h.v)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var hook func(string, int) error
				killed := errors.New("killed")
				switch kill {
				case "after-ack":
					hook = func(_ string, page int) error {
						if page == 3 {
							return killed
						}
						return nil
					}
				case "in-request":
					h.v.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
						if n == 4 {
							// The poller dies while the vendor answers.
							// (The server notices the hang-up once the
							// body is read.)
							io.Copy(io.Discard, r.Body)
							cancel()
							select {
							case <-r.Context().Done():
							case <-time.After(5 * time.Second):
							}
							return true
						}
						return false
					}
				}
				err := h.run(ctx, hook)
				if kill == "after-ack" && !errors.Is(err, killed) {
					t.Fatalf("first run: %v, want the kill", err)
				}
				first := h.keys(h.messages())
				if len(first) == 0 || len(first) >= 60 {
					t.Fatalf("first run wrote %d records; the kill should stop it part-way", len(first))
				}
				// Records keep arriving while the poller is down.
				if k.kind == NinjaOne {
					h.v.add(5, now.Add(-time.Minute))
				}
				h.v.setFault(nil)
				if err := h.run(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				all := append(first, h.keys(h.messages())...)
				dups := h.check(all)
				limit := 0
				if kill == "after-ack" {
					limit = k.page
				}
				if dups > limit {
					t.Errorf("%d records written twice, more than the %d of the unacknowledged page", dups, limit)
				}
				t.Logf("first run %d records, %d in all, %d written twice outside overlaps", len(first), len(all), dups)
			})
		}
	}
}

func TestRateLimitsAndRetries(t *testing.T) {
	cases := []struct {
		name    string
		fault   func(w http.ResponseWriter, n int) bool
		minWait time.Duration
		metric  string
	}{
		{"429 Retry-After seconds", func(w http.ResponseWriter, n int) bool {
			if n == 2 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}, time.Second, "tripline_poll_rate_limited_total"},
		{"429 Retry-After date", func(w http.ResponseWriter, n int) bool {
			if n == 2 {
				w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}, time.Second, "tripline_poll_rate_limited_total"},
		{"503 then 500, backoff", func(w http.ResponseWriter, n int) bool {
			switch n {
			case 2:
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			case 3:
				w.WriteHeader(http.StatusInternalServerError)
				return true
			}
			return false
		}, 0, "tripline_poll_retries_total"},
		{"body cut short", func(w http.ResponseWriter, n int) bool {
			if n == 2 {
				c, buf, _ := w.(http.Hijacker).Hijack()
				buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"activities\":[")
				buf.Flush()
				c.Close()
				return true
			}
			return false
		}, 0, "tripline_poll_retries_total"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, NinjaOne, 10, "")
			addRecords(h.v)
			h.v.fault = func(w http.ResponseWriter, _ *http.Request, n int) bool { return c.fault(w, n) }
			start := time.Now()
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < c.minWait {
				t.Errorf("done in %v: Retry-After not honoured", el)
			}
			if dups := h.check(h.keys(h.messages())); dups != 0 {
				t.Errorf("%d duplicates", dups)
			}
			if got := ops.Sum(h.reg, c.metric); got < 1 {
				t.Errorf("%s = %v", c.metric, got)
			}
		})
	}
	t.Run("gives up, checkpoint unchanged", func(t *testing.T) {
		h := newHarness(t, NinjaOne, 10, "")
		addRecords(h.v)
		h.v.fault = func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n >= 3 {
				w.WriteHeader(http.StatusBadGateway)
				return true
			}
			return false
		}
		err := h.run(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") || !strings.Contains(err.Error(), "502") {
			t.Fatalf("err %v", err)
		}
		cp, _, _ := loadCheckpoint(checkpointFile(filepath.Join(h.dir, "cp"), "ninjaone-"+testMSP))
		if cp.SweepBelow != 140 || cp.LastID != 0 {
			t.Errorf("checkpoint %+v, want the sweep after two pages (below 140)", cp)
		}
	})
}

func TestTokenRefresh(t *testing.T) {
	for _, kind := range []string{NinjaOne, EntraSignIn, DattoRMM} {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, kind, 4, "")
			addRecords(h.v)
			h.v.revokeAfter = 3 // the API refuses a token after 3 uses: 401
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			h.check(h.keys(h.messages()))
			h.v.mu.Lock()
			calls, forms, basic := h.v.tokenCalls, h.v.tokenForms, h.v.basicUsers
			h.v.mu.Unlock()
			if calls < 3 {
				t.Errorf("%d tokens fetched; a refused token must be replaced", calls)
			}
			if got := ops.Sum(h.reg, "tripline_poll_token_fetches_total"); int(got) != calls {
				t.Errorf("tripline_poll_token_fetches_total %v, want %d", got, calls)
			}
			f := forms[0]
			switch kind {
			case NinjaOne:
				if f.Get("grant_type") != "client_credentials" || f.Get("scope") != "monitoring" {
					t.Errorf("token form %v", f.Get("scope"))
				}
			case EntraSignIn:
				if f.Get("scope") != "https://graph.microsoft.com/.default" {
					t.Errorf("scope %q", f.Get("scope"))
				}
			case DattoRMM:
				if f.Get("grant_type") != "password" || basic[0] != "public-client:public" {
					t.Errorf("grant %q basic %q", f.Get("grant_type"), basic[0])
				}
			}
		})
	}
}

// A page the poller cannot read stops the poll with a clear error; the
// checkpoint stays after the last page written; the next poll resumes.
func TestBadPage(t *testing.T) {
	cases := []struct {
		name, body string
		extra      string
		want       string
	}{
		{"truncated JSON", `{"activities":[{"id":1`, "", "not a JSON object"},
		{"HTML", `<html>maintenance</html>`, "", "not a JSON object"},
		{"records not an array", `{"activities":{"id":1}}`, "", `"activities" is not an array`},
		{"id not a number", `{"activities":[{"id":"x"}]}`, "", "no positive integer id"},
		{"id outside the range asked", `{"activities":[{"id":99999}]}`, "", "outside the requested range"},
		{"body too large", `{"activities":[` + strings.Repeat(" ", 5000) + `]}`, "max_body_bytes: 4096\n", "response body too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, NinjaOne, 10, c.extra)
			addRecords(h.v)
			h.v.fault = func(w http.ResponseWriter, _ *http.Request, n int) bool {
				if n == 2 {
					w.Write([]byte(c.body))
					return true
				}
				return false
			}
			err := h.run(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "ninjaone-"+testMSP) {
				t.Errorf("err %v does not name the source", err)
			}
			first := h.keys(h.messages())
			if len(first) != 10 {
				t.Fatalf("%d records written, want the first page's 10", len(first))
			}
			cp, _, _ := loadCheckpoint(checkpointFile(filepath.Join(h.dir, "cp"), "ninjaone-"+testMSP))
			if cp.SweepBelow != 150 || cp.SweepTop != 159 || cp.LastID != 0 {
				t.Errorf("checkpoint %+v moved past the bad page", cp)
			}
			if got := ops.SumBy(h.reg, "tripline_poll_errors_total", "kind"); got["page"]+got["http"] != 1 {
				t.Errorf("tripline_poll_errors_total %v", got)
			}
			h.v.setFault(nil)
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if dups := h.check(append(first, h.keys(h.messages())...)); dups != 0 {
				t.Errorf("%d duplicates", dups)
			}
		})
	}
}

// Credentials never reach errors, logs or metrics, whether the vendor
// accepts them or not.
func TestSecretsStayOut(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			h := newHarness(t, k.kind, k.pageSize, "")
			addRecords(h.v)
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			var texts []string
			texts = append(texts, h.log.String(), gatherText(t, h.reg))
			// The vendor refuses the credentials.
			t.Setenv("TEST_POLL_SECRET", testSecret+"-wrong")
			err := h.run(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("err %v, want a 401", err)
			}
			texts = append(texts, err.Error(), h.log.String(), gatherText(t, h.reg))
			for _, s := range texts {
				for _, sec := range []string{testSecret, testAPIKey, "tok-1"} {
					if strings.Contains(s, sec) {
						t.Errorf("%q leaked into %.300s", sec, s)
					}
				}
			}
		})
	}
}

func gatherText(t *testing.T, g prometheus.Gatherer) string {
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		expfmt.MetricFamilyToText(&b, mf)
	}
	return b.String()
}

// A next-page URL on another host is refused: following it would hand
// that host the bearer token.
func TestNextLinkOtherHost(t *testing.T) {
	for _, kind := range []string{EntraSignIn, DattoRMM} {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, kind, 4, "")
			addRecords(h.v)
			evil := newVendor(t, kind)
			h.v.fault = func(w http.ResponseWriter, _ *http.Request, n int) bool {
				if kind == EntraSignIn {
					fmt.Fprintf(w, `{"value":[],"@odata.nextLink":%q}`, evil.srv.URL+"/beta/auditLogs/signIns?$skiptoken=1")
				} else {
					fmt.Fprintf(w, `{"pageDetails":{"nextPageUrl":%q},"activities":[]}`, evil.srv.URL+"/api/v2/activity-logs?page=1")
				}
				return true
			}
			err := h.run(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), "refusing to send it the token") {
				t.Fatalf("err %v", err)
			}
			if evil.apiCalls != 0 {
				t.Errorf("the other host got %d requests", evil.apiCalls)
			}
		})
	}
}

// A next-page URL or continuation token the vendor no longer takes (a
// restart after the token expired) re-reads the window from its start:
// duplicates, never a gap.
func TestStaleCursor(t *testing.T) {
	for _, k := range kinds[1:] {
		t.Run(k.kind, func(t *testing.T) {
			h := newHarness(t, k.kind, k.pageSize, "")
			addRecords(h.v)
			err := h.run(context.Background(), func(_ string, page int) error {
				if page == 2 {
					return errors.New("killed")
				}
				return nil
			})
			if err == nil {
				t.Fatal("no kill")
			}
			first := h.keys(h.messages())
			cp, _, _ := loadCheckpoint(checkpointFile(filepath.Join(h.dir, "cp"), k.kind+"-"+testMSP))
			if cp.Next == "" {
				t.Fatalf("checkpoint %+v: the kill should leave a window being paged", cp)
			}
			stale, refused := cp.Next, false
			h.v.setFault(func(w http.ResponseWriter, r *http.Request, _ int) bool {
				var q struct{ ContinuationToken string }
				if r.Body != nil && r.Method == http.MethodPost {
					b, _ := io.ReadAll(r.Body)
					json.Unmarshal(b, &q)
					r.Body = io.NopCloser(bytes.NewReader(b))
				}
				// Refused once: the re-read window gets fresh cursors.
				if !refused && (r.URL.RawQuery != "" && strings.Contains(stale, r.URL.RawQuery) || q.ContinuationToken == stale) {
					refused = true
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, `{"error":"expired"}`)
					return true
				}
				return false
			})
			if err := h.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if got := ops.SumBy(h.reg, "tripline_poll_errors_total", "kind")["stale_cursor"]; got != 1 {
				t.Errorf("stale_cursor errors %v, want 1", got)
			}
			h.check(append(first, h.keys(h.messages())...))
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("TEST_POLL_SECRET", testSecret)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600)
	head := "checkpoint_dir: " + dir + "\nsources:\n"
	ninja := "  - source: ninjaone\n    msp: m1\n    url: https://app.ninjarmm.com\n    client_id: {value: c}\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"ok, secret from a file", head + ninja + "    client_secret: {file: " + secretFile + "}\n", ""},
		{"ok, secret from env", head + ninja + "    client_secret: {env: TEST_POLL_SECRET}\n", ""},
		{"unknown key", head + ninja + "    client_secret: {env: TEST_POLL_SECRET}\n    pagesize: 10\n", "poll.yaml:8:1: field pagesize not found"},
		{"unknown top-level key", "checkpoint_dri: x\n", "poll.yaml:1:1: field checkpoint_dri not found"},
		{"unknown credential key", head + ninja + "    client_secret: {envv: X}\n", "poll.yaml:7:1: field envv not found"},
		{"secret written in the file", head + ninja + "    client_secret: {value: hunter2}\n", "poll.yaml:7: ninjaone-m1: client_secret: a secret is read from env or file"},
		{"secret env unset", head + ninja + "    client_secret: {env: TEST_POLL_UNSET}\n", "environment variable TEST_POLL_UNSET is not set"},
		{"secret file missing", head + ninja + "    client_secret: {file: /nonexistent/x}\n", "/nonexistent/x"},
		{"no secret", head + ninja, "poll.yaml:3: source 1: client_secret is required"},
		{"unknown source", head + "  - source: kaseya\n    msp: m1\n    url: https://x\n", "poll.yaml:3: source 1: source \"kaseya\""},
		{"bad duration", head + ninja + "    client_secret: {env: TEST_POLL_SECRET}\n    overlap: 5 minutes\n", "poll.yaml:8:1: \"5 minutes\" is not a duration"},
		{"page size over the API's", head + ninja + "    client_secret: {env: TEST_POLL_SECRET}\n    page_size: 5000\n", "page_size 5000: at most 1000"},
		{"credentials in the URL", head + "  - source: teamviewer\n    msp: m1\n    url: https://u:p@webapi.teamviewer.com\n    token: {env: TEST_POLL_SECRET}\n", "without credentials"},
		{"no checkpoint_dir", "sources: []\n", "checkpoint_dir is required"},
		{"window shorter than overlap", head + "  - source: teamviewer\n    msp: m1\n    url: https://webapi.teamviewer.com\n    token: {env: TEST_POLL_SECRET}\n    overlap: 1h\n    max_window: 30m\n", "max_window (30m0s) must be longer than overlap"},
		{"two sources one name", head + ninja + "    client_secret: {env: TEST_POLL_SECRET}\n" + ninja + "    client_secret: {env: TEST_POLL_SECRET}\n", "name ninjaone-m1 used twice"},
		{"alias bomb", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseFile([]byte(c.yaml), "poll.yaml")
			if err == nil {
				_, err = New(Config{File: f, Kind: f.Sources[0].Source, Producer: nopProducer{}, Registerer: prometheus.NewRegistry()})
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "hunter2")) {
				t.Errorf("the secret is in the error: %v", err)
			}
		})
	}
}

type nopProducer struct{}

func (nopProducer) WriteMessages(context.Context, ...kafka.Message) error { return nil }

func TestCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	path := checkpointFile(dir, "ninjaone-m1")
	if _, ok, err := loadCheckpoint(path); ok || err != nil {
		t.Fatalf("missing checkpoint: ok %v err %v", ok, err)
	}
	want := Checkpoint{Source: NinjaOne, Name: "ninjaone-m1", MSP: "m1", LastID: 42, SweepTop: 50, SweepBelow: 45}
	for range 3 {
		if err := saveCheckpoint(path, want); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := loadCheckpoint(path)
	if err != nil || !ok || got != want {
		t.Fatalf("read back %+v %v %v", got, ok, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want the checkpoint only (no temp files left)", len(entries))
	}
	os.WriteFile(path, []byte(`{"last_id": 4`), 0o600)
	if _, _, err := loadCheckpoint(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a torn checkpoint must be an error naming it, got %v", err)
	}
	// A checkpoint of another source under this name is refused.
	saveCheckpoint(path, Checkpoint{Source: TeamViewer, MSP: "m1"})
	t.Setenv("TEST_POLL_SECRET", testSecret)
	f, err := ParseFile([]byte("checkpoint_dir: "+dir+"\nsources:\n  - source: ninjaone\n    name: ninjaone-m1\n    msp: m1\n    url: https://x\n    client_id: {value: c}\n    client_secret: {env: TEST_POLL_SECRET}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{File: f, Kind: NinjaOne, Producer: nopProducer{}, Registerer: prometheus.NewRegistry()}); err == nil || !strings.Contains(err.Error(), "is of teamviewer/m1") {
		t.Errorf("err %v", err)
	}
}

// Two pollers of one source cannot run at once: the second refuses to
// start rather than race the first over the checkpoint.
func TestCheckpointLocked(t *testing.T) {
	dir := t.TempDir()
	path := checkpointFile(dir, "ninjaone-m1")
	unlock, err := lockCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockCheckpoint(path); err == nil || !strings.Contains(err.Error(), "in use by another poller") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := lockCheckpoint(path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestRetryAfter(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{at.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{at.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-1", 0, false},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.v, at)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %v %v, want %v %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

// TestTeamViewerConnections: a teamviewer source also polls the connection
// reports (its own cursor and checkpoint, NAME-connections), paging with
// offset_id, and every report reaches the vendor topic (the overlap re-reads
// some, deduplicated by event_id), as a record the teamviewer adapter turns
// into session.start and session.end.
func TestTeamViewerConnections(t *testing.T) {
	h := newHarness(t, TeamViewer, 0, "")
	h.v.connections = true
	h.conf = strings.Replace(h.conf, "    connections: false\n", "", 1)
	start := now.Add(-100 * time.Minute)
	for i := range 20 {
		h.v.conns = append(h.v.conns, rec{id: 500 + i, at: start.Add(time.Duration(i) * 4 * time.Minute)})
	}
	if err := h.run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	a, _ := adapt.Get(TeamViewer)
	seen := map[string]int{}
	sessions := map[string]int{}
	for _, m := range h.messages() {
		if err := a.Convert(m.Value, testMSP, func(o adapt.Out) error {
			if o.Event == nil {
				return fmt.Errorf("record %d: %v %s", o.Record, o.Err, o.Skip)
			}
			sessions[o.Event.EventType]++
			if o.Event.EventType == "session.start" {
				seen[strings.Clone(o.Event.EventID)]++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 20 || sessions["session.start"] != sessions["session.end"] {
		t.Fatalf("%d connections seen (%v), want 20 each with its end", len(seen), sessions)
	}
	paged := 0
	for _, q := range h.v.connCalls {
		if q.Get("offset_id") != "" {
			paged++
		}
	}
	if paged == 0 {
		t.Error("no request followed next_offset")
	}
	if _, ok, err := loadCheckpoint(checkpointFile(filepath.Join(h.dir, "cp"), TeamViewer+"-"+testMSP+"-connections")); err != nil || !ok {
		t.Fatalf("connections checkpoint: %v %v", ok, err)
	}
	// A source of another kind cannot ask for connection reports.
	bad := "checkpoint_dir: x\nsources:\n  - source: ninjaone\n    msp: m\n    url: https://x\n    connections: true\n    client_id: {value: a}\n    client_secret: {env: TEST_POLL_SECRET}\n"
	if _, err := ParseFile([]byte(bad), "poll.yaml"); err == nil || !strings.Contains(err.Error(), "connections") {
		t.Errorf("connections on a ninjaone source: %v", err)
	}
}
