// Package api is tripline's HTTP JSON API under /api/: alerts and their
// triage, incidents and silences (docs/alerts.md, "API"; the contract is
// openapi.yaml, served at /api/openapi.yaml). It uses net/http only.
// Callers present bearer tokens from a tokens file (ParseTokens); a token
// bound to an MSP sees and changes only that MSP's rows. tripline console
// serves it; the console's pages are built on it.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the API's OpenAPI 3 document.
func OpenAPI() []byte { return openAPI }

// Limits of one request.
const (
	// MaxBodyBytes bounds a request body: the largest legitimate one is a
	// silence with MaxMatchers matchers and a reason.
	MaxBodyBytes = 64 << 10
	// RequestTimeout bounds the store work of one request.
	RequestTimeout = 30 * time.Second
)

// Server is the API's handler.
type Server struct {
	svc *triage.Service
	// tokens is shared by the copies WithSession makes, so that
	// SetTokens reaches every one.
	tokens *atomic.Pointer[Tokens]
	log    zerolog.Logger
	now    func() time.Time
	// session admits a request without a bearer token (the console's
	// login session); nil admits none.
	session func(*http.Request) *Token
}

// WithSession returns a copy of s that also admits requests for which
// session returns a token: the console passes its cookie sessions, so
// pages' scripts and analysts' browsers use the API as the user. session
// must itself refuse state-changing requests that lack its CSRF proof.
func (s *Server) WithSession(session func(*http.Request) *Token) *Server {
	c := *s
	c.session = session
	return &c
}

// New returns the API on svc, admitting tokens.
func New(svc *triage.Service, tokens *Tokens, log zerolog.Logger) *Server {
	s := &Server{svc: svc, tokens: &atomic.Pointer[Tokens]{}, log: log, now: time.Now}
	s.SetTokens(tokens)
	return s
}

// SetTokens replaces the admitted tokens (a re-read tokens file): the
// next request sees the new set, and a removed token no longer works.
// nil admits no token.
func (s *Server) SetTokens(tokens *Tokens) {
	if tokens == nil {
		tokens = &Tokens{}
	}
	s.tokens.Store(tokens)
}

// Handler routes /api/. The console mounts it next to its pages.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// Methods are checked in the handlers rather than in the patterns so
	// that a wrong method gets a JSON error like every other failure.
	mux.HandleFunc("/api/openapi.yaml", s.serveOpenAPI)
	mux.Handle("/api/alerts", s.auth(s.listAlerts, false))
	mux.Handle("/api/alerts/{id}", s.auth(s.getAlert, false))
	mux.Handle("/api/alerts/{id}/{action}", s.auth(s.alertAction, true))
	mux.Handle("/api/incidents", s.auth(s.listIncidents, false))
	mux.Handle("/api/incidents/{id}", s.auth(s.getIncident, false))
	mux.Handle("/api/silences", s.auth(s.silences, false))
	mux.Handle("/api/silences/{id}", s.auth(s.getSilence, false))
	mux.Handle("/api/silences/{id}/expire", s.auth(s.expireSilence, true))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint (see /api/openapi.yaml)")
	})
	return s.logged(mux)
}

// NewHTTPServer wraps h with the timeouts a server facing analysts'
// browsers and scripts needs: slow or stuck clients cannot hold
// connections open.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      RequestTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
}

type ctxKey struct{}

func tokenOf(r *http.Request) *Token { return r.Context().Value(ctxKey{}).(*Token) }

// auth admits requests with a known bearer token; write marks a handler
// whose every method changes state (analysts only). Handlers that mix
// reads and writes check CanWrite themselves.
func (s *Server) auth(h http.HandlerFunc, write bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 9110).
		scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		var tok *Token
		if strings.EqualFold(scheme, "Bearer") {
			tok = s.tokens.Load().Lookup(strings.TrimSpace(secret))
		} else if s.session != nil && r.Header.Get("Authorization") == "" {
			tok = s.session(r)
		}
		if tok == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tripline"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
			return
		}
		if write && !tok.CanWrite() {
			writeError(w, http.StatusForbidden, "forbidden", "token "+tok.Name+" is read-only ("+tok.Role+")")
			return
		}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), ctxKey{}, tok), RequestTimeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	})
}

// statusWriter records the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// logged writes one access-log line per request. It never logs headers or
// bodies: they carry the token and analysts' notes.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("Cache-Control", "no-store")
		sw.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.log.Info().Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Dur("took", time.Since(start)).Msg("api request")
	})
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPI)
}

func method(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	for _, m := range allowed {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
	return false
}

// query reads the query parameters, rejecting unknown and repeated ones:
// a misspelt filter must not silently list everything.
func query(r *http.Request, known ...string) (url.Values, error) {
	q := r.URL.Query()
	for k, vs := range q {
		found := false
		for _, n := range known {
			found = found || k == n
		}
		if !found {
			return nil, fmt.Errorf("%w: unknown query parameter %q (known: %s)", triage.ErrInvalid, k, strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("%w: query parameter %q given %d times", triage.ErrInvalid, k, len(vs))
		}
	}
	return q, nil
}

func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxAlertLimit {
		return 0, fmt.Errorf("%w: limit %q: want 1 to %d", triage.ErrInvalid, v, store.MaxAlertLimit)
	}
	return n, nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	q, err := query(r, "status", "level", "msp", "tenant", "rule", "actor", "assignee", "incident", "since", "until", "after", "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := triage.ListFilter{Status: q.Get("status"), MinLevel: q.Get("level"), MSP: q.Get("msp"), Tenant: q.Get("tenant"),
		RuleID: q.Get("rule"), Actor: q.Get("actor"), Assignee: q.Get("assignee"), IncidentID: q.Get("incident")}
	if f.Since, f.Until, err = triage.ParseWindow(q.Get("since"), q.Get("until"), s.now()); err == nil {
		if f.After, err = triage.ParseCursor(q.Get("after")); err == nil {
			f.Limit, err = limitParam(q)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.svc.List(r.Context(), tokenOf(r).Scope(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Alerts []Alert `json:"alerts"`
		// Next is the after of the next page, when this one is full.
		Next string `json:"next,omitempty"`
	}{Alerts: make([]Alert, 0, len(as))}
	for i := range as {
		out.Alerts = append(out.Alerts, AlertOf(&as[i]))
	}
	if n := len(as); n > 0 && n == store.LimitOf(f.Limit) {
		out.Next = store.AlertCursorOf(&as[n-1].Alert).String()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	if _, err := query(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.svc.Show(r.Context(), tokenOf(r).Scope(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DetailOf(&d))
}

func (s *Server) alertAction(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodPost) {
		return
	}
	var req ActionRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	tok, id, ctx := tokenOf(r), r.PathValue("id"), r.Context()
	scope, actor := tok.Scope(), tok.Name
	var (
		res triage.Result
		err error
	)
	switch r.PathValue("action") {
	case "ack":
		res, err = s.svc.Ack(ctx, scope, id, actor, req.Note)
	case "assign":
		res, err = s.svc.Assign(ctx, scope, id, actor, req.Assignee, req.Note)
	case "close":
		res, err = s.svc.Close(ctx, scope, id, actor, req.Reason, req.Note)
	case "note":
		res, err = s.svc.Note(ctx, scope, id, actor, req.Note)
	case "reopen":
		res, err = s.svc.Reopen(ctx, scope, id, actor, req.Note)
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such action (ack, assign, close, note, reopen)")
		return
	}
	if err != nil && res.Action.ActionID == "" {
		s.fail(w, r, err)
		return
	}
	out := ActionResult{Action: ActionOf(&res.Action), Alert: AlertOf(&res.Alert), DraftFilter: res.DraftFilter}
	if err != nil {
		// Stored, but not published or not drafted: still done, and
		// the caller is told what is missing.
		s.log.Warn().Err(err).Str("alert_id", id).Msg("triage action stored with a warning")
		out.Warning = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	q, err := query(r, "level", "msp", "since", "until", "after", "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := triage.IncidentFilter{MinLevel: q.Get("level"), MSP: q.Get("msp")}
	if f.Since, f.Until, err = triage.ParseWindow(q.Get("since"), q.Get("until"), s.now()); err == nil {
		if f.After, err = triage.ParseCursor(q.Get("after")); err == nil {
			f.Limit, err = limitParam(q)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	is, err := s.svc.Incidents(r.Context(), tokenOf(r).Scope(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Incidents []Incident `json:"incidents"`
		// Next: the after of the next page, when this one is full.
		Next string `json:"next,omitempty"`
	}{Incidents: make([]Incident, 0, len(is))}
	for i := range is {
		out.Incidents = append(out.Incidents, IncidentOf(&is[i]))
	}
	if n := len(is); n > 0 && n == store.LimitOf(f.Limit) {
		out.Next = store.IncidentCursorOf(&is[n-1]).String()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	if _, err := query(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.svc.Incident(r.Context(), tokenOf(r).Scope(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := IncidentDetail{Incident: IncidentOf(&d.Incident), Alerts: make([]Alert, 0, len(d.Alerts))}
	for i := range d.Alerts {
		out.Alerts = append(out.Alerts, AlertOf(&d.Alerts[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) silences(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	tok := tokenOf(r)
	if r.Method == http.MethodPost {
		if !tok.CanWrite() {
			writeError(w, http.StatusForbidden, "forbidden", "token "+tok.Name+" is read-only ("+tok.Role+")")
			return
		}
		s.createSilence(w, r, tok)
		return
	}
	q, err := query(r, "all", "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := boolParam(q, "all")
	var limit int
	if err == nil {
		limit, err = limitParam(q)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ss, err := s.svc.Silences(r.Context(), tok.Scope(), all, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Silences []Silence `json:"silences"`
	}{Silences: make([]Silence, 0, len(ss))}
	for i := range ss {
		out.Silences = append(out.Silences, s.silenceOf(&ss[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func boolParam(q url.Values, name string) (bool, error) {
	switch q.Get(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%w: %s: want true or false", triage.ErrInvalid, name)
}

func (s *Server) createSilence(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req SilenceRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ns := triage.NewSilence{Matchers: req.Matchers, Author: tok.Name, Reason: req.Reason, MSP: req.MSP}
	if req.Starts != nil {
		ns.Starts = *req.Starts
	}
	if req.Ends != nil {
		ns.Ends = *req.Ends
	}
	if req.Duration != "" {
		if req.Ends != nil {
			s.fail(w, r, fmt.Errorf("%w: give ends or duration, not both", triage.ErrInvalid))
			return
		}
		d, err := triage.ParseDuration(req.Duration)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ns.For = d
	}
	sil, err := s.svc.CreateSilence(r.Context(), tok.Scope(), ns)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/silences/"+url.PathEscape(sil.SilenceID))
	writeJSON(w, http.StatusCreated, s.silenceOf(&sil))
}

func (s *Server) getSilence(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	if _, err := query(r); err != nil {
		s.fail(w, r, err)
		return
	}
	sil, err := s.svc.Silence(r.Context(), tokenOf(r).Scope(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.silenceOf(&sil))
}

func (s *Server) expireSilence(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodPost) {
		return
	}
	if err := decodeBody(w, r, &struct{}{}); err != nil {
		s.fail(w, r, err)
		return
	}
	tok := tokenOf(r)
	sil, err := s.svc.ExpireSilence(r.Context(), tok.Scope(), r.PathValue("id"), tok.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.silenceOf(&sil))
}

func (s *Server) silenceOf(r *record.Silence) Silence { return SilenceOf(r, s.now()) }

// errBody marks a request body the API cannot read.
var errBody = errors.New("bad body")

// decodeBody reads one JSON object of at most MaxBodyBytes into v,
// rejecting unknown fields. An empty body is an empty object.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return fmt.Errorf("%w: content type %q: want application/json", errUnsupported, ct)
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return fmt.Errorf("%w: the body is larger than %d bytes", errTooLarge, MaxBodyBytes)
		case errors.Is(err, io.EOF):
			return nil
		}
		return fmt.Errorf("%w: %v", errBody, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: one JSON object expected", errBody)
	}
	return nil
}

var (
	errTooLarge    = errors.New("body too large")
	errUnsupported = errors.New("unsupported media type")
)

// fail maps an error to a status. Client errors carry their message;
// anything else is logged and answered with a generic message, since
// store errors describe the server's internals.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, triage.ErrInvalid), errors.Is(err, errBody):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, errTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, errUnsupported):
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, triage.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn().Err(err).Str("path", r.URL.Path).Msg("api request timed out")
		writeError(w, http.StatusGatewayTimeout, "timeout", "the store did not answer in time")
	default:
		s.log.Error().Err(err).Str("path", r.URL.Path).Msg("api request failed")
		writeError(w, http.StatusInternalServerError, "internal", "internal error (logged)")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, Error{Error: ErrorBody{Code: code, Message: msg}})
}
