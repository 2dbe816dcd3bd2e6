package faultinject

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/retrylab/retrylab/internal/protocol"
)

// AttemptHeader, "Retrylab-Attempt", is the request header whose integer
// value the journal records as Call.Attempt unless WithAttemptHeader names
// another one; retryclient.DefaultAttemptHeader is the same name.
const AttemptHeader = protocol.AttemptHeader

// Scenario scripts how a server misbehaves: routes, each with an ordered
// script of steps, what to answer requests no route matches, and optional
// seeded chaos. Build one with NewScenario, ParseScenario or LoadScenario.
//
// A Scenario is a plain value; servers and responders copy what they need
// when they start, so it may be shared by several of them, but it must not be
// modified while they run.
type Scenario struct {
	// Name names the scenario in messages and timelines.
	Name string
	// Seed drives chaos decisions: the same seed gives the same sequence.
	Seed int64
	// Unmatched is the status sent to requests that no route matches;
	// zero means 404.
	Unmatched int
	// Routes are the scripted routes, matched as patterns of net/http.ServeMux.
	Routes []Route
	// Chaos lists random faults applied before the scripts.
	Chaos []Chaos
	// Source is the file or name the scenario was parsed from, "" for a
	// scenario built in Go.
	Source string
	// Upstream is the real service that proxy steps (Step.Upstream,
	// AfterUpstream) forward to: an absolute http or https URL. A server's
	// WithUpstream takes its place.
	Upstream string
}

// Route is one scripted route of a Scenario.
type Route struct {
	// Pattern is a net/http.ServeMux pattern such as "GET /users/{id}".
	Pattern string
	// Steps are played in order; each serves Step.Times requests.
	Steps []Step
	// After says what happens once every step has been played.
	After After
	// Bulk, when set, makes the route a bulk endpoint with per-item
	// failures (see [Bulk]) instead of playing Steps, which must be empty.
	Bulk *Bulk
	// When, when set, adds conditions on headers, query and body: the
	// route serves only requests that meet them (see [Match]).
	When *Match
}

// AfterMode says what a route does once its script is exhausted.
type AfterMode int

const (
	// AfterRepeatLast repeats the last step forever (the default).
	AfterRepeatLast AfterMode = iota
	// AfterLoop starts the script again from its first step.
	AfterLoop
	// AfterStatus answers every further request with After.Status.
	AfterStatus
	// AfterUpstream forwards every further request to the upstream (proxy
	// mode, see WithUpstream).
	AfterUpstream
)

// After says what a route does once its script is exhausted. The zero value
// repeats the last step.
type After struct {
	Mode   AfterMode // what to do
	Status int       // the status sent, with AfterStatus
}

// String returns the YAML word for a: "repeat-last", "loop" or the status.
func (a After) String() string {
	switch a.Mode {
	case AfterLoop:
		return "loop"
	case AfterStatus:
		return fmt.Sprint(a.Status)
	case AfterUpstream:
		return "upstream"
	}
	return "repeat-last"
}

// Step is one entry of a route's script: an optional delay, then one action,
// either a response or a registered fault (see the package documentation for
// the fault words and what a client observes for each).
type Step struct {
	// Times is how many requests the step serves (for refuse, how many
	// dials it refuses); zero means one.
	Times int
	// Delay is waited before the action starts.
	Delay time.Duration
	// Respond is the response sent, or the response a fault takes its status,
	// headers and body from (reset-after-headers, reset-mid-body, slow-body,
	// hang with For).
	Respond Response
	// Fault is a fault word such as "hang" or "reset"; "" means respond.
	Fault string
	// Upstream makes the step forward the request to the upstream and
	// relay its response (proxy mode, see WithUpstream); with a Fault that
	// takes a response (reset-after-headers, reset-mid-body, slow-body,
	// hang with For), the fault plays on the upstream's response. Respond
	// must then be empty.
	Upstream bool

	// The parameters of the faults that have some (YAML keys beside
	// fault:). Each is decoded and validated by its fault's file; setting
	// one on a step with another fault is an error.

	// For is hang's parameter: after For the step's response is sent.
	For time.Duration
	// Chunk is slow-body's parameter: the number of body bytes written at
	// a time (default 16).
	Chunk int
	// Every is slow-body's parameter: the pause between chunks (default
	// 100ms).
	Every time.Duration
}

// Response is what a step sends.
type Response struct {
	// Status is the HTTP status code, a final status 200..599 (an
	// informational 1xx status is not a response a step can send).
	Status int
	// Header is sent with the response.
	Header http.Header
	// Body is the response body.
	Body []byte
	// RetryAfter is sent as a delta-seconds Retry-After header (rounded up
	// to whole seconds) when RetryAfterSet is true.
	RetryAfter    time.Duration
	RetryAfterSet bool
	// RetryAfterDate, when not zero, is sent as an IMF-fixdate Retry-After
	// header RetryAfterDate after the request arrived.
	RetryAfterDate time.Duration
}

// Chaos applies a step instead of the script, with the given probability, to
// each request of a route. Decisions come from a source seeded with
// Scenario.Seed; the script does not advance on a request chaos took.
type Chaos struct {
	// Route is the pattern of the route it applies to; "" means every route.
	Route string
	// Probability is in [0, 1].
	Probability float64
	// Step is what happens to a chosen request; Step.Times is ignored.
	Step Step
}

func (s *Step) times() int {
	if s.Times <= 0 {
		return 1
	}
	return s.Times
}

// action returns the journal word of the step's action.
func (s *Step) action() string {
	switch {
	case s.Fault == "" && s.Upstream:
		return "upstream"
	case s.Fault == "":
		return "respond"
	}
	return s.Fault
}

// ScenarioError is an error in a scenario. Error returns
// "source:line:col: message" for a scenario read from YAML, and
// "faultinject: scenario NAME: message" for one built in Go.
type ScenarioError struct {
	Source       string // the file or name parsed, or the scenario's name
	Line, Column int    // 1-based; zero for a scenario built in Go
	Msg          string // what is wrong, without the place
}

// Error returns "source:line:col: message", or "faultinject: scenario NAME:
// message" when the scenario was built in Go.
func (e *ScenarioError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.Source, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("faultinject: scenario %q: %s", e.Source, e.Msg)
}

// Validate reports the first problem of s, or nil. NewServer, NewPipeServer
// and Register panic on a scenario that does not validate.
func (s *Scenario) Validate() error {
	fail := func(format string, args ...any) error {
		return &ScenarioError{Source: s.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if s.Unmatched != 0 {
		if m := checkStatus(s.Unmatched); m != "" {
			return fail("unmatched: %s", m)
		}
	}
	if s.Upstream != "" {
		if m := checkUpstream(s.Upstream); m != "" {
			return fail("%s", m)
		}
	}
	if len(s.Routes) > MaxRoutes {
		return fail("%d routes, more than the limit of %d", len(s.Routes), MaxRoutes)
	}
	if len(s.Chaos) > MaxChaos {
		return fail("%d chaos entries, more than the limit of %d", len(s.Chaos), MaxChaos)
	}
	steps := len(s.Chaos)
	for _, r := range s.Routes {
		steps += len(r.Steps)
	}
	if steps > MaxSteps {
		return fail("%d steps, more than the limit of %d", steps, MaxSteps)
	}
	catchAll := map[string]bool{} // patterns with a route without conditions
	seen := map[string]bool{}
	mux := http.NewServeMux()
	for i := range s.Routes {
		r := &s.Routes[i]
		if catchAll[r.Pattern] {
			if r.When == nil {
				return fail("duplicate route %q", r.Pattern)
			}
			return fail("route %q with conditions comes after a route %q without any, which takes every request first", r.Pattern, r.Pattern)
		}
		if !seen[r.Pattern] {
			if m := checkPattern(mux, r.Pattern); m != "" {
				return fail("%s", m)
			}
		}
		seen[r.Pattern] = true
		catchAll[r.Pattern] = r.When == nil
		if m := checkAfter(r.After); m != "" {
			return fail("route %q: %s", r.Pattern, m)
		}
		if r.Bulk != nil {
			if len(r.Steps) > 0 {
				return fail("route %q: %s", r.Pattern, msgBulkSteps)
			}
			if m := r.Bulk.check(); m != "" {
				return fail("route %q: %s", r.Pattern, m)
			}
			continue
		}
		if len(r.Steps) == 0 && r.After.Mode != AfterStatus && r.After.Mode != AfterUpstream {
			return fail("route %q: %s", r.Pattern, msgNoSteps)
		}
		for j := range r.Steps {
			if m := checkStep(&r.Steps[j], false); m != "" {
				return fail("route %q step %d: %s", r.Pattern, j+1, m)
			}
		}
	}
	for i := range s.Chaos {
		c := &s.Chaos[i]
		if c.Route != "" && !seen[c.Route] {
			return fail("chaos %d: %s", i+1, msgChaosRoute(c.Route, s.patterns()))
		}
		if m := checkProbability(c.Probability); m != "" {
			return fail("chaos %d: %s", i+1, m)
		}
		if m := checkStep(&c.Step, true); m != "" {
			return fail("chaos %d: %s", i+1, m)
		}
	}
	return nil
}

func (s *Scenario) patterns() []string {
	out := make([]string, len(s.Routes))
	for i, r := range s.Routes {
		out[i] = r.Pattern
	}
	return out
}

const msgNoSteps = "route has no steps (add steps, or after: STATUS)"

// msgBulkSteps is the error for a bulk route that also has steps.
const msgBulkSteps = "a bulk route answers by its item scripts and takes no steps"

func msgChaosRoute(route string, patterns []string) string {
	return fmt.Sprintf("chaos route %q is not a route of the scenario%s", route, suggest(route, patterns))
}

func checkStatus(code int) string {
	if code >= 100 && code <= 199 {
		return fmt.Sprintf("status %d is informational (1xx), not a final response; want 200..599", code)
	}
	if code < 200 || code > 599 {
		return fmt.Sprintf("status %d out of range 200..599", code)
	}
	return ""
}

// checkHeaderName reports why name cannot be sent as a header field name.
func checkHeaderName(name string) string {
	if !httpguts.ValidHeaderFieldName(name) {
		return fmt.Sprintf("header name %q is not a valid HTTP field name (letters, digits and !#$%%&'*+-.^_`|~ only)", clip(name, 64))
	}
	return ""
}

// checkHeaderValue reports why value cannot be sent as a value of header
// name.
func checkHeaderValue(name, value string) string {
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Sprintf("header %s: value %q contains a control character (CR, LF, NUL, ...)", name, clip(value, 64))
	}
	return ""
}

// checkHeader reports the first invalid field of h, in name order.
func checkHeader(h http.Header) string {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if m := checkHeaderName(k); m != "" {
			return m
		}
		for _, v := range h[k] {
			if m := checkHeaderValue(k, v); m != "" {
				return m
			}
		}
	}
	return ""
}

func checkProbability(p float64) string {
	if !(p >= 0 && p <= 1) {
		return fmt.Sprintf("probability %v not in [0, 1]", p)
	}
	return ""
}

func checkAfter(a After) string {
	switch a.Mode {
	case AfterRepeatLast, AfterLoop:
		return ""
	case AfterStatus:
		if m := checkStatus(a.Status); m != "" {
			return "after: " + m
		}
		return ""
	case AfterUpstream:
		return ""
	}
	return fmt.Sprintf("unknown after mode %d", a.Mode)
}

// registeredAt matches the source locations in ServeMux's conflict panics.
var registeredAt = regexp.MustCompile(` \(registered at [^)]*\)`)

// checkPattern registers pattern on mux and reports why it is not usable.
func checkPattern(mux *http.ServeMux, pattern string) (msg string) {
	if strings.TrimSpace(pattern) == "" {
		return "route pattern is empty"
	}
	defer func() {
		if r := recover(); r != nil {
			why := registeredAt.ReplaceAllString(fmt.Sprint(r), "")
			why = strings.ReplaceAll(strings.TrimPrefix(why, "pattern "+strconv.Quote(pattern)+" "), ":\n", ": ")
			why, _, _ = strings.Cut(why, "\n")
			msg = fmt.Sprintf("bad route pattern %q: %s", pattern, why)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return ""
}

// checkStep reports the first problem of a step; chaos steps may not refuse.
func checkStep(st *Step, chaos bool) string {
	if st.Times < 0 {
		return fmt.Sprintf("times %d must be at least 1", st.Times)
	}
	if st.Delay < 0 {
		return fmt.Sprintf("delay %v must not be negative", st.Delay)
	}
	if st.Respond.Status != 0 {
		if m := checkStatus(st.Respond.Status); m != "" {
			return m
		}
	}
	if m := checkHeader(st.Respond.Header); m != "" {
		return m
	}
	if st.Upstream {
		return checkUpstreamStep(st, chaos)
	}
	if st.Fault == "" && st.Respond.Status == 0 {
		return "step has neither respond nor fault"
	}
	return checkFault(st, chaos)
}
