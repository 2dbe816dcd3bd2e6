package faultinject

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionHeader is the request header that selects a session of a server
// built WithAdmin: a request carrying "Retrylab-Session: ID" is played by
// session ID's own scripts, chaos source and journal instead of the
// server's. Requests without it are played by the server's scenario (the
// default session), as on a server without sessions.
const SessionHeader = "Retrylab-Session"

// Defaults of WithSessions, used by every server built WithAdmin.
const (
	// DefaultMaxSessions is the most sessions a server holds at once.
	DefaultMaxSessions = 128
	// DefaultSessionIdle is how long a session may go without a request
	// (to its routes or to its admin endpoints) before it expires.
	DefaultSessionIdle = 10 * time.Minute
)

// MaxSessionID is the longest session ID, in bytes.
const MaxSessionID = 64

// WithSessions bounds the sessions of a server built WithAdmin: at most max
// at once (max <= 0: DefaultMaxSessions), each expiring after idle without
// a request (idle <= 0: DefaultSessionIdle). A session that is serving a
// request never expires; expired sessions are removed when the session
// table is next used, so an idle server holds no timer.
//
// Sessions let one server host many isolated runs of scenarios, for test
// processes that share it (ginkgo -p, CI shards). The admin API creates and
// drives them:
//
//	GET    /__admin/sessions               the sessions, as JSON (AdminSessions)
//	PUT    /__admin/sessions/ID            create session ID playing the YAML
//	                                       scenario in the body (an empty body:
//	                                       the server's scenario); 201 when
//	                                       created, 200 when it replaced the
//	                                       session's scenario; 429 when the
//	                                       session limit is reached
//	GET    /__admin/sessions/ID            the session's scenario summary
//	DELETE /__admin/sessions/ID            delete the session (204)
//	GET    /__admin/sessions/ID/journal    the session's journal, as /__admin/journal
//	POST   /__admin/sessions/ID/reset      restart its scripts, empty its journal
//	GET    /__admin/sessions/ID/scenario   as /__admin/scenario, for the session
//	PUT    /__admin/sessions/ID/scenario   replace the session's scenario
//
// Uploads obey the rules of PUT /__admin/scenario (1 MiB, no body-file),
// and the session endpoints the rules of every admin endpoint (loopback
// clients and hosts only, no Origin header). An admin call naming a session
// that does not exist gets 404; a request to the scripted routes naming one
// (in SessionHeader) gets 421 Misdirected Request, is not journaled, and
// never falls through to the server's scenario. A session ID is 1 to
// MaxSessionID bytes of ASCII letters, digits, '.', '_' and '-', starting
// with a letter or digit; a request with any other ID gets 400.
//
// Dial refusals (the refuse fault) act on dials, which carry no session:
// a session's scenario may not use the refuse fault (400 naming the step).
func WithSessions(max int, idle time.Duration) Option {
	return func(c *config) { c.maxSessions, c.sessionIdle = max, idle }
}

// AdminSession describes a session in GET /__admin/sessions.
type AdminSession struct {
	// ID is the session's ID.
	ID string `json:"id"`
	// Scenario is the name of the scenario the session plays.
	Scenario string `json:"scenario"`
	// Calls is the number of calls the session journaled, dropped ones
	// included.
	Calls int `json:"calls"`
	// LastUsed is when the session last served a request.
	LastUsed time.Time `json:"last_used"`
	// Expires is when the session expires if it serves no other request.
	Expires time.Time `json:"expires"`
}

// AdminSessions is the body of GET /__admin/sessions.
type AdminSessions struct {
	// Max is the most sessions the server holds at once.
	Max int `json:"max"`
	// Idle is how long a session may be idle before it expires, as a Go
	// duration string.
	Idle string `json:"idle"`
	// Sessions are the live sessions, by ID.
	Sessions []AdminSession `json:"sessions"`
}

// CheckSessionID reports why id cannot name a session, or nil.
func CheckSessionID(id string) error {
	if id == "" {
		return fmt.Errorf("faultinject: empty session ID")
	}
	if len(id) > MaxSessionID {
		return fmt.Errorf("faultinject: session ID %q… is %d bytes, longer than %d", id[:16], len(id), MaxSessionID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return fmt.Errorf("faultinject: session ID %s: byte %d (%q) is not allowed; use letters, digits, '.', '_' and '-', starting with a letter or digit", strconv.QuoteToASCII(id), i+1, rune(c))
	}
	return nil
}

// session is one isolated run of a scenario.
type session struct {
	id  string
	eng *engine // guarded by sessionTable.mu; replaced by PUT .../scenario
	// Guarded by sessionTable.mu:
	last time.Time // when the session last served a request
	busy int       // requests being served
}

// sessionTable holds a server's sessions.
type sessionTable struct {
	max  int
	idle time.Duration

	mu sync.Mutex
	m  map[string]*session
}

func newSessionTable(cfg config) *sessionTable {
	t := &sessionTable{max: cfg.maxSessions, idle: cfg.sessionIdle, m: map[string]*session{}}
	if t.max <= 0 {
		t.max = DefaultMaxSessions
	}
	if t.idle <= 0 {
		t.idle = DefaultSessionIdle
	}
	return t
}

// sweep removes the expired sessions; the caller holds t.mu.
func (t *sessionTable) sweep(now time.Time) {
	for id, s := range t.m {
		if t.expired(s, now) {
			delete(t.m, id)
		}
	}
}

func (t *sessionTable) expired(s *session, now time.Time) bool {
	return s.busy == 0 && now.Sub(s.last) >= t.idle
}

// unknown is the message for a session that does not exist.
func (t *sessionTable) unknown(id string) string {
	return fmt.Sprintf("faultinject: unknown session %q: it was never created (PUT /__admin/sessions/%s), was deleted, or expired after %v idle", id, id, t.idle)
}

// lookup returns the live session id, touching it, or nil. With serving
// set, the session counts a request in progress until done is called.
func (t *sessionTable) lookup(id string, serving bool) (s *session, eng *engine, done func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	s = t.m[id]
	if s == nil {
		return nil, nil, nil
	}
	if t.expired(s, now) {
		delete(t.m, id)
		return nil, nil, nil
	}
	s.last = now
	if !serving {
		return s, s.eng, func() {}
	}
	s.busy++
	return s, s.eng, func() {
		t.mu.Lock()
		s.busy--
		s.last = time.Now()
		t.mu.Unlock()
	}
}

// put creates session id playing eng, or replaces the engine of the live
// session id; it reports whether it created the session, or an error when
// the table is full.
func (t *sessionTable) put(id string, eng *engine) (created bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if s := t.m[id]; s != nil && !t.expired(s, now) {
		s.eng, s.last = eng, now
		return false, nil
	}
	t.sweep(now)
	if len(t.m) >= t.max {
		return false, fmt.Errorf("faultinject: session limit reached: %d sessions are open, the most this server holds (WithSessions, retrylab serve --max-sessions); delete finished sessions or raise the limit", t.max)
	}
	t.m[id] = &session{id: id, eng: eng, last: now}
	return true, nil
}

// replace sets the engine of the live session id, reporting whether it
// exists.
func (t *sessionTable) replace(id string, eng *engine) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[id]
	if s == nil || t.expired(s, time.Now()) {
		delete(t.m, id)
		return false
	}
	s.eng, s.last = eng, time.Now()
	return true
}

// remove deletes session id, reporting whether it was live. Requests in
// flight finish under its scenario.
func (t *sessionTable) remove(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[id]
	delete(t.m, id)
	return s != nil && !t.expired(s, time.Now())
}

// list describes the live sessions, by ID.
func (t *sessionTable) list() AdminSessions {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(time.Now())
	out := AdminSessions{Max: t.max, Idle: t.idle.String(), Sessions: []AdminSession{}}
	for _, s := range t.m {
		out.Sessions = append(out.Sessions, AdminSession{ID: s.id, Scenario: s.eng.sc.Name,
			Calls: s.eng.journal.lastSeq(), LastUsed: s.last, Expires: s.last.Add(t.idle)})
	}
	slices.SortFunc(out.Sessions, func(a, b AdminSession) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// engineFor returns the engine that plays r: the session r names in
// SessionHeader, or the server's own. When r names a session that cannot
// serve it, engineFor answers r itself and returns a nil engine. done
// ends the request's hold on its session.
func (s *Server) engineFor(w http.ResponseWriter, r *http.Request) (eng *engine, done func()) {
	id := r.Header.Get(SessionHeader)
	if id == "" {
		return s.eng.Load(), func() {}
	}
	if err := CheckSessionID(id); err != nil {
		http.Error(w, err.Error()+" (in the "+SessionHeader+" header)", http.StatusBadRequest)
		return nil, nil
	}
	if s.sessions == nil {
		http.Error(w, fmt.Sprintf("faultinject: unknown session %q: this server has no sessions (they come with the admin API: WithAdmin, retrylab serve)", id), http.StatusMisdirectedRequest)
		return nil, nil
	}
	_, eng, done = s.sessions.lookup(id, true)
	if eng == nil {
		http.Error(w, s.sessions.unknown(id), http.StatusMisdirectedRequest)
		return nil, nil
	}
	return eng, done
}

// serveSessions answers the admin endpoints under /__admin/sessions.
func (s *Server) serveSessions(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, adminPrefix+"sessions")
	if rest == "" || rest == "/" {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		writeJSON(w, http.StatusOK, s.sessions.list())
		return
	}
	id, endpoint, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	if err := CheckSessionID(id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if endpoint == "" {
		switch r.Method {
		case http.MethodPut:
			sc, ok := s.readScenario(w, r, "session "+id+" upload", true)
			if !ok {
				return
			}
			if sc == nil {
				sc = s.eng.Load().sc
			}
			if err := checkSessionScenario(sc); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			created, err := s.sessions.put(id, newConfiguredEngine(sc, s.cfg))
			if err != nil {
				http.Error(w, err.Error(), http.StatusTooManyRequests)
				return
			}
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			writeJSON(w, status, sessionSummary(id, sc))
		case http.MethodGet:
			_, eng, _ := s.sessions.lookup(id, false)
			if eng == nil {
				http.Error(w, s.sessions.unknown(id), http.StatusNotFound)
				return
			}
			writeJSON(w, http.StatusOK, sessionSummary(id, eng.sc))
		case http.MethodDelete:
			if !s.sessions.remove(id) {
				http.Error(w, s.sessions.unknown(id), http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			methodNotAllowed(w, "GET, PUT, DELETE")
		}
		return
	}
	_, eng, _ := s.sessions.lookup(id, false)
	if eng == nil {
		http.Error(w, s.sessions.unknown(id), http.StatusNotFound)
		return
	}
	s.serveTarget(w, r, endpoint, eng, func(sc *Scenario) bool {
		if err := checkSessionScenario(sc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		if !s.sessions.replace(id, newConfiguredEngine(sc, s.cfg)) {
			http.Error(w, s.sessions.unknown(id), http.StatusNotFound)
			return false
		}
		return true
	})
}

// checkSessionScenario reports why a session cannot play sc: a dial has no
// session header, so a fault that acts on dials cannot be played in a
// session.
func checkSessionScenario(sc *Scenario) error {
	for _, r := range sc.Routes {
		for i, st := range r.Steps {
			if _, dial := faults[st.Fault].(dialFault); dial {
				return fmt.Errorf("faultinject: scenario %q: route %q step %d: fault %q cannot be played in a session (it acts on dials, which carry no %s header)", sc.Name, r.Pattern, i+1, st.Fault, SessionHeader)
			}
		}
	}
	return nil
}

type sessionSummaryJSON struct {
	Session string `json:"session"`
	summary
}

func sessionSummary(id string, sc *Scenario) sessionSummaryJSON {
	return sessionSummaryJSON{Session: id, summary: scenarioSummary(sc)}
}
