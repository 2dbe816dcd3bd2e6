package retryclient

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// AdaptiveLimiter lowers a client's send rate when the service throttles
// and raises it again as requests succeed, like the adaptive retry mode of
// the AWS SDKs: retries alone only space out one request's attempts, while
// the limiter slows every request, first attempts included, so a fleet of
// clients stops hammering a rate-limited service.
//
// It starts disabled (no limit). The first throttled response (429, or 503
// with a Retry-After header) enables it at the measured rate times 0.7;
// each later one multiplies the rate by 0.7 again (never below 0.5 requests
// per second). Successes raise the rate along a cubic curve (CUBIC, scale
// 0.4) back towards, then past, the rate at the last throttle, but never
// above twice the measured rate (the 0.5 floor aside). The measured rate
// counts responses, smoothed over half-second buckets, so a throttle in a
// client's first half second, before anything is measured, drops it to the
// floor, from where it climbs back over some seconds — as in the AWS SDKs. Sending takes a token from a bucket
// filled at the current rate, holding at most one second's worth (at least
// one token); requests wait for their tokens first come, first served, and
// a change of rate takes effect for the requests already waiting.
//
// Share one AdaptiveLimiter among the Transports and Retriers that reach
// the same service. It is safe for concurrent use.
type AdaptiveLimiter struct {
	mu sync.Mutex

	enabled  bool
	rate     float64 // tokens per second
	capacity float64 // bucket size
	tokens   float64
	filled   time.Time // when tokens was last brought up to date

	// CUBIC state: the rate at the last throttle and when it happened.
	wMax      float64
	lastThrot time.Time
	k         float64

	// Requests waiting for a token, first come first served; the first
	// one watches the clock, and changed is closed (and replaced) when the
	// rate changes.
	waiters []chan struct{}
	changed chan struct{}

	// Measured send rate, smoothed over half-second buckets.
	measured   float64
	count      float64
	lastBucket float64
	started    bool
}

// Adaptive limiter constants, as in the AWS SDKs.
const (
	adaptiveBeta     = 0.7 // rate multiplier on a throttle
	adaptiveScale    = 0.4 // CUBIC scale constant
	adaptiveMinRate  = 0.5 // tokens per second, the lowest rate
	adaptiveMaxScale = 2.0 // the rate never exceeds this times the measured rate
	adaptiveSmooth   = 0.8 // weight of the newest bucket in the measured rate
	adaptiveBucket   = 0.5 // seconds per measurement bucket
)

// NewAdaptiveLimiter returns a disabled limiter: nothing is slowed until the
// first throttled response.
func NewAdaptiveLimiter() *AdaptiveLimiter { return &AdaptiveLimiter{} }

// Rate returns the current send rate in requests per second, and false
// while the limiter is disabled (no throttle seen yet).
func (l *AdaptiveLimiter) Rate() (perSecond float64, limiting bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate, l.enabled
}

// Take takes a token for a request to be sent at now and returns 0, or,
// when no token is left, takes nothing and returns how long until the next
// one at the current rate (the rate may change before then: ask again).
// While the limiter is disabled it always returns 0. The Transport calls
// Take with time.Now(), serving waiting requests first come, first served;
// a simulation passes its own clock.
func (l *AdaptiveLimiter) Take(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now)
}

func (l *AdaptiveLimiter) take(now time.Time) time.Duration {
	if !l.enabled {
		return 0
	}
	l.refill(now)
	if l.tokens >= 1 {
		l.tokens--
		return 0
	}
	return max(time.Nanosecond, time.Duration((1-l.tokens)/l.rate*float64(time.Second)))
}

// Observe records a response received at now, throttled or not, and adapts
// the rate. The Transport calls it after every attempt that got a
// response; a simulation passes its own clock.
func (l *AdaptiveLimiter) Observe(now time.Time, throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	measured := l.measure(now)
	var rate float64
	if throttled {
		use := measured
		if l.enabled {
			use = math.Min(measured, l.rate)
		}
		l.wMax = use
		l.k = math.Cbrt(l.wMax * (1 - adaptiveBeta) / adaptiveScale)
		l.lastThrot = now
		rate = use * adaptiveBeta
		l.enabled = true
	} else {
		if !l.enabled {
			return
		}
		dt := now.Sub(l.lastThrot).Seconds()
		rate = adaptiveScale*math.Pow(dt-l.k, 3) + l.wMax
	}
	l.setRate(now, math.Min(rate, adaptiveMaxScale*measured))
}

// measure counts a response at now and returns the smoothed send rate.
func (l *AdaptiveLimiter) measure(now time.Time) float64 {
	t := float64(now.UnixNano()) / 1e9
	bucket := math.Floor(t/adaptiveBucket) * adaptiveBucket
	if !l.started {
		l.started, l.lastBucket = true, bucket
	}
	l.count++
	if bucket > l.lastBucket {
		current := l.count / (bucket - l.lastBucket)
		l.measured = current*adaptiveSmooth + l.measured*(1-adaptiveSmooth)
		l.count, l.lastBucket = 0, bucket
	}
	return l.measured
}

// refill brings the bucket up to date at now.
func (l *AdaptiveLimiter) refill(now time.Time) {
	if l.filled.IsZero() {
		l.filled = now
	}
	if dt := now.Sub(l.filled).Seconds(); dt > 0 {
		l.tokens = math.Min(l.capacity, l.tokens+dt*l.rate)
		l.filled = now
	}
}

// setRate sets the fill rate, with its floor, and the bucket's size, and
// tells the first waiting request.
func (l *AdaptiveLimiter) setRate(now time.Time, rate float64) {
	l.refill(now)
	l.rate = math.Max(rate, adaptiveMinRate)
	l.capacity = math.Max(1, l.rate)
	l.tokens = math.Min(l.tokens, l.capacity)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// wait returns once the request may be sent (it has taken a token), or
// with an error as soon as ctx is done or cancel is closed. Waiting
// requests are served in order: each waits for its turn, then for a token.
func (l *AdaptiveLimiter) wait(ctx context.Context, cancel <-chan struct{}) error {
	l.mu.Lock()
	if len(l.waiters) == 0 && l.take(time.Now()) == 0 {
		l.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	l.waiters = append(l.waiters, turn)
	if len(l.waiters) == 1 {
		close(turn)
	}
	l.mu.Unlock()

	select {
	case <-turn:
	case <-ctx.Done():
		l.leave(turn)
		return ctx.Err()
	case <-cancel:
		l.leave(turn)
		return errRequestCanceled
	}
	for {
		l.mu.Lock()
		d := l.take(time.Now())
		if d == 0 {
			l.leaveLocked(turn)
			l.mu.Unlock()
			return nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-changed:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			l.leave(turn)
			return ctx.Err()
		case <-cancel:
			timer.Stop()
			l.leave(turn)
			return errRequestCanceled
		}
	}
}

// leave removes a waiting request, handing the turn on if it had it.
func (l *AdaptiveLimiter) leave(turn chan struct{}) {
	l.mu.Lock()
	l.leaveLocked(turn)
	l.mu.Unlock()
}

func (l *AdaptiveLimiter) leaveLocked(turn chan struct{}) {
	i := slices.Index(l.waiters, turn)
	if i < 0 {
		return
	}
	l.waiters = slices.Delete(l.waiters, i, i+1)
	if i == 0 && len(l.waiters) > 0 {
		close(l.waiters[0])
	}
}

// throttled reports whether a response tells the client to slow down: a
// 429, or a 503 carrying Retry-After.
func throttled(status int, retryAfter string) bool {
	return status == 429 || status == 503 && retryAfter != ""
}

// WithAdaptiveLimiter makes every attempt (first attempts too) wait for l's
// send rate, and feeds l every response (see [AdaptiveLimiter]).
func WithAdaptiveLimiter(l *AdaptiveLimiter) Option {
	return func(t *Transport) { t.adaptive = l }
}
