package apitest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/retrylab/retrylab/internal/decode"
	"github.com/retrylab/retrylab/internal/words"

	"github.com/onsi/gomega/types"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/rules"
	"github.com/retrylab/retrylab/retryclient"
)

// The matchers below accept as actual value a *Fixture (client attempts and
// server journal), a retryclient.Timeline or []retryclient.Attempt (client
// attempts only), a *faultinject.Journal or []faultinject.Call (server calls
// only), and, for HaveGivenUpWith, an error. Counts and waits come from the
// client's attempts when there are any (exact scheduled delays, in any
// mode) and from the server's journal otherwise (observed; exact in virtual
// time). Every failure message ends with the timeline.

// realTimeOvershoot is how much longer than scheduled a wait may be
// observed on real sockets. BenchmarkRealTimeWaitOvershoot (faultinject)
// measured loopback gaps on the shared 2-core development machine at
// 0.55–0.65ms over the schedule at the median and 5–23ms at p99 when
// otherwise idle, and, with the cores saturated, 1.5–7ms at the median,
// 17–120ms at p99 and up to 170ms at worst; a matcher fails on any one wait
// out of bounds, so it allows the saturated p99 (README, Performance).
const realTimeOvershoot = 100 * time.Millisecond

// evidence is what a matcher looks at.
type evidence struct {
	attempts retryclient.Timeline
	calls    []faultinject.Call
	haveAtt  bool // attempts are known (possibly none)
	haveJrn  bool // calls are known
	err      error
	realTime bool
	policy   *retryclient.Policy   // the client's policy, when known
	scenario *faultinject.Scenario // the scenario the server played, when known
}

func evidenceOf(actual any) (evidence, error) {
	var ev evidence
	switch a := actual.(type) {
	case *Fixture:
		if a == nil {
			return ev, errors.New("apitest: the actual value is a nil *Fixture")
		}
		ev.attempts, ev.haveAtt = a.Attempts(), true
		ev.calls, ev.haveJrn = a.Journal().Calls(), true
		ev.realTime = a.tcp
		ev.err = a.lastError()
		p := a.policy
		ev.policy = &p
		ev.scenario = a.scenario
	case retryclient.Timeline:
		ev.attempts, ev.haveAtt = a, true
	case []retryclient.Attempt:
		ev.attempts, ev.haveAtt = a, true
	case *faultinject.Journal:
		if a == nil {
			return ev, errors.New("apitest: the actual value is a nil *faultinject.Journal")
		}
		ev.calls, ev.haveJrn = a.Calls(), true
	case []faultinject.Call:
		ev.calls, ev.haveJrn = a, true
	case *retryclient.GiveUpError:
		if a == nil {
			return ev, errors.New("apitest: the actual value is a nil *retryclient.GiveUpError")
		}
		ev.err, ev.attempts, ev.haveAtt = a, a.Timeline, true
	case error:
		ev.err = a
		var gu *retryclient.GiveUpError
		if errors.As(a, &gu) {
			ev.attempts, ev.haveAtt = gu.Timeline, true
		}
	default:
		return ev, fmt.Errorf("apitest: cannot match %T; want a *apitest.Fixture, retryclient.Timeline, []retryclient.Attempt, *faultinject.Journal or []faultinject.Call", actual)
	}
	return ev, nil
}

// count is the number of attempts (client side when known).
func (ev evidence) count() int {
	if ev.haveAtt && (len(ev.attempts) > 0 || !ev.haveJrn) {
		return len(ev.attempts)
	}
	return len(ev.calls)
}

// waits returns the waits between attempts, one slice per logical request:
// the client's scheduled delays when known (a delay counts only when another
// attempt of the same request followed it), the journal's observed gaps
// otherwise. afterRetryAfter marks the waits that followed an answer
// carrying Retry-After. observed says the waits are real-time gaps.
func (ev evidence) waits() (waits [][]time.Duration, afterRetryAfter [][]bool, observed bool) {
	if ev.haveAtt && len(ev.attempts) > 0 {
		index := map[uint64]int{}
		for i, a := range ev.attempts {
			next := i + 1
			for next < len(ev.attempts) && ev.attempts[next].RequestID != a.RequestID {
				next++
			}
			r, ok := index[a.RequestID]
			if !ok {
				r = len(waits)
				index[a.RequestID] = r
				waits, afterRetryAfter = append(waits, nil), append(afterRetryAfter, nil)
			}
			if a.Retry && next < len(ev.attempts) {
				waits[r] = append(waits[r], a.Delay)
				afterRetryAfter[r] = append(afterRetryAfter[r], a.RetryAfterSeen)
			}
		}
		return waits, afterRetryAfter, false
	}
	for _, req := range rules.Requests(ev.calls) {
		w, ra := rules.Waits(req)
		waits, afterRetryAfter = append(waits, w), append(afterRetryAfter, ra)
	}
	return waits, afterRetryAfter, ev.realTime
}

// allWaits flattens waits.
func (ev evidence) allWaits() ([]time.Duration, bool) {
	ws, _, observed := ev.waits()
	var out []time.Duration
	for _, w := range ws {
		out = append(out, w...)
	}
	return out, observed
}

// timelineOf renders what a failure message shows after "Timeline:". It is
// built only for a failure, not on every poll of Eventually.
func timelineOf(actual any) string {
	switch a := actual.(type) {
	case *Fixture:
		return a.GomegaString()
	case retryclient.Timeline:
		return a.String()
	case []retryclient.Attempt:
		return retryclient.Timeline(a).String()
	case *faultinject.Journal:
		return a.GomegaString()
	case []faultinject.Call:
		return faultinject.FormatCalls(a)
	case *retryclient.GiveUpError:
		return a.GomegaString()
	case error:
		var gu *retryclient.GiveUpError
		if errors.As(a, &gu) {
			return gu.GomegaString()
		}
		return a.Error()
	}
	return fmt.Sprint(actual)
}

// matcher is the one implementation behind every matcher of this package.
type matcher struct {
	// desc completes "Expected the retry client to …".
	desc string
	// check returns "" when the expectation holds, or what happened instead.
	check func(ev evidence) (problem string, err error)
	// final reports that the expectation can no longer come true, for
	// Eventually (see types.OracleMatcher).
	final func(ev evidence) bool

	problem string
}

func (m *matcher) Match(actual any) (bool, error) {
	ev, err := evidenceOf(actual)
	if err != nil {
		return false, err
	}
	m.problem, err = m.check(ev)
	if err != nil {
		return false, err
	}
	return m.problem == "", nil
}

func (m *matcher) FailureMessage(actual any) string {
	return fmt.Sprintf("Expected the retry client to %s, but %s.\n\nTimeline:\n%s", m.desc, m.problem, indent(timelineOf(actual)))
}

func (m *matcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected the retry client not to %s, but it did.\n\nTimeline:\n%s", m.desc, indent(timelineOf(actual)))
}

// MatchMayChangeInTheFuture tells Eventually to stop polling once the
// expectation has become impossible (a count already exceeded).
func (m *matcher) MatchMayChangeInTheFuture(actual any) bool {
	if m.final == nil {
		return true
	}
	ev, err := evidenceOf(actual)
	if err != nil {
		return false
	}
	return !m.final(ev)
}

var (
	_ types.GomegaMatcher = (*matcher)(nil)
	_ types.OracleMatcher = (*matcher)(nil)
)

// HaveAttempts succeeds when the client made exactly n attempts (client
// attempts, or server calls for a journal).
func HaveAttempts(n int) types.GomegaMatcher {
	return &matcher{
		desc: fmt.Sprintf("make %s", words.Plural(n, "attempt")),
		check: func(ev evidence) (string, error) {
			if got := ev.count(); got != n {
				return fmt.Sprintf("it made %d", got), nil
			}
			return "", nil
		},
		final: func(ev evidence) bool { return ev.count() > n },
	}
}

// HaveCalls succeeds when the server's route with the given pattern (as
// written in the scenario, e.g. "GET /users/{id}") received exactly n calls.
// Matched against a *Fixture, a route the scenario does not have is an
// error that names the nearest one ("did you mean"), not a count of 0.
func HaveCalls(route string, n int) types.GomegaMatcher {
	count := func(ev evidence) int {
		got := 0
		for _, c := range ev.calls {
			if c.Route == route {
				got++
			}
		}
		return got
	}
	return &matcher{
		desc: fmt.Sprintf("make %s to %s", words.Plural(n, "call"), route),
		check: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveCalls needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if err := knownRoute(ev, route); err != nil {
				return "", err
			}
			if got := count(ev); got != n {
				if got == 0 {
					return "the route received none" + nearestCalled(ev.calls, route), nil
				}
				return fmt.Sprintf("the route received %d", got), nil
			}
			return "", nil
		},
		final: func(ev evidence) bool { return count(ev) > n },
	}
}

// knownRoute returns an error when the scenario is known and has no route
// with the given pattern.
func knownRoute(ev evidence, route string) error {
	if ev.scenario == nil {
		return nil
	}
	var patterns []string
	for _, r := range ev.scenario.Routes {
		if r.Pattern == route {
			return nil
		}
		patterns = append(patterns, r.Pattern)
	}
	msg := fmt.Sprintf("apitest: HaveCalls: scenario %q has no route %q", ev.scenario.Name, route)
	if s := nearest(route, patterns); s != "" {
		return fmt.Errorf("%s (did you mean %q?)", msg, s)
	}
	return fmt.Errorf("%s; its routes are %q", msg, patterns)
}

// nearestCalled suggests, for a route no call matched, the route of a call
// whose pattern is a plausible typo of it ("" when none is).
func nearestCalled(calls []faultinject.Call, route string) string {
	var routes []string
	seen := map[string]bool{}
	for _, c := range calls {
		if c.Route != "" && !seen[c.Route] {
			seen[c.Route] = true
			routes = append(routes, c.Route)
		}
	}
	if s := nearest(route, routes); s != "" {
		return fmt.Sprintf(" (did you mean %q? it received %s)", s, words.Plural(countRoute(calls, s), "call"))
	}
	return ""
}

func countRoute(calls []faultinject.Call, route string) int {
	n := 0
	for _, c := range calls {
		if c.Route == route {
			n++
		}
	}
	return n
}

// nearest returns the candidate word is a plausible typo of, or "": the
// one "did you mean" of RetryLab's messages.
func nearest(word string, candidates []string) string { return decode.Nearest(word, candidates) }

// HaveNotRetried succeeds when no request was attempted more than once: for
// the client, no attempt numbered 2 or more; for a journal, no route called
// twice.
func HaveNotRetried() types.GomegaMatcher {
	retried := func(ev evidence) string {
		if ev.haveAtt && len(ev.attempts) > 0 {
			for i, a := range ev.attempts {
				if a.Number > 1 {
					prev := ev.attempts[i-1]
					return fmt.Sprintf("attempt #%d followed %s (%s)", a.Number, outcome(prev), prev.Reason)
				}
			}
			return ""
		}
		if err := rules.NotRetried(ev.calls); err != nil {
			return err.Error()
		}
		return ""
	}
	return &matcher{
		desc:  "make no retry",
		check: func(ev evidence) (string, error) { return retried(ev), nil },
		final: func(ev evidence) bool { return retried(ev) != "" },
	}
}

// HaveWaited succeeds when the waits between consecutive attempts were
// exactly the given durations, in order, across all requests: the client's
// scheduled delays, or for a journal the observed gaps (exact in virtual
// time; on a TCP fixture up to 100ms longer, never shorter).
func HaveWaited(waits ...time.Duration) types.GomegaMatcher {
	differs := func(ev evidence) (string, bool) {
		got, observed := ev.allWaits()
		tol := tolerance(observed)
		for i, w := range got {
			if i >= len(waits) || w < waits[i] || w > waits[i]+tol {
				return fmt.Sprintf("it waited %v", got), true
			}
		}
		if len(got) != len(waits) {
			return fmt.Sprintf("it waited %v", got), false
		}
		return "", false
	}
	return &matcher{
		desc: fmt.Sprintf("wait %v between attempts", waits),
		check: func(ev evidence) (string, error) {
			p, _ := differs(ev)
			return p, nil
		},
		final: func(ev evidence) bool { _, f := differs(ev); return f },
	}
}

// HaveWaitedBetween succeeds when there was at least one wait and every
// wait between attempts lay within [lo, hi] (on a TCP fixture's journal up to
// 100ms above hi).
func HaveWaitedBetween(lo, hi time.Duration) types.GomegaMatcher {
	outside := func(ev evidence) string {
		got, observed := ev.allWaits()
		for i, w := range got {
			if w < lo || w > hi+tolerance(observed) {
				return fmt.Sprintf("wait %d was %v (all waits: %v)", i+1, w, got)
			}
		}
		return ""
	}
	return &matcher{
		desc: fmt.Sprintf("wait between %v and %v before every retry", lo, hi),
		check: func(ev evidence) (string, error) {
			if lo > hi {
				return "", fmt.Errorf("apitest: HaveWaitedBetween(%v, %v): the lower bound is above the upper one", lo, hi)
			}
			if got, _ := ev.allWaits(); len(got) == 0 {
				return "it made no retry", nil
			}
			return outside(ev), nil
		},
		final: func(ev evidence) bool { return outside(ev) != "" },
	}
}

// tolerance is how much longer than scheduled an observed real-time wait
// may be.
func tolerance(observed bool) time.Duration {
	if observed {
		return realTimeOvershoot
	}
	return 0
}

// retryAfterSlack is how much earlier than Retry-After asked the next call
// may be observed in real time. Scheduling noise only lengthens observed
// waits, so this need not grow with realTimeOvershoot.
func retryAfterSlack(realTime bool) time.Duration {
	if realTime {
		return 50 * time.Millisecond
	}
	return 0
}

// HaveBackedOffExponentially succeeds when some request was retried at
// least twice and, in every request, the waits that Retry-After did not
// dictate followed the schedule initial·multiplier^(i-1) for retry i,
// capped at max[0] when given: exactly, unless the actual value is a
// *Fixture whose policy jitters, in which case each wait lies within that
// jitter kind's bounds around the schedule (full jitter: between 0 and the
// schedule; see HaveBackedOffWithin).
func HaveBackedOffExponentially(initial time.Duration, multiplier float64, max ...time.Duration) types.GomegaMatcher {
	desc := fmt.Sprintf("back off exponentially from %v by ×%v", initial, multiplier)
	b := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: initial, Multiplier: multiplier, Jitter: retryclient.JitterNone}
	if len(max) > 0 {
		b.Max = max[0]
		desc += fmt.Sprintf(" up to %v", b.Max)
	}
	return envelopeMatcher(desc, b, true)
}

// HaveBackedOffWithin succeeds when some request was retried at least twice
// and every wait that Retry-After did not dictate lies within the bounds b
// gives it ([retryclient.Backoff.Bounds]): exactly b's schedule without
// jitter, [0, schedule] with full jitter, [schedule/2, schedule] with equal
// jitter, [Initial, 3×previous wait] capped with decorrelated jitter,
// schedule×(1±RandomizationFactor) with randomized jitter, [schedule,
// schedule+MaxJitter] with additive jitter, and never below b.Min.
func HaveBackedOffWithin(b retryclient.Backoff) types.GomegaMatcher {
	return envelopeMatcher(fmt.Sprintf("back off within %s %v·%v ≤ %v %s", b.Kind, b.Initial, b.Multiplier, b.Max, rules.JitterPhrase(b)), b, false)
}

func envelopeMatcher(desc string, b retryclient.Backoff, jitterFromPolicy bool) types.GomegaMatcher {
	b = rules.Normalize(b)
	if err := b.Validate(); err != nil {
		return &matcher{desc: desc, check: func(evidence) (string, error) {
			return "", fmt.Errorf("apitest: %s", strings.TrimPrefix(err.Error(), "retryclient: "))
		}}
	}
	return &matcher{
		desc: desc,
		check: func(ev evidence) (string, error) {
			e := rules.Envelope{Backoff: b}
			if jitterFromPolicy && ev.policy != nil {
				pb := ev.policy.Backoff
				e.Backoff.Jitter, e.Backoff.RandomizationFactor, e.Backoff.MaxJitter, e.Backoff.Min = pb.Jitter, pb.RandomizationFactor, pb.MaxJitter, pb.Min
			}
			ws, ra, observed := ev.waits()
			most := 0
			for _, w := range ws {
				most = max(most, len(w))
			}
			if most < 2 {
				return fmt.Sprintf("it made %s, too few to show a growth", words.Plural(most, "retry")), nil
			}
			for r := range ws {
				if err := e.Check(ws[r], ra[r], tolerance(observed)); err != nil {
					if len(ws) > 1 {
						return fmt.Sprintf("in request %d, %v", r+1, err), nil
					}
					return err.Error(), nil
				}
			}
			return "", nil
		},
	}
}

// HaveHonoredRetryAfter succeeds when at least one answer carried
// Retry-After and, within each logical request, after every such answer the
// next attempt came no earlier than asked (observed on the server; in real
// time with a 50ms tolerance). A client that gave up instead of waiting
// honoured it too.
func HaveHonoredRetryAfter() types.GomegaMatcher {
	return &matcher{
		desc: "honour Retry-After",
		final: func(ev evidence) bool {
			return ev.haveJrn && rules.HonoredRetryAfter(ev.calls, retryAfterSlack(ev.realTime)) != nil
		},
		check: func(ev evidence) (string, error) {
			if ev.haveJrn {
				seen := false
				for _, c := range ev.calls {
					if _, ok := rules.RetryAfter(c); ok {
						seen = true
					}
				}
				if !seen {
					return "no answer carried a Retry-After header", nil
				}
				tol := retryAfterSlack(ev.realTime)
				if err := rules.HonoredRetryAfter(ev.calls, tol); err != nil {
					return err.Error(), nil
				}
				return "", nil
			}
			seen := false
			for _, a := range ev.attempts {
				if !a.RetryAfterSeen {
					continue
				}
				seen = true
				if a.Retry && a.Delay < a.RetryAfter {
					return fmt.Sprintf("attempt #%d was answered with Retry-After %v and the client waited only %v", a.Number, a.RetryAfter, a.Delay), nil
				}
			}
			if !seen {
				return "no answer carried a Retry-After header", nil
			}
			return "", nil
		},
	}
}

// HaveSentSameBody succeeds when at least two calls were made and every call
// of each logical request carried a byte-identical body (length and
// SHA-256, as journaled by the server). Calls are split into logical
// requests by the attempt header the fixture's client stamps (see
// faultinject.AttemptHeader), or by route for other clients.
func HaveSentSameBody() types.GomegaMatcher {
	return &matcher{
		desc:  "send the same body on every attempt",
		final: func(ev evidence) bool { return rules.SameBody(ev.calls) != nil },
		check: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveSentSameBody needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if len(ev.calls) < 2 {
				return fmt.Sprintf("the server received %s, nothing to compare", words.Plural(len(ev.calls), "call")), nil
			}
			if err := rules.SameBody(ev.calls); err != nil {
				return err.Error(), nil
			}
			return "", nil
		},
	}
}

// HaveSentSameIdempotencyKey succeeds when at least one call was made and
// every call of each logical request carried the same non-empty
// Idempotency-Key (different requests may carry different keys).
func HaveSentSameIdempotencyKey() types.GomegaMatcher {
	return &matcher{
		desc:  "send the same Idempotency-Key on every attempt",
		final: func(ev evidence) bool { return rules.SameIdempotencyKey(ev.calls) != nil },
		check: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveSentSameIdempotencyKey needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if len(ev.calls) == 0 {
				return "the server received no call", nil
			}
			if err := rules.SameIdempotencyKey(ev.calls); err != nil {
				return err.Error(), nil
			}
			return "", nil
		},
	}
}

// HaveGivenUpWith succeeds when the client's last attempt ended the
// retries for the given reason (for example retryclient.ReasonMaxAttempts),
// or when the actual error is a *retryclient.GiveUpError with that reason.
func HaveGivenUpWith(reason retryclient.Reason) types.GomegaMatcher {
	return &matcher{
		desc: fmt.Sprintf("give up with reason %q", reason),
		check: func(ev evidence) (string, error) {
			var gu *retryclient.GiveUpError
			if ev.err != nil && errors.As(ev.err, &gu) {
				if gu.Reason != reason {
					return fmt.Sprintf("it gave up with %q", gu.Reason), nil
				}
				return "", nil
			}
			if ev.err != nil {
				return fmt.Sprintf("the error is not a *retryclient.GiveUpError: %v", ev.err), nil
			}
			if !ev.haveAtt || len(ev.attempts) == 0 {
				if !ev.haveAtt {
					return "", errors.New("apitest: HaveGivenUpWith needs the client's attempts: match a *Fixture, a retryclient.Timeline or an error")
				}
				return "it made no attempt", nil
			}
			last := ev.attempts[len(ev.attempts)-1]
			switch {
			case last.Retry:
				return fmt.Sprintf("it was still retrying after attempt #%d", last.Number), nil
			case last.Reason != reason:
				return fmt.Sprintf("it stopped with %q", last.Reason), nil
			}
			return "", nil
		},
	}
}

// Verify applies m to actual and returns nil on a match, or an error whose
// message is "apitest: " and the failure message: the matchers' power for
// plain go test.
//
//	if err := apitest.Verify(fx, apitest.HaveAttempts(3)); err != nil {
//		t.Fatal(err)
//	}
func Verify(actual any, m types.GomegaMatcher) error {
	ok, err := m.Match(actual)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("apitest: " + m.FailureMessage(actual))
	}
	return nil
}

// outcome describes an attempt's result.
func outcome(a retryclient.Attempt) string {
	switch {
	case a.Err != nil:
		return fmt.Sprintf("an error (%s)", a.ErrClass)
	case a.Status != 0:
		return fmt.Sprintf("a %d", a.Status)
	}
	return "no response"
}
