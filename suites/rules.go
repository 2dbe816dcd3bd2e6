package suites

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/rules"
)

// Rule is one rule of retry behaviour that RetryConformance checks. A Rule
// is a plain value and its Check may run concurrently for different
// subjects (each call starts its own servers). Check is
// framework-free: it returns nil or an error naming the rule, the scenario
// and the server's timeline (or the Promise's inconsistency, see
// [Promise.Validate]). It must run inside a testing/synctest bubble (or
// with a lot of patience): the scenarios wait for seconds.
//
// ctx is the parent of the requests Check sends. Pass a context of the
// same bubble: inside synctest.Test, t.Context() or context.Background();
// in a Ginkgo spec decorated with apitest.VirtualTime, the ctx the spec
// body receives. Never pass a context made outside the bubble (a Ginkgo
// SpecContext, or the outer test's t.Context()): the bubble cannot wait on
// it. Whatever the context, Check closes the response bodies a client
// leaked once the request is over, so a leaking client gets its rule
// violation, not a bubble deadlock.
//
//	synctest.Test(t, func(t *testing.T) {
//		if err := rule.Check(t.Context(), subject); err != nil {
//			t.Error(err)
//		}
//	})
type Rule struct {
	// Name says the rule in a few words; it is the spec's text.
	Name string
	// Universal rules apply to every client; the others only when Applies
	// says the Promise declares what they check.
	Universal bool
	Applies   func(Promise) bool
	Check     func(ctx context.Context, s Subject) error
}

// Rules returns every rule, in the order RetryConformance registers them.
func Rules() []Rule {
	always := func(Promise) bool { return true }
	rs := []Rule{
		{Name: "does not retry a non-transient 4xx", Universal: true, Applies: always, Check: checkNo4xxRetry},
		{Name: "does not retry 501 or 505", Universal: true, Applies: always, Check: checkNo5xxPermanentRetry},
		{Name: "does not retry a POST or PATCH without an Idempotency-Key", Universal: true, Applies: always, Check: checkNoUnkeyedRetry},
		{Name: "waits before every retry", Universal: true, Applies: always, Check: checkWaitsBeforeRetry},
		{Name: "sends the same body and Idempotency-Key on every attempt", Universal: true, Applies: always, Check: checkSameBodyAndKey},
		{Name: "closes the bodies of the responses it discards", Universal: true, Applies: always, Check: checkClosesDiscarded},
		{Name: "stops at once when the caller cancels", Universal: true, Applies: always, Check: checkCancellation},
		{Name: "returns promptly after its last attempt", Universal: true, Applies: always, Check: checkReturnsPromptly},
		{Name: "never makes more attempts than promised", Applies: func(p Promise) bool { return p.MaxAttempts > 0 }, Check: checkAtMostAttempts},
		{Name: "makes the promised attempts on transient failures", Applies: func(p Promise) bool { return p.MaxAttempts > 1 }, Check: checkAtLeastAttempts},
		{Name: "keeps its waits inside the promised envelope", Applies: func(p Promise) bool { _, ok := p.Schedule(); return ok && p.MaxAttempts > 2 }, Check: checkEnvelope},
		{Name: "honours Retry-After in seconds", Applies: func(p Promise) bool { return p.honoursRetryAfter() }, Check: checkRetryAfterSeconds},
		{Name: "honours Retry-After as an HTTP-date", Applies: func(p Promise) bool { return p.RetryAfter && !p.RetryAfterSecondsOnly }, Check: checkRetryAfterDate},
		{Name: "never sleeps beyond its Retry-After cap", Applies: func(p Promise) bool { return p.honoursRetryAfter() && p.RetryAfterCap > 0 }, Check: checkRetryAfterCap},
		{Name: "retries a POST that carries an Idempotency-Key", Applies: func(p Promise) bool { return p.IdempotencyKeys && p.MaxAttempts > 1 }, Check: checkKeyedRetry},
		{Name: "abandons a hung attempt at its attempt timeout", Applies: func(p Promise) bool { return p.AttemptTimeout > 0 && p.MaxAttempts > 1 }, Check: checkAttemptTimeout},
	}
	for i := range rs {
		rs[i].Check = validated(rs[i].Name, rs[i].Check)
	}
	return rs
}

// validated runs check only on a consistent Promise and a subject with a
// client. For an external command, a request the command never sent or a
// command that overran its deadline makes the rule fail with that reason,
// whatever the calls looked like.
func validated(rule string, check func(context.Context, Subject) error) func(context.Context, Subject) error {
	return func(ctx context.Context, s Subject) error {
		if err := s.Promise.Validate(); err != nil {
			return err
		}
		if s.Client == nil && s.Exec == nil {
			return errors.New("suites: the Subject has neither a Client function nor an Exec command")
		}
		if s.Exec == nil {
			return check(ctx, s)
		}
		probs := &problems{}
		ctx = context.WithValue(context.WithValue(ctx, problemsKey{}, probs), ruleKey{}, rule)
		err := check(ctx, s)
		var nc *NotCheckableError
		if errors.As(err, &nc) {
			return err
		}
		if p := probs.first(); p != nil {
			msg := fmt.Sprintf("suites: rule %q broken: %v", rule, p)
			if err != nil {
				if _, timeline, ok := strings.Cut(err.Error(), "\nserver timeline:"); ok {
					msg += "\nserver timeline:" + timeline
				}
			}
			return errors.New(msg)
		}
		return err
	}
}

// exchange is one request sent by a check through the subject.
type exchange struct {
	status int
	err    error
	took   time.Duration
	// returned is when the client returned.
	returned time.Time
	// responses counts the responses the fault server's transport
	// returned; leaked, those the client never closed.
	responses, leaked int
	// deadline is the caller's deadline an external command was given;
	// killed, whether it was still running at the deadline (plus grace).
	deadline time.Time
	killed   bool
}

// request is what a check sends.
type request struct {
	method, path string
	body         []byte
	header       http.Header
	// cancelAfter > 0: the caller cancels this long after sending.
	cancelAfter time.Duration
}

// send sends one request through the subject against a fresh server
// playing s, and returns what happened and the server's calls: over an
// in-memory pipe for a Client (see sendClient), over TCP for an Exec
// (see sendExec).
func send(ctx context.Context, subj Subject, s *faultinject.Scenario, method, path string, body []byte, header http.Header) (*exchange, []faultinject.Call) {
	return sendRequest(ctx, subj, s, request{method: method, path: path, body: body, header: header})
}

func sendRequest(ctx context.Context, subj Subject, s *faultinject.Scenario, req request) (*exchange, []faultinject.Call) {
	if subj.Exec != nil {
		return sendExec(ctx, subj, s, req)
	}
	if req.cancelAfter > 0 {
		cctx, cancel := context.WithCancel(ctx)
		timer := time.AfterFunc(req.cancelAfter, cancel)
		defer cancel()
		defer timer.Stop()
		ctx = cctx
	}
	return sendClient(ctx, subj, s, req.method, req.path, req.body, req.header)
}

// sendClient starts a pipe server for s, builds the subject's client on it,
// sends one request and closes everything: the bodies the client leaked
// too, so their connections do not outlive the request. It returns what
// happened and the server's calls.
func sendClient(ctx context.Context, subj Subject, s *faultinject.Scenario, method, path string, body []byte, header http.Header) (*exchange, []faultinject.Call) {
	srv := faultinject.NewPipeServer(s)
	defer srv.Close()
	tr := &bodyTracker{next: srv.Transport()}
	client := subj.Client(tr)
	x := &exchange{}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		x.err = err
		return x, nil
	}
	for k, v := range header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := client.Do(req)
	x.returned = time.Now()
	x.took = x.returned.Sub(start)
	if err != nil {
		x.err = err
	} else {
		x.status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	x.responses, x.leaked = tr.closeLeaked()
	client.CloseIdleConnections()
	srv.Close()
	if x.leaked > 0 && inBubble() {
		// A leaked response can keep a timer goroutine of the client's own
		// http.Client (its Timeout) waiting: only the client's body wrapper
		// stops it, and nobody closed that. Let the timer fire on the fake
		// clock, so the bubble can end with the rule's violation instead
		// of a deadlock panic.
		time.Sleep(leakGrace)
	}
	return x, srv.Journal().Calls()
}

// leakGrace is how much virtual time passes after a request whose
// response bodies were leaked: longer than any client timeout.
const leakGrace = 24 * time.Hour

// inBubble reports whether the calling goroutine runs inside a
// testing/synctest bubble, whose fake clock starts at midnight UTC on
// 2000-01-01 (a real clock is decades past it, and leakGrace of it does
// not reach 2001).
func inBubble() bool {
	return time.Now().Before(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
}

// violation builds a rule's error: what broke, then the server's timeline
// as faultinject renders it (faultinject.FormatCalls), which shows how long
// each answer took.
func violation(rule, scenario string, calls []faultinject.Call, format string, args ...any) error {
	var b strings.Builder
	fmt.Fprintf(&b, "suites: rule %q broken on scenario %q: ", rule, scenario)
	fmt.Fprintf(&b, format, args...)
	b.WriteString("\nserver timeline:")
	if len(calls) == 0 {
		b.WriteString(" (no calls)")
	} else {
		b.WriteString("\n  ")
		b.WriteString(strings.ReplaceAll(faultinject.FormatCalls(calls), "\n", "\n  "))
	}
	return errors.New(b.String())
}

func scenario(name, route string, steps ...faultinject.StepBuilder) *faultinject.Scenario {
	return faultinject.NewScenario(name).Route(route, steps...).MustBuild()
}

func checkNo4xxRetry(ctx context.Context, subj Subject) error {
	return checkNoRetryOf(ctx, subj, "does not retry a non-transient 4xx", 400, 401, 403, 404, 409, 422)
}

func checkNo5xxPermanentRetry(ctx context.Context, subj Subject) error {
	return checkNoRetryOf(ctx, subj, "does not retry 501 or 505", 501, 505)
}

// checkNoRetryOf checks that each status, followed by a 200 a wrong client
// would reach, gets exactly one call.
func checkNoRetryOf(ctx context.Context, subj Subject, rule string, codes ...int) error {
	for _, code := range codes {
		name := fmt.Sprintf("permanent-%d", code)
		_, calls := send(ctx, subj, scenario(name, "GET /status", faultinject.Status(code), faultinject.Status(200)), "GET", "/status", nil, nil)
		if len(calls) != 1 {
			return violation(rule, name, calls, "a %d was answered, then the client made %d calls in all; want exactly 1", code, len(calls))
		}
	}
	return nil
}

func checkNoUnkeyedRetry(ctx context.Context, subj Subject) error {
	const rule = "does not retry a POST or PATCH without an Idempotency-Key"
	code := subj.Promise.transientStatus(503)
	for _, method := range []string{"POST", "PATCH"} {
		name := "unkeyed-" + strings.ToLower(method)
		s := scenario(name, method+" /orders", faultinject.Status(code), faultinject.Status(201))
		_, calls := send(ctx, subj, s, method, "/orders", []byte(`{"item":42}`), nil)
		if len(calls) < 2 {
			continue
		}
		// A client may make the request retryable by giving it a key of its
		// own; it must then send that key on every attempt.
		for _, c := range calls {
			switch {
			case c.IdempotencyKey == "":
				keys := "none of them under an Idempotency-Key"
				if slices.ContainsFunc(calls, func(c faultinject.Call) bool { return c.IdempotencyKey != "" }) {
					keys = fmt.Sprintf("call #%d without one", c.Seq)
				}
				return violation(rule, name, calls, "a %s sent without Idempotency-Key got a %d and the client sent it %d times, %s; "+
					"a retried %s may apply twice, so want exactly 1 call, or an Idempotency-Key the client adds itself and keeps on every attempt",
					method, code, len(calls), keys, method)
			case c.IdempotencyKey != calls[0].IdempotencyKey:
				return violation(rule, name, calls, "a %s sent without Idempotency-Key got a %d and the client retried it under a key it added, but changed the key: call #%d carried %q, call #%d %q; "+
					"the server can only tell a retry from a new %s by the same key on every attempt",
					method, code, calls[0].Seq, calls[0].IdempotencyKey, c.Seq, c.IdempotencyKey, method)
			}
		}
	}
	return nil
}

// outage answers every request with a status p says the client retries
// (503 unless p narrows its statuses).
func outage(p Promise) *faultinject.Scenario {
	return scenario("outage", "GET /items/{id}", faultinject.Status(p.transientStatus(503, 500, 502, 504)))
}

func checkWaitsBeforeRetry(ctx context.Context, subj Subject) error {
	const rule = "waits before every retry"
	_, calls := send(ctx, subj, outage(subj.Promise), "GET", "/items/1", nil, nil)
	waits, _ := rules.Waits(calls)
	pause := timingOf(subj).pauseFor(subj.Promise)
	for i, w := range waits {
		if w < pause {
			want := "a pause"
			if pause > 1 {
				want = fmt.Sprintf("a pause (over real TCP, a gap under %v counts as none)", pause)
			}
			return violation(rule, "outage", calls, "call #%d came %v after the answer to call #%d; want %s", i+2, w, i+1, want)
		}
	}
	return nil
}

func checkAtMostAttempts(ctx context.Context, subj Subject) error {
	const rule = "never makes more attempts than promised"
	_, calls := send(ctx, subj, outage(subj.Promise), "GET", "/items/1", nil, nil)
	if len(calls) > subj.Promise.MaxAttempts {
		return violation(rule, "outage", calls, "the client made %d attempts; it promised at most %d", len(calls), subj.Promise.MaxAttempts)
	}
	return nil
}

func checkAtLeastAttempts(ctx context.Context, subj Subject) error {
	const rule = "makes the promised attempts on transient failures"
	for _, s := range []*faultinject.Scenario{
		outage(subj.Promise),
		scenario("resets", "GET /items/{id}", faultinject.Reset()),
	} {
		_, calls := send(ctx, subj, s, "GET", "/items/1", nil, nil)
		if len(calls) < subj.Promise.MaxAttempts {
			return violation(rule, s.Name, calls, "the client made %d attempts; it promised %d", len(calls), subj.Promise.MaxAttempts)
		}
	}
	return nil
}

func checkEnvelope(ctx context.Context, subj Subject) error {
	const rule = "keeps its waits inside the promised envelope"
	p := subj.Promise
	b, _ := p.Schedule()
	env := rules.Envelope{Backoff: b}
	runs := 1
	if env.NeedsMeans() {
		runs = 12 // no lower bound per wait (full jitter): check the means
	}
	var all [][]time.Duration
	var last []faultinject.Call
	for range runs {
		_, calls := send(ctx, subj, outage(subj.Promise), "GET", "/items/1", nil, nil)
		waits, _ := rules.Waits(calls)
		if err := env.Check(waits, nil, timingOf(subj).overshoot); err != nil {
			return violation(rule, "outage", calls, "%v", err)
		}
		all, last = append(all, waits), calls
	}
	if runs > 1 {
		if err := env.CheckMeans(all); err != nil {
			return violation(rule, "outage", last, "%v", err)
		}
	}
	return nil
}

func checkRetryAfterSeconds(ctx context.Context, subj Subject) error {
	const rule = "honours Retry-After in seconds"
	asked := timingOf(subj).retryAfterDelta
	return checkRetryAfter(ctx, subj, rule, scenario("retry-after-seconds", "GET /items/{id}",
		faultinject.Status(subj.Promise.transientStatus(429, 503)).RetryAfter(asked), faultinject.Status(200)), asked, 0)
}

func checkRetryAfterDate(ctx context.Context, subj Subject) error {
	const rule = "honours Retry-After as an HTTP-date"
	t := timingOf(subj)
	return checkRetryAfter(ctx, subj, rule, scenario("retry-after-date", "GET /items/{id}",
		faultinject.Status(subj.Promise.transientStatus(503, 429)).RetryAfterDate(t.retryAfterDate), faultinject.Status(200)), t.retryAfterDate, t.dateTolerance)
}

func checkRetryAfter(ctx context.Context, subj Subject, rule string, s *faultinject.Scenario, asked, tolerance time.Duration) error {
	x, calls := send(ctx, subj, s, "GET", "/items/1", nil, nil)
	if limit := subj.Promise.RetryAfterCap; limit > 0 && asked > limit {
		// Above its cap the client must stop at once instead.
		if len(calls) != 1 || x.took >= asked {
			return violation(rule, s.Name, calls, "Retry-After asked for %v, above the promised cap of %v: want one call and a prompt return, got %d calls in %v", asked, limit, len(calls), x.took)
		}
		return nil
	}
	if len(calls) < 2 {
		return violation(rule, s.Name, calls, "the client did not retry after Retry-After")
	}
	if err := rules.HonoredRetryAfter(calls, tolerance); err != nil {
		return violation(rule, s.Name, calls, "%v", err)
	}
	return nil
}

func checkRetryAfterCap(ctx context.Context, subj Subject) error {
	const rule = "never sleeps beyond its Retry-After cap"
	if e := subj.Exec; e != nil && subj.Promise.RetryAfterCap >= e.timeout() {
		return &NotCheckableError{Rule: rule, Reason: fmt.Sprintf("the promised cap of %v is not shorter than a request's deadline (%v): a client keeping it could not be told from one that sleeps for ever", subj.Promise.RetryAfterCap, e.timeout())}
	}
	s := scenario("retry-after-too-long", "GET /items/{id}", faultinject.Status(subj.Promise.transientStatus(503, 429)).RetryAfter(time.Hour), faultinject.Status(200))
	x, calls := send(ctx, subj, s, "GET", "/items/1", nil, nil)
	waits, _ := rules.Waits(calls)
	for i, w := range waits {
		if w > subj.Promise.RetryAfterCap+timingOf(subj).overshoot {
			return violation(rule, s.Name, calls, "wait %d was %v, beyond the promised cap of %v", i+1, w, subj.Promise.RetryAfterCap)
		}
	}
	if x.took >= time.Hour {
		return violation(rule, s.Name, calls, "the client took %v to return after Retry-After asked for an hour; the promised cap is %v", x.took, subj.Promise.RetryAfterCap)
	}
	return nil
}

// keyed is a POST carrying an Idempotency-Key and a body.
var (
	keyedBody   = []byte(`{"order": 7, "items": ["tea", "scones"]}`)
	keyedHeader = http.Header{"Idempotency-Key": {"conformance-key-7"}, "Content-Type": {"application/json"}}
)

func checkSameBodyAndKey(ctx context.Context, subj Subject) error {
	const rule = "sends the same body and Idempotency-Key on every attempt"
	code := subj.Promise.transientStatus(503)
	for _, s := range []*faultinject.Scenario{
		scenario(fmt.Sprintf("keyed-post-%d", code), "POST /orders", faultinject.Status(code).Times(2), faultinject.Status(201)),
		scenario("keyed-post-reset", "POST /orders", faultinject.Reset(), faultinject.Status(201)),
	} {
		_, calls := send(ctx, subj, s, "POST", "/orders", keyedBody, keyedHeader)
		if err := rules.SameBody(calls); err != nil {
			return violation(rule, s.Name, calls, "%v", err)
		}
		if err := rules.SameIdempotencyKey(calls); err != nil {
			return violation(rule, s.Name, calls, "%v", err)
		}
		for _, c := range calls {
			if c.BodyLen != int64(len(keyedBody)) && !c.Abandoned() {
				return violation(rule, s.Name, calls, "call #%d sent %d body bytes, the request had %d", c.Seq, c.BodyLen, len(keyedBody))
			}
		}
	}
	return nil
}

func checkKeyedRetry(ctx context.Context, subj Subject) error {
	const rule = "retries a POST that carries an Idempotency-Key"
	code := subj.Promise.transientStatus(503)
	s := scenario(fmt.Sprintf("keyed-post-%d", code), "POST /orders", faultinject.Status(code), faultinject.Status(201))
	x, calls := send(ctx, subj, s, "POST", "/orders", keyedBody, keyedHeader)
	if len(calls) != 2 || x.status != 201 {
		return violation(rule, s.Name, calls, "want a retry and the 201; the client made %d calls and returned status %d (error %v)", len(calls), x.status, x.err)
	}
	return nil
}

func checkClosesDiscarded(ctx context.Context, subj Subject) error {
	const rule = "closes the bodies of the responses it discards"
	if subj.Exec != nil {
		return &NotCheckableError{Rule: rule, Reason: "whether a client closes a response it discards happens inside its process; " +
			"over TCP the server cannot tell a closed body from one left open while the process lives"}
	}
	code := subj.Promise.transientStatus(503)
	s := scenario(fmt.Sprintf("transient-%d", code), "GET /items/{id}", faultinject.Status(code).Body("try again later").Times(2), faultinject.Status(200).Body("ok"))
	x, calls := send(ctx, subj, s, "GET", "/items/1", nil, nil)
	if x.leaked > 0 {
		return violation(rule, s.Name, calls, "%d of %d responses were never closed", x.leaked, x.responses)
	}
	return nil
}

func checkCancellation(ctx context.Context, subj Subject) error {
	const rule = "stops at once when the caller cancels"
	// The caller gives up while the client is waiting to retry or still
	// waiting for a hung answer: 50ms in on the fake clock; for an
	// external command, at the deadline it was handed.
	t := timingOf(subj)
	for _, s := range []*faultinject.Scenario{
		scenario("outage", "GET /items/{id}", faultinject.Status(subj.Promise.transientStatus(503)).Delay(10*time.Millisecond)),
		scenario("hang", "GET /items/{id}", faultinject.Hang()),
	} {
		x, calls := sendRequest(ctx, subj, s, request{method: "GET", path: "/items/1", cancelAfter: t.cancelAfter})
		if t.real {
			// A command slow to start (an interpreter on a busy machine)
			// may send its first request after the deadline: that says
			// nothing of its retries, so try again with more time.
			late := func() bool { return len(calls) == 0 || calls[0].Start.After(x.deadline) }
			for after := 2 * t.cancelAfter; late() && after <= 4*t.cancelAfter; after *= 2 {
				x, calls = sendRequest(ctx, subj, s, request{method: "GET", path: "/items/1", cancelAfter: after})
			}
			if late() {
				return violation(rule, s.Name, calls, "three times the command sent no request before the caller's deadline, the last time %v after it started: "+
					"nothing can be said of its retries (raise Exec.CancelAfter, or --cancel-after, if it needs longer to start)", 4*t.cancelAfter)
			}
			// The journal judges: no attempt may start after the deadline.
			for _, c := range calls {
				if c.Start.After(x.deadline) {
					how := fmt.Sprintf("the command exited %v after it", roundMs(x.returned.Sub(x.deadline)))
					if x.killed {
						how = fmt.Sprintf("the command was still running %v after it and was killed", ExecGrace)
					}
					return violation(rule, s.Name, calls, "the caller's deadline (RETRYLAB_DEADLINE) passed at +%v on this timeline; call #%d started %v after it; %s",
						roundMs(x.deadline.Sub(calls[0].Start)), c.Seq, roundMs(c.Start.Sub(x.deadline)), how)
				}
			}
			continue
		}
		if x.took < t.cancelAfter {
			continue // the client finished before the caller canceled
		}
		if x.took != t.cancelAfter {
			return violation(rule, s.Name, calls, "the caller canceled after %v, the client returned after %v", t.cancelAfter, x.took)
		}
		if !errors.Is(x.err, context.Canceled) {
			return violation(rule, s.Name, calls, "the client returned %v (status %d); want an error wrapping context.Canceled", x.err, x.status)
		}
		for _, c := range calls {
			if c.Start.Sub(calls[0].Start) > t.cancelAfter {
				return violation(rule, s.Name, calls, "call #%d started after the cancellation", c.Seq)
			}
		}
	}
	return nil
}

func checkReturnsPromptly(ctx context.Context, subj Subject) error {
	const rule = "returns promptly after its last attempt"
	x, calls := send(ctx, subj, outage(subj.Promise), "GET", "/items/1", nil, nil)
	if len(calls) == 0 {
		return violation(rule, "outage", calls, "the client made no call (error %v)", x.err)
	}
	last := calls[len(calls)-1]
	if late := x.returned.Sub(last.End); late > timingOf(subj).overshoot {
		return violation(rule, "outage", calls, "the answer to call #%d, the last, came at +%v, but the client returned only at +%v, %v later: "+
			"it slept after an attempt it would not retry", last.Seq, last.End.Sub(calls[0].Start), x.returned.Sub(calls[0].Start), late)
	}
	return nil
}

func checkAttemptTimeout(ctx context.Context, subj Subject) error {
	const rule = "abandons a hung attempt at its attempt timeout"
	s := scenario("hang-then-success", "GET /items/{id}", faultinject.Hang(), faultinject.Status(200))
	if subj.Exec == nil { // an external command has the deadline of every request
		cctx, cancel := context.WithTimeout(ctx, 10*subj.Promise.AttemptTimeout+time.Minute)
		defer cancel()
		ctx = cctx
	}
	x, calls := send(ctx, subj, s, "GET", "/items/1", nil, nil)
	if len(calls) < 2 || x.status != 200 {
		return violation(rule, s.Name, calls, "want the hung attempt abandoned and a retry answered 200; got %d calls, status %d, error %v", len(calls), x.status, x.err)
	}
	held, overshoot := calls[0].End.Sub(calls[0].Start), timingOf(subj).overshoot
	// Over TCP the server sees the attempt a little after the client's
	// timer started.
	if held < subj.Promise.AttemptTimeout-overshoot/3 || held > subj.Promise.AttemptTimeout+overshoot {
		return violation(rule, s.Name, calls, "the hung attempt was abandoned after %v; the promise is %v", held, subj.Promise.AttemptTimeout)
	}
	return nil
}

// bodyTracker wraps the transport to the fault server and records whether
// each response body was closed.
type bodyTracker struct {
	next   http.RoundTripper
	mu     sync.Mutex
	bodies []*trackedBody
}

type trackedBody struct {
	io.ReadCloser
	mu     sync.Mutex
	closed bool
}

func (b *trackedBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.ReadCloser.Close()
}

func (t *bodyTracker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	tb := &trackedBody{ReadCloser: resp.Body}
	t.mu.Lock()
	t.bodies = append(t.bodies, tb)
	t.mu.Unlock()
	resp.Body = tb
	return resp, nil
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *bodyTracker) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// closeLeaked closes the bodies nobody closed and returns how many
// responses there were and how many of them had been left open.
func (t *bodyTracker) closeLeaked() (responses, leaked int) {
	t.mu.Lock()
	bodies := t.bodies
	t.mu.Unlock()
	for _, b := range bodies {
		b.mu.Lock()
		open := !b.closed
		b.mu.Unlock()
		if open {
			leaked++
			_ = b.Close()
		}
	}
	return len(bodies), leaked
}
