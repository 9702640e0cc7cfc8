// Package console is tripline's analyst console: server-rendered pages
// (html/template, assets embedded, nothing from the internet, no inline
// script) over triage and the store, next to the JSON API under /api/,
// for local users with hashed passwords and cookie sessions
// (docs/console.md).
package console

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/triage"
)

//go:embed static templates
var assets embed.FS

// Limits of one request and of the session store.
const (
	// MaxBodyBytes bounds a form: the largest is a note or a silence.
	MaxBodyBytes = 64 << 10
	// RequestTimeout bounds the store work of one page.
	RequestTimeout = 30 * time.Second
	// SessionIdle and SessionMax end a session after an idle hour and
	// after a working day in any case.
	SessionIdle = time.Hour
	SessionMax  = 12 * time.Hour
	// MaxSessions bounds the session store.
	MaxSessions = 10000
	// LoginWindow and LoginFailures: at most this many failed logins per
	// user name and per client address in the window.
	LoginWindow   = 15 * time.Minute
	LoginFailures = 10
)

// Store is what the console reads beyond triage (*store.Store).
type Store interface {
	Events(ctx context.Context, scope store.Scope, msp string, ids []string) ([]store.EventRow, error)
	RuleActivity(ctx context.Context, scope store.Scope, since time.Time) ([]store.RuleDay, []store.RuleTotal, error)
}

// Config wires a console.
type Config struct {
	Triage *triage.Service
	Store  Store
	// Users may log in; nil is nobody (the API's tokens still work).
	// With UsersFile, the users read from it at start (LoadUsers).
	Users *Users
	// UsersFile and TokensFile, when set, are re-read while the console
	// serves (Serve: on SIGHUP and when a poll finds them changed). An
	// invalid new file is logged with its file:line and the accounts
	// read before stay in force.
	UsersFile, TokensFile string
	// API is the JSON API, mounted under /api/ with the console's
	// sessions admitted next to its tokens.
	API   *api.Server
	Rules *RulePack
	// Report serves /report?tenant=T&month=YYYY-MM (the MSP access
	// report); nil shows that it is not available. The console checks
	// the session and a tenant viewer's tenant before calling it; the
	// handler finds the user with UserFrom.
	Report http.Handler
	// SecureCookies marks cookies Secure (set when serving TLS or behind
	// a TLS-terminating proxy).
	SecureCookies bool
	Log           zerolog.Logger
}

// Server is the console's handler.
type Server struct {
	cfg Config
	// users is the current users file, swapped whole by a reload.
	users    atomic.Pointer[Users]
	acct     *accounts
	sessions *sessions
	limiter  *limiter
	pages    *pages
	now      func() time.Time
}

// New returns a console.
func New(cfg Config) (*Server, error) {
	if cfg.Triage == nil || cfg.Store == nil || cfg.API == nil || cfg.Rules == nil {
		return nil, errors.New("console: Triage, Store, API and Rules are required")
	}
	if cfg.Users == nil {
		// The login page still answers; nobody can log in.
		cfg.Users = &Users{byName: map[string]*User{}}
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	now := time.Now
	s := &Server{
		cfg:      cfg,
		sessions: newSessions(SessionIdle, SessionMax, MaxSessions, now),
		limiter:  newLimiter(LoginWindow, LoginFailures, now),
		pages:    p,
		now:      now,
	}
	s.users.Store(cfg.Users)
	if s.acct, err = s.newAccounts(); err != nil {
		return nil, err
	}
	return s, nil
}

type userKey struct{}

// UserFrom returns the logged-in user of a request the console admitted
// (nil outside the console's handlers).
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// Handler routes the pages, /static/ and /api/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			// No directory listings.
			http.NotFound(w, r)
			return
		}
		// Assets change only with the binary.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	mux.Handle("/api/", s.cfg.API.WithSession(s.apiSession).Handler())
	mux.HandleFunc("GET /{$}", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("POST /logout", s.page(s.logout))
	mux.Handle("GET /queue", s.page(s.queue))
	mux.Handle("POST /queue/bulk", s.page(s.bulk))
	mux.Handle("GET /alerts/{id}", s.page(s.alert))
	mux.Handle("POST /alerts/{id}/{action}", s.page(s.alertAction))
	mux.Handle("GET /incidents", s.page(s.incidents))
	mux.Handle("GET /incidents/{id}", s.page(s.incident))
	mux.Handle("GET /tenant", s.page(s.tenant))
	mux.Handle("GET /rules", s.page(s.ruleHealth))
	mux.Handle("POST /rules/reload", s.page(s.reloadRules))
	mux.Handle("/report", s.page(s.report))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusNotFound, "error", &view{Title: "Not found", Error: "There is no such page."})
	})
	return s.secured(mux)
}

// secured sets the security headers of every response, bounds bodies
// and the time of the work behind a request, and logs one line per
// request (never headers, query strings or bodies: they carry cookies,
// passwords and notes).
func (s *Server) secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		hd.Set("Cache-Control", "no-store")
		if s.cfg.SecureCookies {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
		defer cancel()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(ctx))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") { // the API logs its own
			s.cfg.Log.Info().Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
				Dur("took", time.Since(start)).Msg("console request")
		}
	})
}

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

func (s *Server) cookieName() string {
	if s.cfg.SecureCookies {
		// __Host-: only set over HTTPS, for this host, on path /.
		return "__Host-tripline_session"
	}
	return "tripline_session"
}

func (s *Server) loginCookieName() string {
	if s.cfg.SecureCookies {
		return "__Host-tripline_login"
	}
	return "tripline_login"
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// current returns the request's live session and its user.
func (s *Server) current(r *http.Request) (session, *User, bool) {
	c, err := r.Cookie(s.cookieName())
	if err != nil {
		return session{}, nil, false
	}
	sess, ok := s.sessions.get(c.Value)
	if !ok {
		return session{}, nil, false
	}
	u := s.users.Load().Lookup(sess.user)
	if u == nil || u.Disabled || !u.sameCredential(sess.cred) {
		// Removed or disabled in the users file since, or its password
		// changed: the session ends.
		s.sessions.delete(sess.id)
		return session{}, nil, false
	}
	return sess, u, true
}

// apiSession admits an API request with a live session cookie; a request
// that changes state must also carry the session's CSRF token in
// X-CSRF-Token (the cookie is SameSite=Strict too).
func (s *Server) apiSession(r *http.Request) *api.Token {
	sess, u, ok := s.current(r)
	if !ok {
		return nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !equal(r.Header.Get("X-CSRF-Token"), sess.csrf) {
		return nil
	}
	return u.Token()
}

// view is what every page template gets.
type view struct {
	Title string
	User  *User
	CSRF  string
	Flash *flash
	Error string
	// Nav marks the current section in the menu.
	Nav  string
	Data any
}

type flash struct {
	Msg string
	// Pre is preformatted text (a draft Sigma filter).
	Pre string
	Err bool
}

type pageFunc func(w http.ResponseWriter, r *http.Request, v *view)

// page admits requests with a live session: others are sent to the
// login page (reads) or refused (writes). Every POST must carry the
// session's CSRF token in the csrf form field.
func (s *Server) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, u, ok := s.current(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(w, r, http.StatusUnauthorized, "error", &view{Title: "Logged out", Error: "Your session has ended; log in again."})
			return
		}
		v := &view{User: u, CSRF: sess.csrf}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				s.render(w, r, http.StatusBadRequest, "error", &view{Title: "Bad request", User: u, CSRF: sess.csrf, Error: "The form could not be read."})
				return
			}
			if !equal(r.PostForm.Get("csrf"), sess.csrf) {
				s.render(w, r, http.StatusForbidden, "error", &view{Title: "Forbidden", User: u, CSRF: sess.csrf,
					Error: "The form's security token is missing or stale; reload the page and try again."})
				return
			}
		} else if f := s.sessions.popFlash(sess.id); f != "" {
			v.Flash = decodeFlash(f)
		}
		ctx := context.WithValue(r.Context(), userKey{}, u)
		ctx = context.WithValue(ctx, sessionKey{}, sess.id)
		h(w, r.WithContext(ctx), v)
	})
}

type sessionKey struct{}

// setFlash keeps a message for the next page the session shows.
func (s *Server) setFlash(r *http.Request, f flash) {
	if id, _ := r.Context().Value(sessionKey{}).(string); id != "" {
		s.sessions.setFlash(id, encodeFlash(f))
	}
}

// Flashes travel through the session store as one string.
func encodeFlash(f flash) string {
	kind := "ok"
	if f.Err {
		kind = "err"
	}
	return kind + "\x00" + f.Msg + "\x00" + f.Pre
}

func decodeFlash(s string) *flash {
	parts := strings.SplitN(s, "\x00", 3)
	if len(parts) != 3 {
		return &flash{Msg: s}
	}
	return &flash{Err: parts[0] == "err", Msg: parts[1], Pre: parts[2]}
}

// clientAddr is the peer address, the key of per-address login limits.
// X-Forwarded-For is not trusted: anyone can send it.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// safeNext returns next if it is a path on this site (no open redirect).
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/api/") || strings.ContainsAny(next, "\r\n") {
		return "/queue"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.current(r); ok {
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "", r.URL.Query().Get("next"))
}

// showLogin renders the login form with a fresh login CSRF token: a
// double-submit cookie, since there is no session yet to hold one.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	// A browser keeps its token across failed attempts (two tabs, a
	// mistyped password); a missing or malformed one is replaced.
	var tok string
	if c, err := r.Cookie(s.loginCookieName()); err == nil && len(c.Value) == 43 {
		tok = c.Value
	} else if tok, err = randomToken(); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.setCookie(w, s.loginCookieName(), tok, 600)
	s.render(w, r, status, "login", &view{Title: "Log in", CSRF: tok, Error: msg, Data: map[string]string{"Next": safeNext(next)}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.showLogin(w, r, http.StatusBadRequest, "The form could not be read.", "")
		return
	}
	next := r.PostForm.Get("next")
	c, err := r.Cookie(s.loginCookieName())
	if err != nil || !equal(c.Value, r.PostForm.Get("csrf")) {
		s.showLogin(w, r, http.StatusForbidden, "The login form expired; try again.", next)
		return
	}
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	addrKey, nameKey := "addr:"+clientAddr(r), "name:"+name
	if blocked, wait := s.limiter.blocked(addrKey, nameKey); blocked {
		w.Header().Set("Retry-After", strings.TrimSuffix(wait.Round(time.Second).String(), "s"))
		s.cfg.Log.Warn().Str("addr", clientAddr(r)).Msg("console login refused: too many failures")
		s.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins; wait a few minutes.", next)
		return
	}
	users := s.users.Load()
	u := users.Authenticate(name, password)
	if u == nil {
		s.limiter.fail(addrKey, nameKey)
		// An unknown name is not logged: it may be a password typed
		// into the wrong field.
		logName := "(unknown)"
		if users.Lookup(name) != nil {
			logName = name
		}
		s.cfg.Log.Warn().Str("user", logName).Str("addr", clientAddr(r)).Msg("console login failed")
		s.showLogin(w, r, http.StatusUnauthorized, "Wrong name or password.", next)
		return
	}
	s.limiter.reset(nameKey)
	// A new session ID at every login: a planted cookie is worthless.
	sess, err := s.sessions.create(u.Name, u.hash)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.setCookie(w, s.loginCookieName(), "", -1)
	s.setCookie(w, s.cookieName(), sess.id, 0)
	s.cfg.Log.Info().Str("user", u.Name).Str("role", u.Role).Msg("console login")
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *view) {
	if id, _ := r.Context().Value(sessionKey{}).(string); id != "" {
		s.sessions.delete(id)
	}
	s.setCookie(w, s.cookieName(), "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// fail answers an error of a page: client errors with their message,
// anything else logged and answered generically (store errors describe
// the server's internals).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	if v == nil {
		v = &view{}
	}
	status, msg := classify(err)
	if status == http.StatusInternalServerError || status == http.StatusGatewayTimeout {
		s.cfg.Log.Error().Err(err).Str("path", r.URL.Path).Msg("console request failed")
	}
	v.Title, v.Error = http.StatusText(status), msg
	s.render(w, r, status, "error", v)
}

func classify(err error) (int, string) {
	switch {
	case errors.Is(err, triage.ErrInvalid):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, triage.ErrConflict):
		return http.StatusConflict, err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "Not found (or not yours to see)."
	case errors.Is(err, store.ErrForbidden):
		return http.StatusForbidden, "That is outside your scope."
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "The store did not answer in time."
	}
	return http.StatusInternalServerError, "Internal error (logged)."
}
