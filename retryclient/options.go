package retryclient

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/retrylab/retrylab/internal/protocol"
)

// DefaultAttemptHeader, "Retrylab-Attempt", is the header name
// conventionally passed to [WithAttemptHeader]; faultinject's journal reads
// it by default.
const DefaultAttemptHeader = protocol.AttemptHeader

// IdempotencyKeyHeader is the request header that makes POST and PATCH
// retryable.
const IdempotencyKeyHeader = "Idempotency-Key"

// Option configures a [Transport]. It is applied once, by [New]; an Option
// value may be shared and reused, but the state it carries (an observer,
// logger, budget, breaker or random source) is then shared too and must
// be safe for concurrent use.
type Option func(*Transport)

// WithObserver calls fn synchronously after every attempt, in attempt order,
// from the goroutine running RoundTrip. fn must be safe for concurrent use
// when the Transport serves concurrent requests.
func WithObserver(fn func(Attempt)) Option {
	return func(t *Transport) { t.observer = fn }
}

// WithLogger logs each retry at Info and each give-up (a retryable failure
// that is not retried further, or a final error) at Warn, with the method,
// URL, attempt, status or error, delay and reason. nil disables logging
// (the default).
func WithLogger(l *slog.Logger) Option {
	return func(t *Transport) { t.logger = l }
}

// WithRand makes jitter draw from src, so that the same seed gives the same
// schedule. The Transport serialises its own access to src, but nothing
// else may use src concurrently, including another Transport given the same
// src: to share one source, wrap it once with [LockedSource] and pass the
// result to every WithRand. Without WithRand, jitter uses the automatically
// seeded global source of math/rand/v2.
func WithRand(src rand.Source) Option {
	return func(t *Transport) {
		if src == nil {
			t.rand = nil
			return
		}
		t.rand = rand.New(LockedSource(src))
	}
}

// LockedSource returns a rand.Source that serialises calls to src, and is
// therefore safe for concurrent use, for example by several Transports
// (see [WithRand]) or a Transport and a [Backoff.Delay] caller. src itself
// must not be used directly afterwards. LockedSource of a source it
// returned returns that source unchanged.
func LockedSource(src rand.Source) rand.Source {
	if ls, ok := src.(*lockedSource); ok {
		return ls
	}
	return &lockedSource{src: src}
}

// WithAttemptHeader stamps "name: N" on attempt N, so a server can tell the
// policy's retries from net/http's own silent replays. An empty name turns
// it off. See [DefaultAttemptHeader].
func WithAttemptHeader(name string) Option {
	return func(t *Transport) { t.attemptHeader = http.CanonicalHeaderKey(name) }
}

// WithIdempotencyKeys gives every POST or PATCH request that has no
// Idempotency-Key header a fresh random key, sent unchanged on every attempt
// of that logical request, which makes the request retryable.
func WithIdempotencyKeys() Option {
	return func(t *Transport) { t.idempotencyKeys = true }
}

// WithBudget shares b's retry tokens with every request through the
// Transport (and any other Transport given the same b).
func WithBudget(b *Budget) Option {
	return func(t *Transport) { t.budget = b }
}

// Breaker is a two-step circuit breaker. Allow is called before every
// attempt: a non-nil error refuses the attempt; otherwise done is called
// once the attempt's outcome is known, with nil for a success and a non-nil
// error for a failure. *gobreaker.TwoStepCircuitBreaker[T] from
// github.com/sony/gobreaker/v2 satisfies it.
//
// Implementations must be safe for concurrent use: a Transport calls Allow
// and done from every goroutine running RoundTrip, and one Breaker may be
// shared by several Transports.
type Breaker interface {
	Allow() (done func(err error), err error)
}

// WithBreaker consults b before every attempt. An attempt counts as a
// failure when it produced a retryable status (done receives a
// [*StatusError]) or an error (done receives it; use gobreaker's IsExcluded
// to ignore context.Canceled), and as a success otherwise. A refused
// attempt ends the logical request with a [*GiveUpError] whose Reason is
// [ReasonCircuitOpen] and whose LastErr is the breaker's error; the
// response of the attempt before it, if any, has already been discarded.
func WithBreaker(b Breaker) Option {
	return func(t *Transport) { t.breaker = b }
}

// lockedSource makes a rand.Source safe for concurrent use.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (s *lockedSource) Uint64() uint64 {
	s.mu.Lock()
	v := s.src.Uint64()
	s.mu.Unlock()
	return v
}
