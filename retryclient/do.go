package retryclient

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Retrier runs any fallible call under a [Policy] with [Do]: the engine of
// a [Transport] without HTTP. The same Policy fields apply (MaxAttempts,
// Backoff and its jitter, RetryAfter and its cap, MaxElapsed,
// AttemptTimeout), and so do the Options that concern the engine:
// [WithObserver], [WithLogger], [WithRand], [WithBudget], [WithBreaker],
// [WithRetryLimiter], [WithAdaptiveLimiter] (a 429, or an error that asks
// for a wait, counts as throttling) and [WithClassifier]; the HTTP-only ones (WithAttemptHeader,
// WithIdempotencyKeys) have no effect. Policy.RetryStatuses applies to
// calls that fail with a [*StatusError]. A Retrier holds no per-call state
// and is safe for concurrent use.
type Retrier struct {
	t *Transport
}

// NewRetrier returns a Retrier for policy p. Like [New] it never panics: if
// p is invalid, every Do returns p.Validate()'s error without calling
// anything (also available from [Retrier.Err]).
func NewRetrier(p Policy, opts ...Option) *Retrier {
	return &Retrier{t: New(noTransport{}, p, opts...)}
}

// Err returns the policy validation error that every Do returns, or nil.
func (r *Retrier) Err() error { return r.t.err }

// Policy returns a copy of the Retrier's policy.
func (r *Retrier) Policy() Policy { return r.t.Policy() }

// Do calls call until it succeeds or the policy stops, and returns its last
// value and error. op names the call in attempt records and logs (for
// example a gRPC method or a query name); it takes the place of a URL.
//
// Every attempt gets a context derived from ctx, bounded by
// [Policy.AttemptTimeout] when set. An error is judged in this order:
//
//  1. ctx is done: the caller's cancellation or deadline, final
//     ([ReasonCanceled]); Do returns at once, also during a backoff sleep.
//  2. The attempt's own timeout expired (the error is, or wraps,
//     context.DeadlineExceeded and only the attempt's context is done):
//     [ClassTimeout], retried.
//  3. A mark from [Transient], [RetryAfter] or [Permanent] in the chain:
//     retried (with the wait asked for) or final.
//  4. A [*StatusError] in the chain: judged as that status by
//     Policy.RetryStatuses, with its RetryAfter as the server's Retry-After.
//  5. The function of [WithClassifier], when it returns a class.
//  6. [Classify]: network errors (connection and timeout errors are
//     retried); anything else is [ClassOther] and not retried.
//
// A wait asked for by [RetryAfter] or StatusError.RetryAfter replaces the
// backoff when Policy.RetryAfter.Honor is set, and above its Cap stops
// retrying ([ReasonRetryAfterTooLong]). Calls are treated as idempotent:
// make call safe to repeat, or return a Permanent error where it is not.
//
// When the policy stops after a failure, Do returns the last value and a
// [*GiveUpError] (attempts, reason, timeline) that wraps the last error, so
// errors.Is and errors.As still reach it; when the caller's context ends
// the wait before an attempt, the value is T's zero value. An attempt's
// context (bounded by AttemptTimeout) is canceled as soon as call returns:
// a call that returns a stream or rows must read them inside call. A successful call costs no
// allocation beyond call's own when the Retrier has no observer, logger,
// budget, breaker or limiter.
func Do[T any](ctx context.Context, r *Retrier, op string, call func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	t := r.t
	if t.err != nil {
		return zero, t.err
	}
	lr := logicalRequest{t: t, p: &t.policy, ctx: ctx, op: op}
	if !t.plain {
		lr.id = t.requests.Add(1)
	}
	defer lr.end()
	for n := 1; ; n++ {
		if err := lr.pace(); err != nil {
			return zero, lr.stop(n-1, err, ReasonCanceled)
		}
		done, err := lr.admit()
		if err != nil {
			return zero, lr.stop(n-1, err, ReasonCircuitOpen)
		}
		attemptCtx, cancel := lr.attemptContext()
		start := time.Now()
		if n == 1 {
			lr.first = start
		}
		v, err := call(attemptCtx)
		if cancel != nil {
			cancel()
		}
		if err == nil && t.plain {
			return v, nil
		}
		now := time.Now()
		o := lr.callOutcome(n, now, err, attemptCtx)
		if t.adaptive != nil && (o.Status != 0 || o.RetryAfterDelay > 0) {
			// An answer of the service (a value, a status or a requested
			// wait), as the Transport observes responses only.
			t.adaptive.Observe(now, throttled(o.Status, "") || o.RetryAfterDelay > 0)
		}
		dec := lr.takeSlot(lr.decide(o, done), now)
		if err == nil {
			o.Status = 0 // a call has no status of its own
		}
		if o.Status != 0 {
			lr.lastStatus = o.Status
		}
		lr.record(n, start, now, o, err, dec, err != nil)
		if !dec.Retry {
			if err == nil {
				return v, nil
			}
			return v, &GiveUpError{Attempts: n, LastStatus: lr.lastStatus, LastErr: err, Reason: dec.Reason, Timeline: lr.timeline}
		}
		if err := lr.sleep(n, now, dec); err != nil {
			return zero, err
		}
	}
}

// callOutcome is the Outcome of attempt n of a call run by Do (see Do for
// the order of the checks).
func (lr *logicalRequest) callOutcome(n int, now time.Time, err error, attemptCtx context.Context) Outcome {
	o := Outcome{
		Attempt:   n,
		PrevDelay: lr.prevDelay,
		Now:       now,
		Elapsed:   now.Sub(lr.first),
		Rand:      lr.t.rand,
	}
	var (
		se *StatusError
		m  *markedError
	)
	switch {
	case err == nil:
		o.Status = successStatus
	case lr.ctx.Err() != nil:
		o.Err, o.Class = err, ClassCanceled
		if !errors.Is(err, lr.ctx.Err()) {
			o.Err = lr.ctx.Err()
		}
	case attemptCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		o.Err, o.Class = err, ClassTimeout
	case errors.As(err, &m):
		o.Err, o.Class, o.RetryAfterDelay = err, m.class, m.after
	case errors.As(err, &se):
		o.Status, o.RetryAfterDelay = se.Status, se.RetryAfter
	default:
		o.Err, o.Class = err, lr.t.classify(err)
	}
	return o
}

// successStatus stands for a call that returned no error, so that Decide
// reads it as a success.
const successStatus = 200

// classify is the Transport's error classifier: the WithClassifier
// function when it returns a class, Classify otherwise.
func (t *Transport) classify(err error) ErrorClass {
	if t.classifier != nil {
		if c := t.classifier(err); c != ClassNone {
			return c
		}
	}
	return Classify(err)
}

// WithClassifier classifies errors before [Classify] does, for a Transport
// (errors of the wrapped RoundTripper) and a [Retrier] (errors of the
// call) alike: fn returns the class of err, or [ClassNone] to leave err to
// Classify. Return [ClassTransient] to retry and [ClassPermanent] to stop;
// any other class means what it means for Classify. fn must be safe for
// concurrent use.
func WithClassifier(fn func(err error) ErrorClass) Option {
	return func(t *Transport) { t.classifier = fn }
}

// markedError is an error marked transient or permanent.
type markedError struct {
	err   error
	class ErrorClass
	after time.Duration
}

func (e *markedError) Error() string { return e.err.Error() }
func (e *markedError) Unwrap() error { return e.err }

// Transient marks err as a failure worth retrying ([ClassTransient]). It
// returns nil for a nil err.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, class: ClassTransient}
}

// RetryAfter marks err as transient and asks for a wait of d before the
// next attempt, as a Retry-After header does (for example from a gRPC
// RetryInfo detail or a "try again in" error). It returns nil for a nil
// err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, class: ClassTransient, after: d}
}

// Permanent marks err as a failure that retrying cannot fix
// ([ClassPermanent]): the policy stops at once. It returns nil for a nil
// err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, class: ClassPermanent}
}

// noTransport is the RoundTripper of a Retrier's engine, which never sends
// HTTP requests.
type noTransport struct{}

func (noTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("retryclient: a Retrier sends no HTTP requests")
}
