package suites

import (
	"net/http"
	"time"
)

// Subject is the client under test. Client builds a fresh client whose
// requests reach the fault server through base: wrap base with the retry
// logic under test (a retrying RoundTripper, a library's client configured
// with base as its transport, or a hand-made loop). Client is called once per
// check, inside the check's virtual-time bubble.
type Subject struct {
	Client  func(base http.RoundTripper) *http.Client
	Promise Promise
}

// Promise declares what the subject claims to do. Zero fields promise
// nothing, and the checks that depend on them are skipped; the universal
// rules are always checked.
type Promise struct {
	// MaxAttempts is the total number of attempts (first included) the client
	// makes on a persistent transient failure: never more, and at least as
	// many.
	MaxAttempts int
	// InitialBackoff, Multiplier and MaxBackoff describe the envelope of the
	// waits that Retry-After does not dictate: wait i (from 1) is at most
	// InitialBackoff·Multiplier^(i-1), capped at MaxBackoff. Multiplier 0
	// means 1 (constant backoff).
	InitialBackoff time.Duration
	Multiplier     float64
	MaxBackoff     time.Duration
	// Jittered says waits are randomised inside the envelope. Without it the
	// waits must also never shrink.
	Jittered bool
	// RetryAfter promises to wait as long as Retry-After asks (delta-seconds
	// and HTTP-date), up to RetryAfterCap; a longer Retry-After makes the
	// client stop rather than sleep longer than the cap.
	RetryAfter    bool
	RetryAfterCap time.Duration
	// IdempotencyKeys promises to retry a POST that carries an
	// Idempotency-Key header.
	IdempotencyKeys bool
	// AttemptTimeout promises to abandon an attempt that receives no answer
	// within this time, and retry.
	AttemptTimeout time.Duration
}
