package apitest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

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

// realTimeTolerance is how much earlier than asked a retry may be observed
// on real sockets before HaveHonoredRetryAfter fails.
const realTimeTolerance = 50 * time.Millisecond

// evidence is what a matcher looks at.
type evidence struct {
	attempts retryclient.Timeline
	calls    []faultinject.Call
	haveAtt  bool // attempts are known (possibly none)
	haveJrn  bool // calls are known
	err      error
	realTime bool
	timeline string
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
		ev.timeline = a.GomegaString()
	case retryclient.Timeline:
		ev.attempts, ev.haveAtt, ev.timeline = a, true, a.String()
	case []retryclient.Attempt:
		ev.attempts, ev.haveAtt, ev.timeline = a, true, retryclient.Timeline(a).String()
	case *faultinject.Journal:
		if a == nil {
			return ev, errors.New("apitest: the actual value is a nil *faultinject.Journal")
		}
		ev.calls, ev.haveJrn, ev.timeline = a.Calls(), true, a.GomegaString()
	case []faultinject.Call:
		ev.calls, ev.haveJrn = a, true
		var b strings.Builder
		for _, c := range a {
			fmt.Fprintf(&b, "#%d %s %s → %s %d\n", c.Seq, c.Method, c.Path, c.Action, c.Status)
		}
		ev.timeline = b.String()
	case *retryclient.GiveUpError:
		if a == nil {
			return ev, errors.New("apitest: the actual value is a nil *retryclient.GiveUpError")
		}
		ev.err, ev.attempts, ev.haveAtt, ev.timeline = a, a.Timeline, true, a.GomegaString()
	case error:
		ev.err, ev.timeline = a, a.Error()
		var gu *retryclient.GiveUpError
		if errors.As(a, &gu) {
			ev.attempts, ev.haveAtt, ev.timeline = gu.Timeline, true, gu.GomegaString()
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

// waits returns the waits between attempts: the client's scheduled delays
// when known, the journal's observed gaps otherwise. afterRetryAfter marks
// the waits that followed an answer carrying Retry-After.
func (ev evidence) waits() (waits []time.Duration, afterRetryAfter []bool) {
	if ev.haveAtt && len(ev.attempts) > 0 {
		for _, a := range ev.attempts {
			if a.Retry {
				waits = append(waits, a.Delay)
				afterRetryAfter = append(afterRetryAfter, a.RetryAfterSeen)
			}
		}
		return waits, afterRetryAfter
	}
	waits = rules.Waits(ev.calls)
	for i := range waits {
		_, ra := rules.RetryAfter(ev.calls[i])
		afterRetryAfter = append(afterRetryAfter, ra)
	}
	return waits, afterRetryAfter
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

	problem  string
	timeline string
}

func (m *matcher) Match(actual any) (bool, error) {
	ev, err := evidenceOf(actual)
	if err != nil {
		return false, err
	}
	m.timeline = ev.timeline
	m.problem, err = m.check(ev)
	if err != nil {
		return false, err
	}
	return m.problem == "", nil
}

func (m *matcher) FailureMessage(any) string {
	return fmt.Sprintf("Expected the retry client to %s, but %s.\n\nTimeline:\n%s", m.desc, m.problem, indent(m.timeline))
}

func (m *matcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("Expected the retry client not to %s, but it did.\n\nTimeline:\n%s", m.desc, indent(m.timeline))
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
		desc: fmt.Sprintf("make %s", plural(n, "attempt")),
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
func HaveCalls(route string, n int) types.GomegaMatcher {
	return &matcher{
		desc: fmt.Sprintf("make %s to %s", plural(n, "call"), route),
		check: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveCalls needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			got := 0
			for _, c := range ev.calls {
				if c.Route == route {
					got++
				}
			}
			if got != n {
				return fmt.Sprintf("the route received %d", got), nil
			}
			return "", nil
		},
		final: func(ev evidence) bool {
			got := 0
			for _, c := range ev.calls {
				if c.Route == route {
					got++
				}
			}
			return got > n
		},
	}
}

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
// exactly the given durations, in order (the client's scheduled delays; for
// a journal, the observed gaps).
func HaveWaited(waits ...time.Duration) types.GomegaMatcher {
	return &matcher{
		desc: fmt.Sprintf("wait %v between attempts", waits),
		check: func(ev evidence) (string, error) {
			got, _ := ev.waits()
			if !slices.Equal(got, waits) {
				return fmt.Sprintf("it waited %v", got), nil
			}
			return "", nil
		},
	}
}

// HaveWaitedBetween succeeds when there was at least one wait and every
// wait between attempts lay within [lo, hi].
func HaveWaitedBetween(lo, hi time.Duration) types.GomegaMatcher {
	return &matcher{
		desc: fmt.Sprintf("wait between %v and %v before every retry", lo, hi),
		check: func(ev evidence) (string, error) {
			got, _ := ev.waits()
			if len(got) == 0 {
				return "it made no retry", nil
			}
			for i, w := range got {
				if w < lo || w > hi {
					return fmt.Sprintf("wait %d was %v (all waits: %v)", i+1, w, got), nil
				}
			}
			return "", nil
		},
	}
}

// HaveBackedOffExponentially succeeds when there were at least two retries
// and every wait not dictated by Retry-After was positive and inside the
// exponential envelope: wait i (from 1) at most initial·multiplier^(i-1),
// capped at max[0] when given. Full and equal jitter stay inside the
// envelope; use HaveWaited to pin the exact values of a schedule without
// jitter.
func HaveBackedOffExponentially(initial time.Duration, multiplier float64, max ...time.Duration) types.GomegaMatcher {
	desc := fmt.Sprintf("back off exponentially from %v by ×%v", initial, multiplier)
	var limit time.Duration
	if len(max) > 0 {
		limit = max[0]
		desc += fmt.Sprintf(" up to %v", limit)
	}
	return &matcher{
		desc: desc,
		check: func(ev evidence) (string, error) {
			got, ra := ev.waits()
			if len(got) < 2 {
				return fmt.Sprintf("it made %s, too few to show a growth", plural(len(got), "retry")), nil
			}
			for i, w := range got {
				if ra[i] {
					continue
				}
				env := float64(initial) * math.Pow(multiplier, float64(i))
				if limit > 0 && env > float64(limit) {
					env = float64(limit)
				}
				if w <= 0 || float64(w) > env {
					return fmt.Sprintf("wait %d was %v, outside (0, %v] (all waits: %v)", i+1, w, time.Duration(env), got), nil
				}
			}
			return "", nil
		},
	}
}

// HaveHonoredRetryAfter succeeds when at least one answer carried
// Retry-After and, after every such answer, the next attempt came no
// earlier than asked (observed on the server; in real time with a 50ms
// tolerance). A client that gave up instead of waiting honoured it too.
func HaveHonoredRetryAfter() types.GomegaMatcher {
	return &matcher{
		desc: "honour Retry-After",
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
				tol := time.Duration(0)
				if ev.realTime {
					tol = realTimeTolerance
				}
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
					return fmt.Sprintf("attempt #%d was answered with Retry-After %v but the client waited %v", a.Number, a.RetryAfter, a.Delay), nil
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
// of each route carried a byte-identical body (length and SHA-256, as
// journaled by the server).
func HaveSentSameBody() types.GomegaMatcher {
	return &matcher{
		desc: "send the same body on every attempt",
		check: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveSentSameBody needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			if len(ev.calls) < 2 {
				return fmt.Sprintf("the server received %s, nothing to compare", plural(len(ev.calls), "call")), nil
			}
			if err := rules.SameBody(ev.calls); err != nil {
				return err.Error(), nil
			}
			return "", nil
		},
	}
}

// HaveSentSameIdempotencyKey succeeds when at least one call was made and
// every call of each route carried the same non-empty Idempotency-Key.
func HaveSentSameIdempotencyKey() types.GomegaMatcher {
	return &matcher{
		desc: "send the same Idempotency-Key on every attempt",
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
// message is the failure message: the matchers' power for plain go test.
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
		return errors.New(m.FailureMessage(actual))
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

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}
