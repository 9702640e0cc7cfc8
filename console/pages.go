package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/silence"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "error", "queue", "alert", "incident", "incidents", "tenant", "rules", "report"}

type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"t": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"statusOf": func(s string) string {
		if s == "" {
			return store.StatusOpen
		}
		return s
	},
}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		p.byName[n] = t
	}
	return p, nil
}

// render executes a page into a buffer first, so that a template error
// is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := s.pages.byName[name]
	var buf bytes.Buffer
	if t == nil {
		s.cfg.Log.Error().Str("template", name).Msg("no such console template")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.cfg.Log.Error().Err(err).Str("template", name).Msg("console template failed")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// queueFilter is the queue's filter form.
type queueFilter struct {
	Status, Level, MSP, Tenant, Rule, Actor, Assignee, Since, Until string
}

func (f queueFilter) values() url.Values {
	return formQuery(map[string]string{"status": f.Status, "level": f.Level, "msp": f.MSP, "tenant": f.Tenant, "rule": f.Rule,
		"actor": f.Actor, "assignee": f.Assignee, "since": f.Since, "until": f.Until})
}

func (f queueFilter) query() string { return f.values().Encode() }

// page returns the query of the page after cursor (the first page when
// cursor is empty).
func (f queueFilter) page(cursor string) string {
	q := f.values()
	if cursor != "" {
		q.Set("after", cursor)
	}
	return q.Encode()
}

type queueData struct {
	F         queueFilter
	Alerts    []store.AlertState
	Incidents []record.Incident
	Statuses  []string
	Levels    []string
	Reasons   []string
	// Back is this page's query, where a bulk action returns.
	Back  string
	Limit int
	// Paged: this is not the first page; First is the first page's query
	// and Next the next page's, when this one is full.
	// (url.Values.Encode made them: template.URL keeps their & as is).
	Paged       bool
	First, Next template.URL
	// MoreIncidents: the incidents page after the first page's, when the
	// queue shows a full incidentLimit of them.
	MoreIncidents template.URL
}

// incidentLimit is the incidents the queue's first page heads with, and a
// page of the incidents page.
const incidentLimit = 50

// queueLimit is a page of the queue: enough to triage, cheap to render.
const queueLimit = 200

func (s *Server) queue(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	f := queueFilter{Status: q.Get("status"), Level: q.Get("level"), MSP: q.Get("msp"), Tenant: q.Get("tenant"), Rule: q.Get("rule"),
		Actor: q.Get("actor"), Assignee: q.Get("assignee"), Since: q.Get("since"), Until: q.Get("until")}
	if v.User.Tenant != "" {
		// The scope confines a viewer anyway; the form shows it.
		f.MSP, f.Tenant = v.User.MSP, v.User.Tenant
	}
	v.Title, v.Nav = "Queue", "queue"
	after := q.Get("after")
	d := &queueData{F: f, Statuses: triage.Statuses, Levels: silence.Levels, Reasons: triage.CloseReasons, Back: f.page(after),
		Limit: queueLimit, Paged: after != "", First: template.URL("/queue?" + f.query())}
	v.Data = d
	// The API reads the same parameters through the same functions.
	since, until, err := triage.ParseWindow(f.Since, f.Until, s.now())
	var cursor *store.Cursor
	if err == nil {
		cursor, err = triage.ParseCursor(after)
	}
	if err != nil {
		v.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "queue", v)
		return
	}
	scope := v.User.Scope()
	d.Alerts, err = s.cfg.Triage.List(r.Context(), scope, triage.ListFilter{Status: f.Status, MinLevel: f.Level, MSP: f.MSP, Tenant: f.Tenant,
		RuleID: f.Rule, Actor: f.Actor, Assignee: f.Assignee, Since: since, Until: until, After: cursor, Limit: queueLimit})
	if err == nil && cursor == nil {
		// Incidents head the first page only.
		d.Incidents, err = s.cfg.Triage.Incidents(r.Context(), scope, triage.IncidentFilter{MinLevel: f.Level, MSP: f.MSP, Since: since, Until: until, Limit: incidentLimit})
		if n := len(d.Incidents); n == incidentLimit {
			inc := incidentFilter{Level: f.Level, MSP: f.MSP, Since: f.Since, Until: f.Until}
			d.MoreIncidents = template.URL("/incidents?" + inc.page(store.IncidentCursorOf(&d.Incidents[n-1]).String()))
		}
	}
	if err != nil {
		s.listFailed(w, r, v, "queue", err)
		return
	}
	if n := len(d.Alerts); n == queueLimit {
		d.Next = template.URL("/queue?" + f.page(store.AlertCursorOf(&d.Alerts[n-1].Alert).String()))
	}
	s.render(w, r, http.StatusOK, "queue", v)
}

// bulk acknowledges or closes the alerts ticked on the queue.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, v *view) {
	back := "/queue"
	if b, err := url.ParseQuery(r.PostForm.Get("back")); err == nil && len(b) > 0 {
		back += "?" + b.Encode()
	}
	if inc := r.PostForm.Get("incident"); inc != "" {
		// The incident page's form returns there.
		back = "/incidents/" + url.PathEscape(inc)
	}
	if !v.User.CanWrite() {
		s.fail(w, r, v, fmt.Errorf("bulk: %w", store.ErrForbidden))
		return
	}
	ids := r.PostForm["id"]
	action := r.PostForm.Get("action")
	outs, err := s.cfg.Triage.Bulk(r.Context(), v.User.Scope(), ids, action, v.User.Name, r.PostForm.Get("reason"), r.PostForm.Get("note"))
	if err != nil {
		if status, msg := classify(err); status < 500 {
			s.setFlash(r, flash{Msg: msg, Err: true})
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	done, failed := 0, []string{}
	for _, o := range outs {
		if o.Result.Action.ActionID != "" {
			done++
			continue
		}
		_, msg := classify(o.Err)
		if errors.Is(o.Err, triage.ErrConflict) || errors.Is(o.Err, triage.ErrInvalid) {
			msg = o.Err.Error()
		} else if !errors.Is(o.Err, store.ErrNotFound) {
			s.cfg.Log.Error().Err(o.Err).Str("alert_id", o.AlertID).Msg("bulk action failed")
		}
		failed = append(failed, o.AlertID+": "+msg)
	}
	verb := map[string]string{store.ActionAck: "Acknowledged", store.ActionClose: "Closed"}[action]
	f := flash{Msg: fmt.Sprintf("%s %d alert(s).", verb, done)}
	if len(failed) > 0 {
		f.Err = true
		f.Msg += fmt.Sprintf(" %d not changed: %s", len(failed), strings.Join(failed, "; "))
	}
	s.setFlash(r, f)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

type kv struct{ K, V string }

type timelineItem struct {
	Time    time.Time
	Kind    string
	ID      string
	Title   string
	Details []kv
}

type alertData struct {
	A        store.AlertState
	Rule     *RuleInfo
	Timeline []timelineItem
	Actions  []record.AlertAction
	Related  []store.AlertState
	// Context is the registry context found in the events' attributes.
	Context  []kv
	Matchers string
	Reasons  []string
	// Why says which searches of the rule hit each event.
	Why    *Why
	Capped bool
	Events int
}

// contextKey reports whether an event attribute is registry context
// (contract, approved tools, windows, shift) put there by enrichment.
func contextKey(k string) bool {
	return strings.HasPrefix(k, "context.") || strings.HasPrefix(k, "registry.")
}

func (s *Server) alert(w http.ResponseWriter, r *http.Request, v *view) {
	ctx, scope := r.Context(), v.User.Scope()
	det, err := s.cfg.Triage.Show(ctx, scope, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	a := det.Alert
	d := &alertData{A: a, Actions: det.Actions, Rule: s.cfg.Rules.Rule(a.RuleID), Reasons: triage.CloseReasons,
		Capped: len(det.Detections) >= store.MaxAlertDetections}
	v.Title, v.Nav, v.Data = a.RuleTitle+" · "+a.AlertID, "queue", d

	ids := slices.Clone(a.EventIDs)
	for _, dt := range det.Detections {
		if scope.Tenant() != "" && dt.Tenant != scope.Tenant() {
			// An alert grouped across tenants (a mass push) keeps the
			// other tenants' detections from a tenant viewer.
			continue
		}
		ids = append(ids, dt.EventIDs...)
		d.Timeline = append(d.Timeline, timelineItem{Time: dt.FirstTime, Kind: "detection", ID: dt.DetectionID, Title: dt.Summary,
			Details: nonEmpty(kv{"rule", dt.RuleID}, kv{"tenant", dt.Tenant}, kv{"actor", dt.ActorUser}, kv{"suppressed by", dt.SuppressedBy})})
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	evs, err := s.cfg.Store.Events(ctx, scope, a.MSP, ids)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Events = len(evs)
	seenCtx := map[string]bool{}
	for _, e := range evs {
		details := nonEmpty(kv{"tool", e.Tool}, kv{"actor", e.ActorUser}, kv{"from", strings.TrimSpace(e.ActorIP + " " + e.ActorCountry)},
			kv{"host", e.TargetHost}, kv{"package", e.PackageName}, kv{"script", e.ScriptName}, kv{"outcome", e.Outcome},
			kv{"reason", e.Reason}, kv{"ticket", e.ChangeTicket}, kv{"tenant", e.Tenant})
		for i, k := range e.AttrKeys {
			if i >= len(e.AttrValues) {
				break
			}
			if contextKey(k) {
				if key := k + "=" + e.AttrValues[i]; !seenCtx[key] {
					seenCtx[key] = true
					d.Context = append(d.Context, kv{k, e.AttrValues[i]})
				}
				continue
			}
			details = append(details, kv{k, e.AttrValues[i]})
		}
		for _, c := range registryContext(e.Doc) {
			if key := c.K + "=" + c.V; !seenCtx[key] {
				seenCtx[key] = true
				d.Context = append(d.Context, c)
			}
			details = append(details, c)
		}
		d.Timeline = append(d.Timeline, timelineItem{Time: e.Time, Kind: "event", ID: e.EventID, Title: e.EventType, Details: details})
	}
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].Time.Before(d.Timeline[j].Time) })
	d.Why = s.cfg.Rules.Explain(a.RuleID, evs)

	if a.IncidentID != "" {
		inc, err := s.cfg.Triage.Incident(ctx, scope, a.IncidentID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, v, err)
			return
		}
		for _, o := range inc.Alerts {
			if o.AlertID != a.AlertID {
				d.Related = append(d.Related, o)
			}
		}
	}
	d.Matchers = strings.Join(silenceMatchers(&a.Alert), "\n")
	s.render(w, r, http.StatusOK, "alert", v)
}

// registryContext flattens the "context" object of an event document
// into context.key = value pairs, sorted; nothing when absent or
// unreadable (the timeline does without).
func registryContext(doc string) []kv {
	if !strings.Contains(doc, `"context"`) {
		return nil
	}
	var ev struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal([]byte(doc), &ev); err != nil {
		return nil
	}
	var out []kv
	for k, v := range ev.Context {
		val := fmt.Sprint(v)
		switch x := v.(type) {
		case []any:
			parts := make([]string, 0, len(x))
			for _, p := range x {
				parts = append(parts, fmt.Sprint(p))
			}
			val = strings.Join(parts, ", ")
		case map[string]any:
			b, _ := json.Marshal(x)
			val = string(b)
		}
		out = append(out, kv{"context." + k, val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

func nonEmpty(kvs ...kv) []kv {
	out := kvs[:0]
	for _, x := range kvs {
		if x.V != "" {
			out = append(out, x)
		}
	}
	return out
}

// silenceMatchers prefill the silence form: the alert's rule, tenant and
// group values (msp is the silence's binding, not a matcher).
func silenceMatchers(a *record.Alert) []string {
	ms := []string{
		silence.Matcher{Key: silence.FieldRuleID, Op: silence.Equal, Value: a.RuleID}.String(),
		silence.Matcher{Key: silence.FieldTenant, Op: silence.Equal, Value: a.Tenant}.String(),
	}
	for i, k := range a.GroupKeys {
		if k == "msp" || k == "tenant" || i >= len(a.GroupValues) {
			continue
		}
		ms = append(ms, silence.Matcher{Key: k, Op: silence.Equal, Value: a.GroupValues[i]}.String())
	}
	return ms
}

// alertAction runs one triage action from the alert page's forms.
func (s *Server) alertAction(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	back := "/alerts/" + url.PathEscape(id)
	if !v.User.CanWrite() {
		s.fail(w, r, v, fmt.Errorf("alert %s: %w", id, store.ErrForbidden))
		return
	}
	ctx, scope, actor, form := r.Context(), v.User.Scope(), v.User.Name, r.PostForm
	var (
		res triage.Result
		err error
		msg string
	)
	switch r.PathValue("action") {
	case "ack":
		res, err = s.cfg.Triage.Ack(ctx, scope, id, actor, form.Get("note"))
		msg = "Acknowledged."
	case "assign":
		res, err = s.cfg.Triage.Assign(ctx, scope, id, actor, strings.TrimSpace(form.Get("assignee")), form.Get("note"))
		msg = "Assigned."
	case "close":
		res, err = s.cfg.Triage.Close(ctx, scope, id, actor, form.Get("reason"), form.Get("note"))
		msg = "Closed."
	case "note":
		res, err = s.cfg.Triage.Note(ctx, scope, id, actor, form.Get("note"))
		msg = "Note added."
	case "reopen":
		res, err = s.cfg.Triage.Reopen(ctx, scope, id, actor, form.Get("note"))
		msg = "Reopened."
	case "silence":
		s.silence(w, r, v, id, back)
		return
	default:
		s.fail(w, r, v, fmt.Errorf("alert %s: no such action: %w", id, store.ErrNotFound))
		return
	}
	f := flash{Msg: msg, Pre: res.DraftFilter}
	if res.DraftFilter != "" {
		f.Msg += " A draft Sigma filter for this false positive (review before adding it to the rules):"
	}
	switch {
	case err != nil && res.Action.ActionID != "":
		// Stored, but not published or not drafted.
		s.cfg.Log.Warn().Err(err).Str("alert_id", id).Msg("triage action stored with a warning")
		f.Msg += " Warning: " + err.Error()
	case err != nil:
		status, m := classify(err)
		if status >= 500 || status == http.StatusNotFound {
			s.fail(w, r, v, err)
			return
		}
		f = flash{Msg: m, Err: true}
	}
	s.setFlash(r, f)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) silence(w http.ResponseWriter, r *http.Request, v *view, id, back string) {
	// Read the alert first: the silence is bound to its MSP, and a caller
	// who cannot see the alert cannot silence from its page.
	a, err := s.cfg.Triage.Show(r.Context(), v.User.Scope(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	var matchers []string
	for _, l := range strings.Split(r.PostForm.Get("matchers"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			matchers = append(matchers, l)
		}
	}
	dur, err := triage.ParseDuration(strings.TrimSpace(r.PostForm.Get("duration")))
	if err == nil {
		var sil record.Silence
		sil, err = s.cfg.Triage.CreateSilence(r.Context(), v.User.Scope(), triage.NewSilence{Matchers: matchers, For: dur,
			Author: v.User.Name, Reason: r.PostForm.Get("reason"), MSP: a.Alert.MSP})
		if err == nil {
			s.setFlash(r, flash{Msg: fmt.Sprintf("Silence %s created until %s.", sil.SilenceID, sil.Ends.UTC().Format(time.RFC3339))})
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
	}
	if status, msg := classify(err); status < 500 && status != http.StatusNotFound {
		s.setFlash(r, flash{Msg: "Silence not created: " + msg, Err: true})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	s.fail(w, r, v, err)
}

// listFailed answers a list page whose query failed: a bad filter is the
// page again with the reason (400), anything else an error page.
func (s *Server) listFailed(w http.ResponseWriter, r *http.Request, v *view, page string, err error) {
	if status, msg := classify(err); status == http.StatusBadRequest {
		v.Error = msg
		s.render(w, r, status, page, v)
		return
	}
	s.fail(w, r, v, err)
}

// formQuery is a filter form's query: its non-empty fields.
func formQuery(fields map[string]string) url.Values {
	q := url.Values{}
	for k, v := range fields {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// incidentFilter is the incidents page's filter form.
type incidentFilter struct {
	Level, MSP, Since, Until string
}

// page returns the query of the incidents page after cursor (the first
// page when cursor is empty).
func (f incidentFilter) page(cursor string) string {
	return formQuery(map[string]string{"level": f.Level, "msp": f.MSP, "since": f.Since, "until": f.Until, "after": cursor}).Encode()
}

type incidentsData struct {
	F         incidentFilter
	Levels    []string
	Incidents []record.Incident
	// Paged, First and Next as on the queue.
	Paged       bool
	First, Next template.URL
}

// incidents lists incidents newest first, a page at a time (the queue's
// first page shows only the newest incidentLimit).
func (s *Server) incidents(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	f := incidentFilter{Level: q.Get("level"), MSP: q.Get("msp"), Since: q.Get("since"), Until: q.Get("until")}
	if v.User.Tenant != "" {
		f.MSP = v.User.MSP
	}
	after := q.Get("after")
	d := &incidentsData{F: f, Levels: silence.Levels, Paged: after != "", First: template.URL("/incidents?" + f.page(""))}
	v.Title, v.Nav, v.Data = "Incidents", "queue", d
	since, until, err := triage.ParseWindow(f.Since, f.Until, s.now())
	var cursor *store.Cursor
	if err == nil {
		cursor, err = triage.ParseCursor(after)
	}
	if err == nil {
		d.Incidents, err = s.cfg.Triage.Incidents(r.Context(), v.User.Scope(), triage.IncidentFilter{MinLevel: f.Level, MSP: f.MSP,
			Since: since, Until: until, After: cursor, Limit: incidentLimit})
	}
	if err != nil {
		s.listFailed(w, r, v, "incidents", err)
		return
	}
	if n := len(d.Incidents); n == incidentLimit {
		d.Next = template.URL("/incidents?" + f.page(store.IncidentCursorOf(&d.Incidents[n-1]).String()))
	}
	s.render(w, r, http.StatusOK, "incidents", v)
}

// incidentData is the incident page: the incident, its alerts, and the
// close reasons of its bulk form (an incident is triaged as a whole).
type incidentData struct {
	triage.IncidentDetail
	Reasons []string
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request, v *view) {
	d, err := s.cfg.Triage.Incident(r.Context(), v.User.Scope(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Title, v.Nav, v.Data = "Incident "+d.Incident.IncidentID, "queue", incidentData{IncidentDetail: d, Reasons: triage.CloseReasons}
	s.render(w, r, http.StatusOK, "incident", v)
}

type tenantData struct {
	MSP, Tenant string
	Alerts      []store.AlertState
	Open        int
	Months      []string
	Full        bool
}

func (s *Server) tenant(w http.ResponseWriter, r *http.Request, v *view) {
	msp, tenant := r.URL.Query().Get("msp"), r.URL.Query().Get("tenant")
	if v.User.Tenant != "" {
		if (msp != "" && msp != v.User.MSP) || (tenant != "" && tenant != v.User.Tenant) {
			// Not "forbidden": another tenant's existence is not told.
			s.fail(w, r, v, fmt.Errorf("tenant %s: %w", tenant, store.ErrNotFound))
			return
		}
		msp, tenant = v.User.MSP, v.User.Tenant
	}
	if tenant == "" {
		s.fail(w, r, v, fmt.Errorf("%w: name a tenant (and its msp)", triage.ErrInvalid))
		return
	}
	as, err := s.cfg.Triage.List(r.Context(), v.User.Scope(), triage.ListFilter{MSP: msp, Tenant: tenant, Limit: queueLimit})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := &tenantData{MSP: msp, Tenant: tenant, Alerts: as, Full: len(as) == queueLimit}
	for _, a := range as {
		if a.Status != store.StatusClosed {
			d.Open++
		}
	}
	// This month and the five before: the report is monthly.
	m := time.Date(s.now().UTC().Year(), s.now().UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 6; i++ {
		d.Months = append(d.Months, m.AddDate(0, -i, 0).Format("2006-01"))
	}
	v.Title, v.Nav, v.Data = "Tenant "+tenant, "tenant", d
	s.render(w, r, http.StatusOK, "tenant", v)
}

// report is the slot of the MSP access report: the console checks the
// session and a viewer's tenant, then hands over to Config.Report.
func (s *Server) report(w http.ResponseWriter, r *http.Request, v *view) {
	tenant := r.URL.Query().Get("tenant")
	if v.User.Tenant != "" && tenant != v.User.Tenant {
		s.fail(w, r, v, fmt.Errorf("report of tenant %s: %w", tenant, store.ErrNotFound))
		return
	}
	if s.cfg.Report == nil {
		v.Title, v.Nav = "Report", "tenant"
		v.Data = map[string]string{"Tenant": tenant, "Month": r.URL.Query().Get("month")}
		s.render(w, r, http.StatusNotImplemented, "report", v)
		return
	}
	s.cfg.Report.ServeHTTP(w, r)
}
