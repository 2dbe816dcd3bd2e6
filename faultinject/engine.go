package faultinject

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// engine plays a scenario: it matches requests to routes, steps each route's
// script under one lock, draws chaos from the seeded source, arms dial
// refusals and journals every call. The three front ends share it.
type engine struct {
	sc            *Scenario
	mux           *http.ServeMux
	patterns      []string
	unmatched     int
	attemptHeader string
	keepSecrets   bool // journal credentials verbatim (WithSecrets)
	journal       *Journal

	mu       sync.Mutex
	routes   map[string][]*routeState // by pattern, in scenario order
	rng      *rand.Rand
	refusals []refusal
	hasBulk  bool // some route is a bulk endpoint or a proxy: its bodies are read
	upstream *upstream
}

// routeState is the script position of one route.
type routeState struct {
	route *Route
	pos   int // current step; len(steps) once exhausted (repeat-last, status)
	used  int // requests the current step has served
	fixed Step
	bulk  bulkState // sends per item, for a bulk route
}

// refusal is a run of armed dial refusals; n < 0 refuses forever.
type refusal struct {
	route  string
	action string // the fault word, journaled as the call's action
	n      int
}

func newEngine(s *Scenario, attemptHeader string) *engine {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	e := &engine{
		sc:            s,
		mux:           http.NewServeMux(),
		unmatched:     s.Unmatched,
		attemptHeader: attemptHeader,
		journal:       newJournal(s.Name),
	}
	if e.unmatched == 0 {
		e.unmatched = http.StatusNotFound
	}
	for _, r := range s.Routes {
		if !slices.Contains(e.patterns, r.Pattern) {
			e.mux.Handle(r.Pattern, http.NotFoundHandler())
			e.patterns = append(e.patterns, r.Pattern)
		}
		e.hasBulk = e.hasBulk || r.Bulk != nil || r.When.needsBody() || proxies(&r)
	}
	e.reset()
	return e
}

// newConfiguredEngine is newEngine with the journal options of cfg and
// the upstream of cfg (or else of s).
func newConfiguredEngine(s *Scenario, cfg config) *engine {
	e := newEngine(s, cfg.attemptHeader)
	raw := cfg.upstream
	if raw == "" {
		raw = s.Upstream
	}
	if cfg.upstreams != nil {
		e.upstream = cfg.upstreams.get(raw) // checked by checkConfig and Validate
	}
	e.keepSecrets = cfg.keepSecrets
	e.journal.limit = cfg.journalLimit
	return e
}

// reset restarts every script and chaos source and empties the journal.
func (e *engine) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.journal.reset()
	e.rng = rand.New(rand.NewPCG(uint64(e.sc.Seed), 0x5eed))
	e.refusals = nil
	e.routes = make(map[string][]*routeState, len(e.sc.Routes))
	for i := range e.sc.Routes {
		r := &e.sc.Routes[i]
		rs := &routeState{route: r, fixed: Step{Respond: Response{Status: r.After.Status}}}
		if r.After.Mode == AfterUpstream {
			rs.fixed = Step{Upstream: true}
		}
		if r.Bulk != nil {
			rs.bulk = bulkState{}
		}
		e.routes[r.Pattern] = append(e.routes[r.Pattern], rs)
		e.arm(rs)
	}
}

// current returns the step that serves the route's next request.
func (rs *routeState) current() *Step {
	steps := rs.route.Steps
	if rs.pos < len(steps) {
		return &steps[rs.pos]
	}
	if rs.route.After.Mode == AfterStatus || rs.route.After.Mode == AfterUpstream {
		return &rs.fixed
	}
	return &steps[len(steps)-1]
}

// advance moves past the current step once it has served its requests.
func (rs *routeState) advance() {
	steps := rs.route.Steps
	if rs.pos >= len(steps) {
		return
	}
	rs.used++
	if rs.used < steps[rs.pos].times() {
		return
	}
	rs.pos, rs.used = rs.pos+1, 0
	if rs.pos == len(steps) && rs.route.After.Mode == AfterLoop {
		rs.pos = 0
	}
}

// arm turns dial-fault steps (refuse) that became current into armed dial refusals and
// reports whether it armed any. A refusing step repeated forever (the last
// step under repeat-last) refuses every later dial.
func (e *engine) arm(rs *routeState) bool {
	armed := false
	steps := rs.route.Steps
	for range len(steps) {
		if rs.pos >= len(steps) || !dialStep(&steps[rs.pos]) {
			break
		}
		armed = true
		st := &steps[rs.pos]
		if rs.pos == len(steps)-1 && rs.route.After.Mode == AfterRepeatLast {
			e.refusals = append(e.refusals, refusal{route: rs.route.Pattern, action: st.Fault, n: -1})
			rs.pos, rs.used = len(steps), 0
			break
		}
		e.refusals = append(e.refusals, refusal{route: rs.route.Pattern, action: st.Fault, n: st.times()})
		rs.used = st.times() - 1
		rs.advance()
	}
	return armed
}

// refuseDial consumes one armed refusal, journaling it, and reports whether
// the dial must be refused.
func (e *engine) refuseDial() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.refusals) == 0 {
		return false
	}
	r := &e.refusals[0]
	now := time.Now()
	e.journal.add(&entry{Call: Call{Route: r.route, Start: now, End: now, Action: r.action}})
	if r.n > 0 {
		r.n--
		if r.n == 0 {
			e.refusals = e.refusals[1:]
		}
	}
	return true
}

// meta is what a front end knows about a request besides the request.
type meta struct {
	bodyLen int64
	bodySum string
	bodyErr error  // the body was cut off: the call is abandoned
	body    []byte // kept for a bulk or proxy route: at most MaxUpstreamBody+1 bytes
	connID  uint64
	reused  bool
}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// readBody consumes and hashes r's body, keeping none of it, except the
// first MaxUpstreamBody+1 bytes when keep is set (for a bulk or proxy
// route). A body
// that ends in an error (cut off by the client or the connection) sets
// bodyErr.
func readBody(r *http.Request, keep bool) meta {
	if r.Body == nil || r.Body == http.NoBody {
		return meta{bodySum: emptySHA256}
	}
	h := sha256.New()
	var w io.Writer = h
	var kept *limitedBuffer
	if keep {
		kept = &limitedBuffer{left: max(MaxBulkBody, MaxUpstreamBody) + 1}
		w = io.MultiWriter(h, kept)
	}
	n, err := io.Copy(w, r.Body)
	r.Body.Close()
	m := meta{bodyLen: n, bodySum: hex.EncodeToString(h.Sum(nil)), bodyErr: err}
	if kept != nil {
		m.body = kept.b
	}
	return m
}

// limitedBuffer keeps the first left bytes written to it and drops the
// rest.
type limitedBuffer struct {
	b    []byte
	left int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if k := min(len(p), l.left); k > 0 {
		l.b = append(l.b, p[:k]...)
		l.left -= k
	}
	return len(p), nil
}

// keepsBody reports whether r goes to a bulk route, whose body the engine
// reads.
func (e *engine) keepsBody(r *http.Request) bool {
	if !e.hasBulk {
		return false
	}
	_, pattern := e.mux.Handler(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rs := range e.routes[pattern] {
		if rs.route.Bulk != nil || rs.route.When.needsBody() || proxies(rs.route) {
			return true
		}
	}
	return false
}

// proxies reports whether a route forwards any request upstream.
func proxies(r *Route) bool {
	if r.After.Mode == AfterUpstream {
		return true
	}
	for i := range r.Steps {
		if r.Steps[i].Upstream {
			return true
		}
	}
	return false
}

// pick returns the first route of pattern whose conditions r meets, or
// nil; none reports that pattern has routes but r met none's conditions.
func (e *engine) pick(pattern string, r *http.Request, body []byte) (rs *routeState, none bool) {
	candidates := e.routes[pattern]
	for _, rs := range candidates {
		if rs.route.When.holds(r, body) {
			return rs, false
		}
	}
	return nil, len(candidates) > 0
}

// plan is what the engine decided for one request.
type plan struct {
	step      *Step
	call      *callHandle
	start     time.Time
	closeConn bool
	// abandoned says the request's body was cut off: the call is
	// journaled, no step was consumed and no answer is due (step is nil).
	abandoned bool
}

// dispatch matches r to a route, steps its script (or lets chaos decide) and
// journals the call. A request whose body was cut off (m.bodyErr) is
// journaled as abandoned and steps nothing: the client never saw an answer.
func (e *engine) dispatch(r *http.Request, m meta) *plan {
	_, pattern := e.mux.Handler(r)
	header, cut := packHeader(r.Header, e.keepSecrets)
	path, cutPath := bound(r.URL.Path)
	key, cutKey := bound(r.Header.Get("Idempotency-Key"))
	var unmatched *Step
	if pattern == "" { // every pattern the mux knows is a route
		// The hint is computed before taking the lock: an unmatched request
		// must never hold up the others.
		unmatched = e.unmatchedStep(r)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	c := &entry{header: header, Call: Call{
		Start:          now,
		Method:         r.Method,
		Path:           path,
		IdempotencyKey: key,
		BodyLen:        m.bodyLen,
		BodySHA256:     m.bodySum,
		ConnID:         m.connID,
		Reused:         m.reused,
		Truncated:      cut || cutPath || cutKey,
	}}
	if v := r.Header.Get(e.attemptHeader); v != "" {
		c.Attempt, _ = strconv.Atoi(v)
	}
	p := &plan{start: now}
	rs, unmet := e.pick(pattern, r, m.body)
	if m.bodyErr != nil {
		if rs != nil || unmet {
			c.Route = pattern
		}
		c.Action, c.End, p.abandoned = ActionAbandoned, now, true
		c.Outcome = fmt.Sprintf("body cut off after %d bytes: %v", m.bodyLen, m.bodyErr)
		p.call = e.journal.add(c)
		return p
	}
	if rs == nil {
		c.Action = "unmatched"
		p.step = unmatched
		if unmet {
			p.step = e.unmetStep(r, pattern)
		}
		if p.step == nil {
			p.step = e.unmatchedStep(r)
		}
		p.call = e.journal.add(c)
		return p
	}
	c.Route = pattern
	for i := range e.sc.Chaos {
		ch := &e.sc.Chaos[i]
		if ch.Route != "" && ch.Route != pattern {
			continue
		}
		if e.rng.Float64() < ch.Probability {
			p.step, c.Chaos = &ch.Step, true
			break
		}
	}
	if b := rs.route.Bulk; b != nil {
		c.Action = "bulk"
		if p.step == nil {
			p.step = bulkAnswer(rs, b, m.body, c)
		} else {
			c.Action = p.step.action()
		}
		p.call = e.journal.add(c)
		return p
	}
	if p.step == nil {
		p.step = rs.current()
		rs.advance()
		p.closeConn = e.arm(rs) || preByte(rs.current())
	}
	c.Action = p.step.action()
	p.call = e.journal.add(c)
	return p
}

// unmetStep is the answer to a request whose pattern has routes, none of
// whose conditions it met: the unmatched status, naming the conditions.
func (e *engine) unmetStep(r *http.Request, pattern string) *Step {
	var conds []string
	for _, rs := range e.routes[pattern] {
		conds = append(conds, "("+rs.route.When.String()+")")
	}
	msg := fmt.Sprintf("faultinject: %s matches route %s, but none of its conditions hold: %s",
		clip(r.Method, 32), pattern, strings.Join(conds, " or "))
	return &Step{Respond: Response{
		Status: e.unmatched,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:   []byte(msg + "\n"),
	}}
}

// maxEchoedPath bounds the request path quoted in an unmatched answer.
const maxEchoedPath = 256

// unmatchedStep returns the answer to a request no route matches, naming the
// nearest route. Its cost does not grow with the path's length.
func (e *engine) unmatchedStep(r *http.Request) *Step {
	path := r.URL.Path
	if c := clip(path, maxEchoedPath); len(c) < len(path) {
		path = c + "…"
	}
	msg := fmt.Sprintf("faultinject: no route matches %s %s", clip(r.Method, 32), path)
	if near := nearestRoute(r.Method, r.URL.Path, e.patterns); near != "" {
		msg += "; nearest route: " + near
	} else {
		msg += " (the scenario has no routes)"
	}
	return &Step{Respond: Response{
		Status: e.unmatched,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:   []byte(msg + "\n"),
	}}
}
