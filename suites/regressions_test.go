package suites_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
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
			"a client that documents Retry-After in seconds only is not asked to read dates",
			loopSubjectWith(loop{secondsOnly: true}, func(p *suites.Promise) { p.RetryAfter, p.RetryAfterSecondsOnly = false, true }),
			nil,
		},
		{
			"a client that does not retry 408 and 429 may say so (heimdall)",
			loopSubjectWith(loop{notRetried: []int{408, 429}}, func(p *suites.Promise) { p.RetriedStatuses = []int{425, 500, 502, 503, 504} }),
			nil,
		},
		{
			"a client that does not retry 429 is caught when it promises to",
			loopSubject(loop{notRetried: []int{429}}),
			[]string{"honours Retry-After in seconds"},
		},
		{
			"cenkalti/backoff's randomization factor can be promised",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(6).WithBackoff(retryclient.Backoff{Kind: retryclient.BackoffExponential,
				Initial: 500 * time.Millisecond, Multiplier: 1.5, Max: time.Minute, Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5}),
				suites.Promise{MaxAttempts: 6, Backoff: retryclient.Backoff{Initial: 500 * time.Millisecond, Multiplier: 1.5, Max: time.Minute,
					Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5}}),
			nil,
		},
		{
			"additive jitter can be promised (retry-go, heimdall)",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(6).WithBackoff(retryclient.Backoff{Kind: retryclient.BackoffExponential,
				Initial: 100 * time.Millisecond, Multiplier: 2, Jitter: retryclient.JitterAdditive, MaxJitter: 100 * time.Millisecond}),
				suites.Promise{MaxAttempts: 6, Backoff: retryclient.Backoff{Initial: 100 * time.Millisecond, Multiplier: 2,
					Jitter: retryclient.JitterAdditive, MaxJitter: 100 * time.Millisecond}}),
			nil,
		},
		{
			"equal jitter with a floor can be promised (resty)",
			retryclientWith(retryclient.DefaultPolicy().WithMaxAttempts(6).WithBackoff(retryclient.Backoff{Kind: retryclient.BackoffExponential,
				Initial: 100 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second, Jitter: retryclient.JitterEqual, Min: 100 * time.Millisecond}),
				suites.Promise{MaxAttempts: 6, Backoff: retryclient.Backoff{Initial: 100 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second,
					Jitter: retryclient.JitterEqual, Min: 100 * time.Millisecond}}),
			nil,
		},
		{
			"a randomization factor promised but not given is caught",
			loopSubjectWith(loop{}, func(p *suites.Promise) {
				p.InitialBackoff, p.Multiplier, p.MaxBackoff = 0, 0, 0
				p.Backoff = retryclient.Backoff{Initial: 300 * time.Millisecond, Multiplier: 2, Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.1}
			}),
			[]string{"keeps its waits inside the promised envelope"},
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

// TestChaosHonoursRetriedStatuses: chaos blamed correct clients for not
// retrying 408 and 429 (go-retryablehttp, resty, failsafe-go, heimdall)
// because a Promise could not say which statuses a client retries.
func TestChaosHonoursRetriedStatuses(t *testing.T) {
	narrow := loopSubjectWith(loop{notRetried: []int{408, 429}}, func(p *suites.Promise) { p.RetriedStatuses = []int{500, 502, 503, 504} })
	if failed := chaosFailures(t, narrow, 100); len(failed) > 0 {
		t.Errorf("a client keeping its declared statuses failed %d of 100 sequences: %v", len(failed), failed)
	}
	undeclared := loopSubject(loop{notRetried: []int{408}})
	if failed := chaosFailures(t, undeclared, 100); len(failed) == 0 {
		t.Error("a client that does not retry 408 while the Promise says it does passed 100 sequences")
	}
}

// TestChaosSaysWhichStepWasNotRetried: a chaos failure names the step the
// client did not retry and why the suite counts it transient (regression:
// it said only "2 calls; the final answer was reachable in 3 of the
// promised 3 attempts").
func TestChaosSaysWhichStepWasNotRetried(t *testing.T) {
	s := loopSubject(loop{notRetried: []int{408}})
	var msg string
	for seed := uint64(1); seed <= 100 && msg == ""; seed++ {
		synctest.Test(t, func(t *testing.T) {
			if err := suites.CheckChaos(t.Context(), s, seed); err != nil && strings.Contains(err.Error(), "did not retry") {
				msg = err.Error()
			}
		})
	}
	for _, want := range []string{"which met step", "(408), and did not retry it (it returned status 408)",
		"the suite counts 408 transient because 408 is in the RFC-transient set the Promise retries by default"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q\nwant it to contain %q", msg, want)
		}
	}
}

// TestPromiseValidate: a Promise that cannot be kept is reported by every
// rule and by chaos, not checked.
func TestPromiseValidate(t *testing.T) {
	cases := []struct {
		name string
		p    suites.Promise
		want string
	}{
		{"both schedules", suites.Promise{InitialBackoff: time.Second, Backoff: retryclient.Backoff{Initial: time.Second}}, "suites: the Promise sets both Backoff and InitialBackoff; set one schedule"},
		{"a permanent status", suites.Promise{RetriedStatuses: []int{503, 501}}, "suites: Promise.RetriedStatuses holds 501, which is never transient: the universal rules forbid retrying it"},
		{"a jitter without its parameter", suites.Promise{InitialBackoff: time.Second, Jitter: retryclient.JitterAdditive},
			`suites: Promise.Jitter "additive" needs its parameter; promise it with Promise.Backoff (RandomizationFactor or MaxJitter)`},
		{"not a status", suites.Promise{RetriedStatuses: []int{5030}}, "suites: Promise.RetriedStatuses holds 5030, not an HTTP status"},
		{"an invalid schedule", suites.Promise{Backoff: retryclient.Backoff{Initial: time.Second, Jitter: retryclient.JitterRandomized, RandomizationFactor: 2}},
			"suites: the Promise's schedule: retryclient: Backoff.RandomizationFactor must be between 0 and 1, got 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.p.Validate(); err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v, want %q", err, c.want)
			}
			s := loopSubject(loop{})
			s.Promise = c.p
			synctest.Test(t, func(t *testing.T) {
				if err := suites.Rules()[0].Check(t.Context(), s); err == nil || err.Error() != c.want {
					t.Errorf("Check = %v, want %q", err, c.want)
				}
				if err := suites.CheckChaos(t.Context(), s, 1); err == nil || err.Error() != c.want {
					t.Errorf("CheckChaos = %v, want %q", err, c.want)
				}
			})
		})
	}
	if err := retryclientSubject().Promise.Validate(); err != nil {
		t.Errorf("retryclient's promise: %v", err)
	}
}

// TestSchedule: the documented Promise fields and Backoff describe the same
// schedule.
func TestSchedule(t *testing.T) {
	old := suites.Promise{InitialBackoff: time.Second, Multiplier: 2, MaxBackoff: 30 * time.Second}
	b, ok := old.Schedule()
	want := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: time.Second, Multiplier: 2, Max: 30 * time.Second, Jitter: retryclient.JitterNone}
	if !ok || b != want {
		t.Errorf("Schedule() = %+v, %v; want %+v", b, ok, want)
	}
	if _, ok := (suites.Promise{}).Schedule(); ok {
		t.Error("an empty Promise promises a schedule")
	}
}

// TestRuleMessages pins the words of rules whose messages once puzzled
// readers.
func TestRuleMessages(t *testing.T) {
	cases := []struct {
		name, rule string
		l          loop
		want       string
	}{
		{"unkeyed retry (was: not all under one key of its own)", "does not retry a POST or PATCH without an Idempotency-Key", loop{retriesUnkeyed: true},
			`broken on scenario "unkeyed-post": a POST sent without Idempotency-Key got a 503 and the client sent it 2 times, none of them under an Idempotency-Key; ` +
				"a retried POST may apply twice, so want exactly 1 call, or an Idempotency-Key the client adds itself and keeps on every attempt\n"},
		{"sleeping after the last attempt", "returns promptly after its last attempt", loop{sleepsAfterLast: true},
			`broken on scenario "outage": the answer to call #3, the last, came at +300ms, but the client returned only at +700ms, 400ms later: it slept after an attempt it would not retry` + "\n"},
		{"a dropped key says what happened once", "sends the same body and Idempotency-Key on every attempt", loop{dropsKey: true},
			`broken on scenario "keyed-post-503": call #2 to POST /orders carried no Idempotency-Key` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range suites.Rules() {
				if r.Name != c.rule {
					continue
				}
				synctest.Test(t, func(t *testing.T) {
					err := r.Check(t.Context(), loopSubject(c.l))
					if err == nil || !strings.Contains(err.Error(), c.want) {
						t.Errorf("got %v\nwant it to contain %q", err, c.want)
					}
				})
			}
		})
	}
}
