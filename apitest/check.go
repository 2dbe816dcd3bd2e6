package apitest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/rules"
	"github.com/retrylab/retrylab/internal/words"
	"github.com/retrylab/retrylab/retryclient"
)

// The Check functions below are the logic of the matchers, for plain go
// test and any other caller: each returns nil when the retry behaviour it
// checks happened, a *CheckError saying what happened instead when it did
// not, and another error when it cannot check the value given (a type it
// does not read, a bound that makes no sense).
//
// Each Check function accepts as actual value a *Fixture (client attempts
// and server journal), a retryclient.Timeline or []retryclient.Attempt
// (client attempts only), a *faultinject.Journal or []faultinject.Call
// (server calls only), or an error (a *retryclient.GiveUpError carries the
// client's attempts). Counts and waits come from the client's attempts when
// there are any (exact scheduled delays, in any mode) and from the server's
// journal otherwise (observed; exact in virtual time).
//
// Each matcher is its Check function's thin wrapper: its failure message
// is the CheckError's text without the "apitest: " prefix.

// CheckError is the error a Check function returns when the retry
// behaviour it checks did not happen. Its text, like a matcher's failure
// message, says what was expected and what happened instead, then shows
// the timeline:
//
//	apitest: Expected the retry client to make 2 attempts, but it made 3.
//
//	Timeline:
//	  #1 +0s GET /users/1 → 503 · retry in 100ms (retryable-status)
//	  ...
type CheckError struct {
	// Expected completes "Expected the retry client to …", e.g.
	// "make 2 attempts".
	Expected string
	// Problem says what happened instead, e.g. "it made 3".
	Problem string
	// Timeline renders the evidence checked: the client's attempts, the
	// server's journal, or both.
	Timeline string
}

// Error returns "apitest: " followed by the message a matcher prints.
func (e *CheckError) Error() string { return "apitest: " + e.message() }

// message is the text of a matcher's failure message.
func (e *CheckError) message() string {
	return fmt.Sprintf("Expected the retry client to %s, but %s.\n\nTimeline:\n%s", e.Expected, e.Problem, indent(e.Timeline))
}

// check is one expectation: the logic behind a Check function and its
// matcher.
type check struct {
	// desc completes "Expected the retry client to …".
	desc string
	// test returns "" when the expectation holds, or what happened
	// instead; an error when it cannot check the evidence.
	test func(ev evidence) (problem string, err error)
	// final reports that the expectation can no longer come true, for
	// Eventually (see types.OracleMatcher); nil means it always may.
	final func(ev evidence) bool
}

// run checks actual and returns nil, a *CheckError or the error that kept
// it from checking.
func (c check) run(actual any) error {
	ev, err := evidenceOf(actual)
	if err != nil {
		return err
	}
	problem, err := c.test(ev)
	if err != nil || problem == "" {
		return err
	}
	return c.failure(actual, problem)
}

// failure builds the CheckError for a problem found in actual. The
// timeline is rendered only here, not on every poll of Eventually.
func (c check) failure(actual any, problem string) *CheckError {
	return &CheckError{Expected: c.desc, Problem: problem, Timeline: timelineOf(actual)}
}

// CheckAttempts checks that the client made exactly n attempts (client
// attempts, or server calls for a journal). See [HaveAttempts].
func CheckAttempts(actual any, n int) error { return attemptsCheck(n).run(actual) }

func attemptsCheck(n int) check {
	return check{
		desc: fmt.Sprintf("make %s", words.Plural(n, "attempt")),
		test: func(ev evidence) (string, error) {
			if got := ev.count(); got != n {
				return fmt.Sprintf("it made %d", got), nil
			}
			return "", nil
		},
		final: func(ev evidence) bool { return ev.count() > n },
	}
}

// CheckCalls checks that the server's route with the given pattern (as
// written in the scenario, e.g. "GET /users/{id}") received exactly n
// calls. It needs the server's journal: a *Fixture, a *faultinject.Journal
// or []faultinject.Call. For a *Fixture, a route its scenario does not have
// is an error that names the nearest one, not a count of 0. See
// [HaveCalls].
func CheckCalls(actual any, route string, n int) error { return callsCheck(route, n).run(actual) }

func callsCheck(route string, n int) check {
	return check{
		desc: fmt.Sprintf("make %s to %s", words.Plural(n, "call"), route),
		test: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveCalls needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if err := knownRoute(ev, route); err != nil {
				return "", err
			}
			switch got := countRoute(ev.calls, route); {
			case got == n:
				return "", nil
			case got == 0:
				return "the route received none" + nearestCalled(ev.calls, route), nil
			default:
				return fmt.Sprintf("the route received %d", got), nil
			}
		},
		final: func(ev evidence) bool { return countRoute(ev.calls, route) > n },
	}
}

// CheckNotRetried checks that no request was attempted more than once: for
// the client, no attempt numbered 2 or more; for a journal, no logical
// request sent twice. See [HaveNotRetried].
func CheckNotRetried(actual any) error { return notRetriedCheck().run(actual) }

func notRetriedCheck() check {
	retried := func(ev evidence) string {
		if err := ev.notRetried(); err != nil {
			return err.Error()
		}
		return ""
	}
	return check{
		desc:  "make no retry",
		test:  func(ev evidence) (string, error) { return retried(ev), nil },
		final: func(ev evidence) bool { return retried(ev) != "" },
	}
}

// CheckWaited checks that the waits between consecutive attempts were
// exactly the given durations, in order, across all requests: the client's
// scheduled delays, or for a journal the observed gaps (exact in virtual
// time; on a TCP fixture up to 100ms longer, never shorter). See
// [HaveWaited].
func CheckWaited(actual any, waits ...time.Duration) error { return waitedCheck(waits).run(actual) }

func waitedCheck(waits []time.Duration) check {
	differs := func(ev evidence) (problem string, final bool) {
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
	return check{
		desc: fmt.Sprintf("wait %v between attempts", waits),
		test: func(ev evidence) (string, error) {
			p, _ := differs(ev)
			return p, nil
		},
		final: func(ev evidence) bool { _, f := differs(ev); return f },
	}
}

// CheckWaitedBetween checks that there was at least one wait and that
// every wait between attempts lay within [lo, hi] (on a TCP fixture's
// journal up to 100ms above hi). See [HaveWaitedBetween].
func CheckWaitedBetween(actual any, lo, hi time.Duration) error {
	return waitedBetweenCheck(lo, hi).run(actual)
}

func waitedBetweenCheck(lo, hi time.Duration) check {
	outside := func(ev evidence) string {
		got, observed := ev.allWaits()
		for i, w := range got {
			if w < lo || w > hi+tolerance(observed) {
				return fmt.Sprintf("wait %d was %v (all waits: %v)", i+1, w, got)
			}
		}
		return ""
	}
	return check{
		desc: fmt.Sprintf("wait between %v and %v before every retry", lo, hi),
		test: func(ev evidence) (string, error) {
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

// CheckBackedOffExponentially checks that some request was retried at
// least twice and that, in every request, the waits that Retry-After did
// not dictate followed the schedule initial·multiplier^(i-1) for retry i,
// capped at max[0] when given: exactly, unless the actual value is a
// *Fixture whose policy jitters, in which case each wait lies within that
// jitter kind's bounds around the schedule. See
// [HaveBackedOffExponentially].
func CheckBackedOffExponentially(actual any, initial time.Duration, multiplier float64, max ...time.Duration) error {
	return exponentialCheck(initial, multiplier, max).run(actual)
}

func exponentialCheck(initial time.Duration, multiplier float64, max []time.Duration) check {
	desc := fmt.Sprintf("back off exponentially from %v by ×%v", initial, multiplier)
	b := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: initial, Multiplier: multiplier, Jitter: retryclient.JitterNone}
	if len(max) > 0 {
		b.Max = max[0]
		desc += fmt.Sprintf(" up to %v", b.Max)
	}
	return envelopeCheck(desc, b, true)
}

// CheckBackedOffWithin checks that some request was retried at least twice
// and that every wait that Retry-After did not dictate lies within the
// bounds b gives it ([retryclient.Backoff.Bounds]). See
// [HaveBackedOffWithin].
func CheckBackedOffWithin(actual any, b retryclient.Backoff) error {
	return withinCheck(b).run(actual)
}

func withinCheck(b retryclient.Backoff) check {
	return envelopeCheck(fmt.Sprintf("back off within %s %v·%v ≤ %v %s", b.Kind, b.Initial, b.Multiplier, b.Max, rules.JitterPhrase(b)), b, false)
}

// envelopeCheck checks the waits of every request against b's bounds;
// jitterFromPolicy takes the jitter from a Fixture's policy.
func envelopeCheck(desc string, b retryclient.Backoff, jitterFromPolicy bool) check {
	b = rules.Normalize(b)
	if err := b.Validate(); err != nil {
		return check{desc: desc, test: func(evidence) (string, error) {
			return "", fmt.Errorf("apitest: %s", strings.TrimPrefix(err.Error(), "retryclient: "))
		}}
	}
	return check{
		desc: desc,
		test: func(ev evidence) (string, error) {
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

// CheckHonoredRetryAfter checks that at least one answer carried
// Retry-After and that, within each logical request, after every such
// answer the next attempt came no earlier than asked (observed on the
// server when the journal is known, in real time with a 50ms tolerance;
// the client's scheduled delay otherwise). A client that gave up instead
// of waiting honoured it too. See [HaveHonoredRetryAfter].
func CheckHonoredRetryAfter(actual any) error { return retryAfterCheck().run(actual) }

func retryAfterCheck() check {
	return check{
		desc: "honour Retry-After",
		test: func(ev evidence) (string, error) {
			seen, err := ev.honoredRetryAfter()
			switch {
			case err != nil:
				return err.Error(), nil
			case !seen:
				return "no answer carried a Retry-After header", nil
			}
			return "", nil
		},
		final: func(ev evidence) bool { _, err := ev.honoredRetryAfter(); return err != nil },
	}
}

// CheckSentSameBody checks that at least two calls were made and that
// every call of each logical request carried a byte-identical body (length
// and SHA-256, as journaled by the server). It needs the server's journal.
// See [HaveSentSameBody].
func CheckSentSameBody(actual any) error { return sameBodyCheck().run(actual) }

func sameBodyCheck() check {
	return check{
		desc:  "send the same body on every attempt",
		final: func(ev evidence) bool { return rules.SameBody(ev.calls) != nil },
		test: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveSentSameBody needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if len(ev.calls) < 2 {
				return fmt.Sprintf("the server received %s, nothing to compare", words.Plural(len(ev.calls), "call")), nil
			}
			return problemOf(rules.SameBody(ev.calls)), nil
		},
	}
}

// CheckSentSameIdempotencyKey checks that at least one call was made and
// that every call of each logical request carried the same non-empty
// Idempotency-Key (different requests may carry different keys). It needs
// the server's journal. See [HaveSentSameIdempotencyKey].
func CheckSentSameIdempotencyKey(actual any) error { return sameKeyCheck().run(actual) }

func sameKeyCheck() check {
	return check{
		desc:  "send the same Idempotency-Key on every attempt",
		final: func(ev evidence) bool { return rules.SameIdempotencyKey(ev.calls) != nil },
		test: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveSentSameIdempotencyKey needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if len(ev.calls) == 0 {
				return "the server received no call", nil
			}
			return problemOf(rules.SameIdempotencyKey(ev.calls)), nil
		},
	}
}

// CheckGivenUpWith checks that the client's last attempt ended the retries
// for the given reason (for example retryclient.ReasonMaxAttempts), or that
// the actual error is a *retryclient.GiveUpError with that reason. See
// [HaveGivenUpWith].
func CheckGivenUpWith(actual any, reason retryclient.Reason) error {
	return givenUpCheck(reason).run(actual)
}

func givenUpCheck(reason retryclient.Reason) check {
	return check{
		desc: fmt.Sprintf("give up with reason %q", reason),
		test: func(ev evidence) (string, error) {
			var gu *retryclient.GiveUpError
			switch {
			case ev.err != nil && errors.As(ev.err, &gu):
				if gu.Reason != reason {
					return fmt.Sprintf("it gave up with %q", gu.Reason), nil
				}
				return "", nil
			case ev.err != nil:
				return fmt.Sprintf("the error is not a *retryclient.GiveUpError: %v", ev.err), nil
			case !ev.haveAtt:
				return "", errors.New("apitest: HaveGivenUpWith needs the client's attempts: match a *Fixture, a retryclient.Timeline or an error")
			case len(ev.attempts) == 0:
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

// problemOf is err's text, "" for nil.
func problemOf(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// realTimeOvershoot is how much longer than scheduled a wait may be
// observed on real sockets. BenchmarkRealTimeWaitOvershoot (faultinject)
// measured loopback gaps on the shared 2-core development machine at
// 0.55–0.65ms over the schedule at the median and 5–23ms at p99 when
// otherwise idle, and, with the cores saturated, 1.5–7ms at the median,
// 17–120ms at p99 and up to 170ms at worst; a check fails on any one wait
// out of bounds, so it allows the saturated p99 (README, Performance).
const realTimeOvershoot = 100 * time.Millisecond

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

// evidence is what a check looks at.
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

// clientSide reports whether a check reads the client's attempts: they are
// known, and there are some or there is no journal to read instead.
func (ev evidence) clientSide() bool {
	return ev.haveAtt && (len(ev.attempts) > 0 || !ev.haveJrn)
}

// count is the number of attempts (client side when known).
func (ev evidence) count() int {
	if ev.clientSide() {
		return len(ev.attempts)
	}
	return len(ev.calls)
}

// notRetried checks that no request was sent twice.
func (ev evidence) notRetried() error {
	if ev.clientSide() {
		return rules.AttemptsNotRetried(ev.attempts)
	}
	return rules.NotRetried(ev.calls)
}

// honoredRetryAfter reports whether some answer carried a Retry-After and
// checks it was honoured: on the server's side when the journal is known
// (observed waits), on the client's otherwise (scheduled delays).
func (ev evidence) honoredRetryAfter() (seen bool, err error) {
	if ev.haveJrn {
		seen = slices.ContainsFunc(ev.calls, func(c faultinject.Call) bool { _, ok := rules.RetryAfter(c); return ok })
		return seen, rules.HonoredRetryAfter(ev.calls, retryAfterSlack(ev.realTime))
	}
	seen = slices.ContainsFunc(ev.attempts, func(a retryclient.Attempt) bool { return a.RetryAfterSeen })
	return seen, rules.AttemptsHonoredRetryAfter(ev.attempts)
}

// waits returns the waits between attempts, one slice per logical request:
// the client's scheduled delays when known, the journal's observed gaps
// otherwise. afterRetryAfter marks the waits that followed an answer
// carrying Retry-After. observed says the waits are real-time gaps.
func (ev evidence) waits() (waits [][]time.Duration, afterRetryAfter [][]bool, observed bool) {
	if ev.haveAtt && len(ev.attempts) > 0 {
		waits, afterRetryAfter = rules.AttemptWaits(ev.attempts)
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
	return slices.Concat(ws...), observed
}

// timelineOf renders the evidence in actual for a failure.
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
