package console

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// session is one logged-in browser. The cookie carries only its random
// ID; everything else stays on the server, so logout and expiry are real.
type session struct {
	id   string
	user string
	// cred is the user's password hash at login: a session outlives
	// neither its user nor a change of password.
	cred    string
	csrf    string
	created time.Time
	seen    time.Time
	// flash is a one-shot message for the next page (an action's outcome).
	flash string
}

// sessions is the server-side session store, bounded in size and age.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	// idle and max bound a session: closed after idle without a request,
	// and after max whatever happens.
	idle, max time.Duration
	limit     int
	now       func() time.Time
}

func newSessions(idle, max time.Duration, limit int, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, max: max, limit: limit, now: now}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create starts a session for user, who logged in with the password
// hash cred.
func (ss *sessions) create(user, cred string) (*session, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	now := ss.now()
	s := &session{id: id, user: user, cred: cred, csrf: csrf, created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweepLocked(now)
	if len(ss.byID) >= ss.limit {
		// Full of live sessions: drop the least recently seen rather than
		// refuse a login.
		var oldest *session
		for _, o := range ss.byID {
			if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		delete(ss.byID, oldest.id)
	}
	ss.byID[id] = s
	return s, nil
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.max
}

func (ss *sessions) sweepLocked(now time.Time) {
	for id, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, id)
		}
	}
}

// get returns a copy of the live session id and marks it seen, or false.
func (ss *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil {
		return session{}, false
	}
	if ss.expired(s, now) {
		delete(ss.byID, id)
		return session{}, false
	}
	s.seen = now
	return *s, true
}

// popFlash returns and clears the session's flash message.
func (ss *sessions) popFlash(id string) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil {
		return ""
	}
	f := s.flash
	s.flash = ""
	return f
}

func (ss *sessions) setFlash(id, msg string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.byID[id]; s != nil {
		s.flash = msg
	}
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// limiter counts failed logins per key (the client address, the user
// name) in a sliding window and refuses further attempts past max, so a
// password cannot be guessed at the speed of the network.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	fails  map[string][]time.Time
	now    func() time.Time
}

// limiterKeys bounds the limiter's memory under a spray of names.
const limiterKeys = 100000

func newLimiter(window time.Duration, max int, now func() time.Time) *limiter {
	return &limiter{window: window, max: max, fails: map[string][]time.Time{}, now: now}
}

func (l *limiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// blocked reports whether any key has used up its failures, and until
// when.
func (l *limiter) blocked(keys ...string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if ts := l.recent(k, now); len(ts) >= l.max {
			return true, l.window - now.Sub(ts[0])
		}
	}
	return false, 0
}

func (l *limiter) fail(keys ...string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > limiterKeys {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	for _, k := range keys {
		if len(l.fails) > limiterKeys {
			// Still full of live keys: fail closed on new ones by
			// refusing to forget, but do not grow without bound.
			if _, ok := l.fails[k]; !ok {
				continue
			}
		}
		l.fails[k] = append(l.recent(k, now), now)
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}
