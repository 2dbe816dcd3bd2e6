package apitest

import (
	"errors"
	"fmt"
	"time"

	"github.com/retrylab/retrylab/internal/decode"
	"github.com/retrylab/retrylab/internal/words"

	"github.com/onsi/gomega/types"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// The matchers below accept the actual values the Check functions do (see
// check.go): a *Fixture, a retryclient.Timeline or []retryclient.Attempt,
// a *faultinject.Journal or []faultinject.Call, and, for HaveGivenUpWith,
// an error. Each is a thin wrapper over its Check function: it succeeds
// when the check returns nil, and its failure message is the check's
// CheckError text (without the "apitest: " prefix), ending with the
// timeline.

// matcher wraps a check for Gomega.
type matcher struct {
	check
	problem string
}

func (c check) matcher() types.GomegaMatcher { return &matcher{check: c} }

func (m *matcher) Match(actual any) (bool, error) {
	ev, err := evidenceOf(actual)
	if err != nil {
		return false, err
	}
	m.problem, err = m.test(ev)
	if err != nil {
		return false, err
	}
	return m.problem == "", nil
}

func (m *matcher) FailureMessage(actual any) string {
	return m.failure(actual, m.problem).message()
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
// attempts, or server calls for a journal). See [CheckAttempts].
func HaveAttempts(n int) types.GomegaMatcher { return attemptsCheck(n).matcher() }

// HaveCalls succeeds when the server's route with the given pattern (as
// written in the scenario, e.g. "GET /users/{id}") received exactly n calls.
// Matched against a *Fixture, a route the scenario does not have is an
// error that names the nearest one ("did you mean"), not a count of 0. See
// [CheckCalls].
func HaveCalls(route string, n int) types.GomegaMatcher { return callsCheck(route, n).matcher() }

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
// twice. See [CheckNotRetried].
func HaveNotRetried() types.GomegaMatcher { return notRetriedCheck().matcher() }

// HaveWaited succeeds when the waits between consecutive attempts were
// exactly the given durations, in order, across all requests: the client's
// scheduled delays, or for a journal the observed gaps (exact in virtual
// time; on a TCP fixture up to 100ms longer, never shorter). See
// [CheckWaited].
func HaveWaited(waits ...time.Duration) types.GomegaMatcher { return waitedCheck(waits).matcher() }

// HaveWaitedBetween succeeds when there was at least one wait and every
// wait between attempts lay within [lo, hi] (on a TCP fixture's journal up to
// 100ms above hi). See [CheckWaitedBetween].
func HaveWaitedBetween(lo, hi time.Duration) types.GomegaMatcher {
	return waitedBetweenCheck(lo, hi).matcher()
}

// HaveBackedOffExponentially succeeds when some request was retried at
// least twice and, in every request, the waits that Retry-After did not
// dictate followed the schedule initial·multiplier^(i-1) for retry i,
// capped at max[0] when given: exactly, unless the actual value is a
// *Fixture whose policy jitters, in which case each wait lies within that
// jitter kind's bounds around the schedule (full jitter: between 0 and the
// schedule; see HaveBackedOffWithin). See [CheckBackedOffExponentially].
func HaveBackedOffExponentially(initial time.Duration, multiplier float64, max ...time.Duration) types.GomegaMatcher {
	return exponentialCheck(initial, multiplier, max).matcher()
}

// HaveBackedOffWithin succeeds when some request was retried at least twice
// and every wait that Retry-After did not dictate lies within the bounds b
// gives it ([retryclient.Backoff.Bounds]): exactly b's schedule without
// jitter, [0, schedule] with full jitter, [schedule/2, schedule] with equal
// jitter, [Initial, 3×previous wait] capped with decorrelated jitter,
// schedule×(1±RandomizationFactor) with randomized jitter, [schedule,
// schedule+MaxJitter] with additive jitter, and never below b.Min. See
// [CheckBackedOffWithin].
func HaveBackedOffWithin(b retryclient.Backoff) types.GomegaMatcher { return withinCheck(b).matcher() }

// HaveHonoredRetryAfter succeeds when at least one answer carried
// Retry-After and, within each logical request, after every such answer the
// next attempt came no earlier than asked (observed on the server; in real
// time with a 50ms tolerance). A client that gave up instead of waiting
// honoured it too. See [CheckHonoredRetryAfter].
func HaveHonoredRetryAfter() types.GomegaMatcher { return retryAfterCheck().matcher() }

// HaveSentSameBody succeeds when at least two calls were made and every call
// of each logical request carried a byte-identical body (length and
// SHA-256, as journaled by the server). Calls are split into logical
// requests by the attempt header the fixture's client stamps (see
// faultinject.AttemptHeader), or by route for other clients. See
// [CheckSentSameBody].
func HaveSentSameBody() types.GomegaMatcher { return sameBodyCheck().matcher() }

// HaveSentSameIdempotencyKey succeeds when at least one call was made and
// every call of each logical request carried the same non-empty
// Idempotency-Key (different requests may carry different keys). See
// [CheckSentSameIdempotencyKey].
func HaveSentSameIdempotencyKey() types.GomegaMatcher { return sameKeyCheck().matcher() }

// HaveGivenUpWith succeeds when the client's last attempt ended the
// retries for the given reason (for example retryclient.ReasonMaxAttempts),
// or when the actual error is a *retryclient.GiveUpError with that reason.
// See [CheckGivenUpWith].
func HaveGivenUpWith(reason retryclient.Reason) types.GomegaMatcher {
	return givenUpCheck(reason).matcher()
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
