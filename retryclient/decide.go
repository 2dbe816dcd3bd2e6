package retryclient

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// Reason says why a retry decision was taken. It is recorded on every
// [Attempt] and on [GiveUpError]. It is a plain value, safe to copy and
// share.
type Reason string

// The reasons. The first four go with Retry true; all others stop.
const (
	// ReasonRetryableStatus: the status is in [Policy.RetryStatuses]; retry.
	ReasonRetryableStatus Reason = "retryable-status"
	// ReasonConnError: the attempt failed with [ClassConnection] (or
	// [ClassDNS] with [Policy.RetryDNSErrors]); retry.
	ReasonConnError Reason = "connection-error"
	// ReasonAttemptTimeout: the attempt failed with [ClassTimeout]; retry.
	ReasonAttemptTimeout Reason = "attempt-timeout"
	// ReasonTransientError: the attempt failed with an error of
	// [ClassTransient] (see [Transient] and [WithClassifier]); retry.
	ReasonTransientError Reason = "transient-error"

	// ReasonSuccess: a status below 400 that is not retryable; done.
	ReasonSuccess Reason = "success"
	// ReasonNotRetryableStatus: a status of 400 or more that is not in
	// [Policy.RetryStatuses]; the response is returned as is.
	ReasonNotRetryableStatus Reason = "status-not-retryable"
	// ReasonNotRetryableError: an error of a class that is not retried
	// (dns, tls, body-too-large, other).
	ReasonNotRetryableError Reason = "error-not-retryable"
	// ReasonNotIdempotent: the failure was retryable but the method is not
	// idempotent and the request carries no Idempotency-Key.
	ReasonNotIdempotent Reason = "method-not-idempotent"
	// ReasonMaxAttempts: [Policy.MaxAttempts] attempts were made.
	ReasonMaxAttempts Reason = "max-attempts"
	// ReasonMaxElapsed: the next sleep would end past [Policy.MaxElapsed].
	ReasonMaxElapsed Reason = "max-elapsed"
	// ReasonRetryAfterTooLong: the response asked to wait longer than
	// [RetryAfterPolicy.Cap]; the response is returned as is.
	ReasonRetryAfterTooLong Reason = "retry-after-above-cap"
	// ReasonCanceled: the caller's context was canceled or its deadline
	// passed, during an attempt or a backoff sleep. Final.
	ReasonCanceled Reason = "canceled"
	// ReasonBudgetExhausted: the shared [Budget] has no retry tokens left.
	ReasonBudgetExhausted Reason = "budget-exhausted"
	// ReasonCircuitOpen: the [Breaker] refused the attempt.
	ReasonCircuitOpen Reason = "circuit-open"
	// ReasonBodyNotReplayable: the request body could not be produced again
	// for a retry (GetBody failed).
	ReasonBodyNotReplayable Reason = "body-not-replayable"
)

// Retrying reports whether r is one of the reasons that go with a retry.
func (r Reason) Retrying() bool {
	return r == ReasonRetryableStatus || r == ReasonConnError || r == ReasonAttemptTimeout || r == ReasonTransientError
}

// Outcome is what an attempt produced, as input to [Policy.Decide]. It is a
// plain value, safe to copy; its Rand, when set, is drawn from by Decide
// and must not be used concurrently unless its source is safe for that
// (see [LockedSource]).
type Outcome struct {
	// Attempt is the 1-based number of the attempt that just finished.
	Attempt int
	// Method is the request method.
	Method string
	// HasIdempotencyKey says the request carries an Idempotency-Key header,
	// which makes POST and PATCH retryable.
	HasIdempotencyKey bool
	// Status is the response status, 0 if there was no response.
	Status int
	// Err is the attempt's error, nil if there was a response.
	Err error
	// Class is the class of Err. Empty means Classify(Err); the Transport
	// fills it in because only it can tell a caller deadline from an attempt
	// timeout.
	Class ErrorClass
	// RetryAfter is the raw Retry-After response header ("" if absent).
	RetryAfter string
	// RetryAfterDelay, when positive, is a wait the callee asked for as a
	// duration rather than a header: an error carrying one (see [Do] and
	// [RetryAfter]). It takes the place of RetryAfter, for a status or an
	// error alike, and is capped like it.
	RetryAfterDelay time.Duration
	// Elapsed is the time since the first attempt started.
	Elapsed time.Duration
	// PrevDelay is the delay chosen before this attempt (0 for the first),
	// used by decorrelated jitter.
	PrevDelay time.Duration
	// Now is the current time, against which HTTP-date Retry-After values
	// are measured. When Now is zero, HTTP-date values are ignored and only
	// delta-seconds count.
	Now time.Time
	// Rand is the random source for jitter; nil means the global source of
	// math/rand/v2 (see [Backoff.Delay]).
	Rand *rand.Rand
}

// Decision is the verdict of [Policy.Decide]. It is a plain value, safe to
// copy and share.
type Decision struct {
	// Retry says whether another attempt follows.
	Retry bool
	// Delay is the wait before the next attempt (0 when Retry is false).
	Delay time.Duration
	// Reason says why.
	Reason Reason
	// Class is the error class of the outcome ([ClassNone] for a response).
	Class ErrorClass
	// RetryAfter is the parsed Retry-After, valid when RetryAfterSeen.
	RetryAfter time.Duration
	// RetryAfterSeen says a valid Retry-After header was present.
	RetryAfterSeen bool
}

// idempotentMethod reports whether m is one of RFC 9110's idempotent methods.
func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete, "":
		return true
	}
	return false
}

// Decide maps an attempt's outcome to retry-or-stop, the delay and the
// reason. It is pure: the same Policy and Outcome (including the state of
// o.Rand) give the same Decision. The checks run in this order:
//
//  1. An error is classified; canceled stops with [ReasonCanceled], a class
//     the policy does not retry stops with [ReasonNotRetryableError]. A
//     response whose status is not retryable stops with [ReasonSuccess]
//     (below 400) or [ReasonNotRetryableStatus].
//  2. A method other than GET, HEAD, OPTIONS, TRACE, PUT, DELETE (and
//     [Policy.RetryMethods]) without an Idempotency-Key stops with
//     [ReasonNotIdempotent].
//  3. The last allowed attempt stops with [ReasonMaxAttempts].
//  4. A valid Retry-After (when honoured) replaces the backoff; above the cap
//     it stops with [ReasonRetryAfterTooLong]. Otherwise Backoff.Delay.
//  5. A delay that would end past MaxElapsed stops with [ReasonMaxElapsed].
//
// Budgets and breakers are shared state and are applied by the Transport
// after Decide.
func (p Policy) Decide(o Outcome) Decision {
	var d Decision
	if o.Status == 0 && o.Err == nil {
		// No response and no error: treat as a connection failure.
		d.Class = ClassOther
		d.Reason = ReasonNotRetryableError
		return d
	}
	if o.Err != nil {
		d.Class = o.Class
		if d.Class == ClassNone {
			d.Class = Classify(o.Err)
		}
		switch {
		case d.Class == ClassCanceled:
			d.Reason = ReasonCanceled
			return d
		case !p.retryableClass(d.Class):
			d.Reason = ReasonNotRetryableError
			return d
		case d.Class == ClassTimeout:
			d.Reason = ReasonAttemptTimeout
		case d.Class == ClassTransient:
			d.Reason = ReasonTransientError
		default:
			d.Reason = ReasonConnError
		}
	} else {
		if !p.retryableStatus(o.Status) {
			if o.Status < 400 {
				d.Reason = ReasonSuccess
			} else {
				d.Reason = ReasonNotRetryableStatus
			}
			return d
		}
		d.Reason = ReasonRetryableStatus
		if o.RetryAfter != "" && (!o.Now.IsZero() || deltaSeconds(o.RetryAfter)) {
			d.RetryAfter, d.RetryAfterSeen = ParseRetryAfter(o.RetryAfter, o.Now)
		}
	}
	if o.RetryAfterDelay > 0 {
		d.RetryAfter, d.RetryAfterSeen = o.RetryAfterDelay, true
	}
	if !p.retryableMethod(o.Method) && !o.HasIdempotencyKey {
		d.Reason = ReasonNotIdempotent
		return d
	}
	if o.Attempt >= p.MaxAttempts {
		d.Reason = ReasonMaxAttempts
		return d
	}
	var delay time.Duration
	if d.RetryAfterSeen && p.RetryAfter.Honor {
		// A Cap of 0 (invalid when honouring) waits only for Retry-After 0.
		if d.RetryAfter > p.RetryAfter.Cap {
			d.Reason = ReasonRetryAfterTooLong
			return d
		}
		delay = d.RetryAfter
	} else {
		delay = p.Backoff.Delay(o.Attempt, o.PrevDelay, o.Rand)
	}
	if p.MaxElapsed > 0 && (o.Elapsed >= p.MaxElapsed || delay > p.MaxElapsed-o.Elapsed) {
		d.Reason = ReasonMaxElapsed
		return d
	}
	d.Retry = true
	d.Delay = delay
	return d
}

// failure reports whether outcome o, decided as d, is a retryable failure
// under p, whether or not it is retried.
func (p Policy) failure(o Outcome, d Decision) bool {
	if o.Err != nil {
		return p.retryableClass(d.Class)
	}
	return o.Status != 0 && p.retryableStatus(o.Status)
}
