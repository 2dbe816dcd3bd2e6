package retryclient

import (
	"context"
	"sync"
	"time"
)

// RetryLimiter caps how many logical requests are retrying at once, across
// every request of a Transport (or of several Transports and Retriers given
// the same RetryLimiter): a burst of failures becomes a bounded trickle of
// retries, so a recovering dependency is not flooded. A request takes a
// slot when its first retry is decided, before the backoff sleep, and keeps
// it until the request ends; while no slot is free it waits (the wait
// counts towards the backoff delay). First attempts never wait for a slot.
// A request made inside an attempt of a request that holds a slot (a
// Transport called from a Retrier's call, both sharing the limiter)
// retries under that slot, so sharing cannot deadlock. When the wait for a
// slot is cut short (the caller's context, or MaxElapsed), the request
// stops as if the policy had: with the last response, if it had one.
// A RetryLimiter is safe for concurrent use.
type RetryLimiter struct {
	slots chan struct{}

	mu   sync.Mutex
	peak int
}

// NewRetryLimiter returns a RetryLimiter with maxRetrying slots; a value
// below 1 is raised to 1.
func NewRetryLimiter(maxRetrying int) *RetryLimiter {
	return &RetryLimiter{slots: make(chan struct{}, max(1, maxRetrying))}
}

// Limit returns the number of slots.
func (l *RetryLimiter) Limit() int { return cap(l.slots) }

// InUse returns how many requests hold a slot now.
func (l *RetryLimiter) InUse() int { return len(l.slots) }

// Peak returns the most slots ever held at once.
func (l *RetryLimiter) Peak() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peak
}

// acquire takes a slot, waiting until one is free, ctx is done, cancel is
// closed or deadline (if not zero) passes. It reports whether it got one.
func (l *RetryLimiter) acquire(ctx context.Context, cancel <-chan struct{}, deadline time.Time) bool {
	select {
	case l.slots <- struct{}{}:
		l.held()
		return true
	default:
	}
	var expire <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expire = t.C
	}
	select {
	case l.slots <- struct{}{}:
		l.held()
		return true
	case <-ctx.Done():
	case <-cancel:
	case <-expire:
	}
	return false
}

func (l *RetryLimiter) held() {
	n := len(l.slots)
	l.mu.Lock()
	l.peak = max(l.peak, n)
	l.mu.Unlock()
}

// release gives a slot back.
func (l *RetryLimiter) release() { <-l.slots }

// WithRetryLimiter makes retries take a slot of l (see [RetryLimiter]).
// Share one l between Transports and Retriers to cap their retries
// together.
func WithRetryLimiter(l *RetryLimiter) Option {
	return func(t *Transport) { t.retryLimiter = l }
}
