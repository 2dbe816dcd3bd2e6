package suites_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

func retryclientWith(p retryclient.Policy, promise suites.Promise, opts ...retryclient.Option) suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: retryclient.New(base, p, opts...)}
		},
		Promise: promise,
	}
}

// TestRulesRegressions pins rules that once failed correct clients or
// passed broken ones.
func TestRulesRegressions(t *testing.T) {
	noJitter := func(p retryclient.Policy) retryclient.Policy {
		return p.WithBackoff(p.Backoff.WithJitter(retryclient.JitterNone))
	}
	cases := []struct {
		name string
		s    suites.Subject
		want []string
	}{
		{
			"a client that gives up before the caller cancels is not blamed for the cancellation",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(2).WithAttemptTimeout(20*time.Millisecond).
				WithBackoff(retryclient.ConstantBackoff(5*time.Millisecond)), suites.Promise{MaxAttempts: 2}),
			nil,
		},
		{
			"a client that keys POSTs itself may retry them",
			retryclientWith(retryclient.DefaultPolicy(), suites.Promise{MaxAttempts: 3, IdempotencyKeys: true}, retryclient.WithIdempotencyKeys()),
			nil,
		},
		{
			"a promise of full jitter does not excuse a client that does not back off",
			loopSubjectWith(loop{noBackoff: true}, func(p *suites.Promise) { p.Jitter = retryclient.JitterFull }),
			[]string{"waits before every retry", "keeps its waits inside the promised envelope"},
		},
		{
			"a multiplier that is not a whole number does not fail on rounding",
			retryclientWith(noJitter(retryclient.DefaultPolicy().WithMaxAttempts(5)).WithBackoff(retryclient.Backoff{
				Kind: retryclient.BackoffExponential, Initial: 100 * time.Millisecond, Multiplier: 1.7, Jitter: retryclient.JitterNone}),
				suites.Promise{MaxAttempts: 5, InitialBackoff: 100 * time.Millisecond, Multiplier: 1.7}),
			nil,
		},
		{
			"a client that sleeps past its Retry-After cap and then stops is caught",
			loopSubjectWith(loop{sleepsPastTheCap: true, oneTooMany: false}, nil),
			[]string{"never sleeps beyond its Retry-After cap"},
		},
		{
			"a Retry-After cap below the scripted Retry-After expects a prompt give-up",
			retryclientWith(retryclient.DefaultPolicy().WithRetryAfter(true, 2*time.Second),
				suites.Promise{MaxAttempts: 3, RetryAfter: true, RetryAfterCap: 2 * time.Second}),
			nil,
		},
		{
			"each jitter kind is checked against its own bounds",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(6).WithBackoff(retryclient.DefaultBackoff().WithJitter(retryclient.JitterEqual)),
				suites.Promise{MaxAttempts: 6, InitialBackoff: 100 * time.Millisecond, Multiplier: 2, MaxBackoff: 10 * time.Second, Jitter: retryclient.JitterEqual}),
			nil,
		},
		{
			"decorrelated jitter is checked against the previous wait",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(6).WithBackoff(retryclient.DefaultBackoff().WithJitter(retryclient.JitterDecorrelated)),
				suites.Promise{MaxAttempts: 6, InitialBackoff: 100 * time.Millisecond, Multiplier: 2, MaxBackoff: 10 * time.Second, Jitter: retryclient.JitterDecorrelated}),
			nil,
		},
		{
			"equal jitter promised but not given is caught",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(6),
				suites.Promise{MaxAttempts: 6, InitialBackoff: 100 * time.Millisecond, Multiplier: 2, MaxBackoff: 10 * time.Second, Jitter: retryclient.JitterEqual}),
			[]string{"keeps its waits inside the promised envelope"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := brokenRules(t, c.s); !slices.Equal(got, c.want) {
				t.Errorf("broken rules:\n  got  %q\n  want %q", got, c.want)
			}
		})
	}
}

// TestChaosWithElapsedLimit: a client with a promised elapsed-time limit
// is not blamed for stopping early (regression: seed 6 failed it).
func TestChaosWithElapsedLimit(t *testing.T) {
	s := retryclientWith(retryclient.DefaultPolicy().WithMaxElapsed(time.Second),
		suites.Promise{MaxAttempts: 3, RetryAfter: true, RetryAfterCap: time.Minute, IdempotencyKeys: true, MaxElapsed: time.Second})
	if failed := chaosFailures(t, s, 100); len(failed) > 0 {
		t.Errorf("%d sequences failed: %v", len(failed), failed)
	}
}

func loopSubjectWith(l loop, edit func(*suites.Promise)) suites.Subject {
	s := loopSubject(l)
	if edit != nil {
		edit(&s.Promise)
	}
	return s
}
