package retryclient

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := noJitter()
	get := func(attempt, status int) Outcome {
		return Outcome{Attempt: attempt, Method: http.MethodGet, Status: status, Now: now}
	}
	with := func(o Outcome, f func(*Outcome)) Outcome { f(&o); return o }
	cases := []struct {
		name   string
		policy Policy
		in     Outcome
		want   Decision
	}{
		{"200 is success", p, get(1, 200), Decision{Reason: ReasonSuccess}},
		{"304 is success", p, get(1, 304), Decision{Reason: ReasonSuccess}},
		{"400 not retried", p, get(1, 400), Decision{Reason: ReasonNotRetryableStatus}},
		{"404 not retried", p, get(1, 404), Decision{Reason: ReasonNotRetryableStatus}},
		{"501 not retried", p, get(1, 501), Decision{Reason: ReasonNotRetryableStatus}},
		{"505 not retried", p, get(1, 505), Decision{Reason: ReasonNotRetryableStatus}},
		{"408 retried", p, get(1, 408), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"425 retried", p, get(1, 425), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"429 retried", p, get(1, 429), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"500 retried", p, get(1, 500), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"502 retried", p, get(1, 502), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"503 second attempt", p, get(2, 503), Decision{Retry: true, Delay: 200 * ms, Reason: ReasonRetryableStatus}},
		{"504 last attempt", p, get(3, 504), Decision{Reason: ReasonMaxAttempts}},
		{"the backoff floor raises a shorter wait", p.WithBackoff(Backoff{Kind: BackoffConstant, Initial: 100 * ms, Jitter: JitterAdditive, Min: 150 * ms}),
			get(1, 503), Decision{Retry: true, Delay: 150 * ms, Reason: ReasonRetryableStatus}},
		{"randomized jitter without spread is the schedule", p.WithBackoff(Backoff{Kind: BackoffLinear, Initial: 100 * ms, Jitter: JitterRandomized}),
			get(2, 503), Decision{Retry: true, Delay: 200 * ms, Reason: ReasonRetryableStatus}},
		{"custom statuses", p.WithRetryStatuses(418), get(1, 418), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"custom statuses drop 503", p.WithRetryStatuses(418), get(1, 503), Decision{Reason: ReasonNotRetryableStatus}},
		{"Retry-After seconds replaces backoff", p, with(get(1, 429), func(o *Outcome) { o.RetryAfter = "3" }),
			Decision{Retry: true, Delay: 3 * time.Second, Reason: ReasonRetryableStatus, RetryAfter: 3 * time.Second, RetryAfterSeen: true}},
		{"Retry-After date", p, with(get(1, 503), func(o *Outcome) { o.RetryAfter = now.Add(7 * time.Second).Format(http.TimeFormat) }),
			Decision{Retry: true, Delay: 7 * time.Second, Reason: ReasonRetryableStatus, RetryAfter: 7 * time.Second, RetryAfterSeen: true}},
		{"Retry-After past date retries at once", p, with(get(1, 503), func(o *Outcome) { o.RetryAfter = now.Add(-time.Hour).Format(http.TimeFormat) }),
			Decision{Retry: true, Delay: 0, Reason: ReasonRetryableStatus, RetryAfter: 0, RetryAfterSeen: true}},
		{"Retry-After garbage falls back to backoff", p, with(get(1, 503), func(o *Outcome) { o.RetryAfter = "later" }),
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"Retry-After at the cap", p, with(get(1, 429), func(o *Outcome) { o.RetryAfter = "60" }),
			Decision{Retry: true, Delay: time.Minute, Reason: ReasonRetryableStatus, RetryAfter: time.Minute, RetryAfterSeen: true}},
		{"Retry-After above the cap", p, with(get(1, 429), func(o *Outcome) { o.RetryAfter = "61" }),
			Decision{Reason: ReasonRetryAfterTooLong, RetryAfter: 61 * time.Second, RetryAfterSeen: true}},
		// Regression: a Cap of 0 used to mean "no cap"; Validate now rejects
		// it, and Decide called with such a policy never waits.
		{"Retry-After cap 0 is not uncapped", p.WithRetryAfter(true, 0), with(get(1, 429), func(o *Outcome) { o.RetryAfter = "3600" }),
			Decision{Reason: ReasonRetryAfterTooLong, RetryAfter: time.Hour, RetryAfterSeen: true}},
		{"Retry-After not honoured", p.WithRetryAfter(false, time.Minute), with(get(1, 429), func(o *Outcome) { o.RetryAfter = "3600" }),
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus, RetryAfter: time.Hour, RetryAfterSeen: true}},
		{"Retry-After on a 200 is ignored", p, with(get(1, 200), func(o *Outcome) { o.RetryAfter = "5" }), Decision{Reason: ReasonSuccess}},
		{"max attempts beats retry-after cap", p, with(get(3, 429), func(o *Outcome) { o.RetryAfter = "3600" }),
			Decision{Reason: ReasonMaxAttempts, RetryAfter: time.Hour, RetryAfterSeen: true}},
		{"POST without key", p, with(get(1, 503), func(o *Outcome) { o.Method = http.MethodPost }), Decision{Reason: ReasonNotIdempotent}},
		{"PATCH without key", p, with(get(1, 503), func(o *Outcome) { o.Method = http.MethodPatch }), Decision{Reason: ReasonNotIdempotent}},
		{"POST with key", p, with(get(1, 503), func(o *Outcome) { o.Method = http.MethodPost; o.HasIdempotencyKey = true }),
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"POST 200", p, with(get(1, 200), func(o *Outcome) { o.Method = http.MethodPost }), Decision{Reason: ReasonSuccess}},
		{"PUT retried", p, with(get(1, 503), func(o *Outcome) { o.Method = http.MethodPut }), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"DELETE retried", p, with(get(1, 503), func(o *Outcome) { o.Method = http.MethodDelete }), Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"connection refused", p, Outcome{Attempt: 1, Method: "GET", Err: syscall.ECONNREFUSED},
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonConnError, Class: ClassConnection}},
		{"connection error on POST", p, Outcome{Attempt: 1, Method: "POST", Err: io.EOF},
			Decision{Reason: ReasonNotIdempotent, Class: ClassConnection}},
		{"attempt timeout", p, Outcome{Attempt: 1, Method: "GET", Err: context.DeadlineExceeded},
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonAttemptTimeout, Class: ClassTimeout}},
		{"caller deadline (class given)", p, Outcome{Attempt: 1, Method: "GET", Err: context.DeadlineExceeded, Class: ClassCanceled},
			Decision{Reason: ReasonCanceled, Class: ClassCanceled}},
		{"canceled", p, Outcome{Attempt: 1, Method: "GET", Err: context.Canceled}, Decision{Reason: ReasonCanceled, Class: ClassCanceled}},
		{"dns not retried", p, Outcome{Attempt: 1, Method: "GET", Err: &net.DNSError{IsNotFound: true}},
			Decision{Reason: ReasonNotRetryableError, Class: ClassDNS}},
		{"dns retried when asked", p.WithRetryDNSErrors(true), Outcome{Attempt: 1, Method: "GET", Err: &net.DNSError{IsNotFound: true}},
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonConnError, Class: ClassDNS}},
		{"other error", p, Outcome{Attempt: 1, Method: "GET", Err: errors.New("malformed")}, Decision{Reason: ReasonNotRetryableError, Class: ClassOther}},
		{"max elapsed: sleep would end past it", p.WithMaxElapsed(time.Second), with(get(2, 503), func(o *Outcome) { o.Elapsed = 801 * ms }),
			Decision{Reason: ReasonMaxElapsed}},
		{"max elapsed: sleep ends exactly at it", p.WithMaxElapsed(time.Second), with(get(2, 503), func(o *Outcome) { o.Elapsed = 800 * ms }),
			Decision{Retry: true, Delay: 200 * ms, Reason: ReasonRetryableStatus}},
		{"max elapsed with Retry-After", p.WithMaxElapsed(time.Second), with(get(1, 503), func(o *Outcome) { o.RetryAfter = "2" }),
			Decision{Reason: ReasonMaxElapsed, RetryAfter: 2 * time.Second, RetryAfterSeen: true}},
		{"Retry-After date without Now is ignored", p, Outcome{Attempt: 1, Method: "GET", Status: 503, RetryAfter: "Wed, 21 Oct 2015 07:28:30 GMT"},
			Decision{Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus}},
		{"Retry-After seconds without Now", p, Outcome{Attempt: 1, Method: "GET", Status: 503, RetryAfter: "4"},
			Decision{Retry: true, Delay: 4 * time.Second, Reason: ReasonRetryableStatus, RetryAfter: 4 * time.Second, RetryAfterSeen: true}},
		{"single attempt policy", p.WithMaxAttempts(1), get(1, 503), Decision{Reason: ReasonMaxAttempts}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Decide(tc.in); got != tc.want {
				t.Errorf("Decide = %+v\nwant     %+v", got, tc.want)
			}
		})
	}
}

func TestDecideIsReproducibleWithSeededRand(t *testing.T) {
	p := DefaultPolicy()
	run := func() []time.Duration {
		r := rand.New(rand.NewPCG(3, 4))
		var out []time.Duration
		prev := time.Duration(0)
		for n := 1; n < p.MaxAttempts; n++ {
			d := p.Decide(Outcome{Attempt: n, Method: "GET", Status: 503, PrevDelay: prev, Rand: r})
			out = append(out, d.Delay)
			prev = d.Delay
		}
		return out
	}
	a, b := run(), run()
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Errorf("schedules %v and %v differ", a, b)
	}
}

func TestReasonRetrying(t *testing.T) {
	for _, r := range []Reason{ReasonRetryableStatus, ReasonConnError, ReasonAttemptTimeout} {
		if !r.Retrying() {
			t.Errorf("%s.Retrying() = false", r)
		}
	}
	for _, r := range []Reason{ReasonSuccess, ReasonNotRetryableStatus, ReasonNotRetryableError, ReasonNotIdempotent,
		ReasonMaxAttempts, ReasonMaxElapsed, ReasonRetryAfterTooLong, ReasonCanceled, ReasonBudgetExhausted,
		ReasonCircuitOpen, ReasonBodyNotReplayable} {
		if r.Retrying() {
			t.Errorf("%s.Retrying() = true", r)
		}
	}
}
