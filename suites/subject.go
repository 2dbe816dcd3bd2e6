package suites

import (
	"net/http"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// Subject is the client under test. Client builds a fresh client whose
// requests reach the fault server through base: wrap base with the retry
// logic under test (a retrying RoundTripper, a library's client configured
// with base as its transport, or a hand-made loop). Client is called once for
// every request a check sends, inside the check's virtual-time bubble. A
// Subject is a plain value; the checks only read it.
type Subject struct {
	// Client builds the client under test on base.
	Client func(base http.RoundTripper) *http.Client
	// Promise declares what the client claims to do.
	Promise Promise
}

// Promise declares what the subject claims to do. Zero fields promise
// nothing, and the checks that depend on them are skipped; the universal
// rules are always checked. A Promise is a plain value.
type Promise struct {
	// MaxAttempts is the total number of attempts (first included) the client
	// makes on a persistent transient failure: never more, and at least as
	// many.
	MaxAttempts int
	// InitialBackoff, Multiplier and MaxBackoff describe the schedule of the
	// waits that Retry-After does not dictate: retry i (from 1) waits
	// InitialBackoff·Multiplier^(i-1), capped at MaxBackoff. Multiplier 0
	// means 1 (constant backoff).
	InitialBackoff time.Duration
	Multiplier     float64
	MaxBackoff     time.Duration
	// Jitter says how the waits are randomised around the schedule, in
	// retryclient's words: "" or none (exactly the schedule), full (between
	// 0 and the schedule; checked on average over several runs), equal
	// (between half the schedule and the schedule), decorrelated (between
	// InitialBackoff and three times the previous wait, capped).
	Jitter retryclient.JitterKind
	// MaxElapsed promises to stop retrying a request once this much time has
	// passed since its first attempt (no sleep that would end later).
	MaxElapsed time.Duration
	// RetryAfter promises to wait as long as Retry-After asks (delta-seconds
	// and HTTP-date), up to RetryAfterCap (0: no cap promised); a longer
	// Retry-After makes the client stop rather than sleep longer than the
	// cap.
	RetryAfter    bool
	RetryAfterCap time.Duration
	// IdempotencyKeys promises to retry a POST that carries an
	// Idempotency-Key header.
	IdempotencyKeys bool
	// AttemptTimeout promises to abandon an attempt that receives no answer
	// within this time, and retry.
	AttemptTimeout time.Duration
}
