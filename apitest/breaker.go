package apitest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// HaveTrippedBreaker succeeds when the server's journal shows a circuit
// breaker at work in front of it, as sony/gobreaker's TwoStepCircuitBreaker
// with ReadyToTrip on failures consecutive failures and Timeout openFor
// behaves (see [retryclient.WithBreaker]):
//   - the breaker opened: some failures calls failed in a row (an answer
//     with a status the client retries, or no answer);
//   - while open, no call reached the server: the client failed fast for
//     openFor after the call that opened it;
//   - half-open, one trial call at a time: no other call started while the
//     trial was being served; a failed trial opened the breaker again for
//     openFor, a successful one closed it.
//
// Failures are counted in the order calls started, which is the order a
// breaker sees them when calls do not overlap; with concurrent calls it
// may differ from the breaker's (completion) order. In real time (WithTCP)
// the open window may end up to 100ms early or late. failures must be at
// least 1 and openFor positive.
// It needs the server's journal; the statuses the client retries are the
// fixture's policy's, or retryclient's defaults for a bare journal.
func HaveTrippedBreaker(failures int, openFor time.Duration) types.GomegaMatcher {
	return trippedBreakerCheck(failures, openFor).matcher()
}

// CheckTrippedBreaker is [HaveTrippedBreaker] for plain go test: nil, or a
// [*CheckError] naming the first call a breaker with these settings would
// not have let through.
func CheckTrippedBreaker(actual any, failures int, openFor time.Duration) error {
	return trippedBreakerCheck(failures, openFor).run(actual)
}

func trippedBreakerCheck(failures int, openFor time.Duration) check {
	return check{
		desc: fmt.Sprintf("open its circuit breaker after %d consecutive failures, fail fast for %v, then send one trial at a time", failures, openFor),
		test: func(ev evidence) (string, error) {
			if failures < 1 || openFor <= 0 {
				return "", fmt.Errorf("apitest: HaveTrippedBreaker(%d, %v): failures must be at least 1 and openFor positive", failures, openFor)
			}
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveTrippedBreaker needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			p := retryclient.DefaultPolicy()
			if ev.policy != nil {
				p = *ev.policy
			}
			slack := time.Duration(0)
			if ev.realTime {
				slack = realTimeOvershoot
			}
			return breakerProblem(ev.calls, p.RetryStatuses, failures, openFor, slack), nil
		},
	}
}

// breakerProblem walks the calls as a breaker would see them and returns
// the first thing a breaker with these settings would not have let happen,
// or "".
func breakerProblem(calls []faultinject.Call, retried []int, failures int, openFor, slack time.Duration) string {
	failed := func(c faultinject.Call) bool {
		return c.Status == 0 || slices.Contains(retried, c.Status)
	}
	calls = slices.DeleteFunc(slices.Clone(calls), faultinject.Call.Abandoned)
	consecutive, opened := 0, false
	var openUntil time.Time // zero: closed
	for i := 0; i < len(calls); i++ {
		c := calls[i]
		if !openUntil.IsZero() {
			if c.Start.Before(openUntil.Add(-openFor)) {
				continue // sent before the breaker opened; its result no longer counts
			}
			if c.Start.Before(openUntil.Add(-slack)) {
				return fmt.Sprintf("call #%d reached the server %v after the breaker opened, before its %v were over",
					c.Seq, c.Start.Sub(openUntil.Add(-openFor)), openFor)
			}
			// c is the half-open trial: nothing else may start while it is
			// being served.
			if j := i + 1; j < len(calls) && (c.End.IsZero() || calls[j].Start.Before(c.End)) {
				return fmt.Sprintf("call #%d started while the half-open trial, call #%d, was being served", calls[j].Seq, c.Seq)
			}
			if failed(c) {
				openUntil = c.End.Add(openFor)
			} else {
				openUntil, consecutive = time.Time{}, 0
			}
			continue
		}
		if !failed(c) {
			consecutive = 0
			continue
		}
		if consecutive++; consecutive >= failures {
			openUntil, opened = c.End.Add(openFor), true
		}
	}
	if !opened {
		return fmt.Sprintf("the server never saw %d failures in a row, so the breaker never opened", failures)
	}
	return ""
}
