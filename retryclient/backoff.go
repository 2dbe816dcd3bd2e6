package retryclient

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// BackoffKind names how the base delay grows with the attempt number. It is
// a plain value, safe to copy and share.
type BackoffKind string

// The backoff kinds. For attempt n (the number of the attempt that just
// failed, 1-based) the base delay is:
const (
	// BackoffConstant waits Initial every time.
	BackoffConstant BackoffKind = "constant"
	// BackoffLinear waits Initial × n.
	BackoffLinear BackoffKind = "linear"
	// BackoffExponential waits Initial × Multiplier^(n-1).
	BackoffExponential BackoffKind = "exponential"
)

// JitterKind names how randomness is applied to the base delay. It is a
// plain value, safe to copy and share.
type JitterKind string

// The jitter kinds, with b the capped base delay.
const (
	// JitterNone waits exactly b.
	JitterNone JitterKind = "none"
	// JitterFull waits a uniform random duration in [0, b].
	JitterFull JitterKind = "full"
	// JitterEqual waits b/2 plus a uniform random duration in [0, b/2].
	JitterEqual JitterKind = "equal"
	// JitterDecorrelated ignores the kind's growth and waits
	// min(Max, uniform random duration in [Initial, 3 × previous delay]), the
	// previous delay taken as Initial for the first retry: AWS's
	// "decorrelated jitter".
	JitterDecorrelated JitterKind = "decorrelated"
	// JitterRandomized waits a uniform random duration in
	// [b × (1 − RandomizationFactor), b × (1 + RandomizationFactor)]:
	// cenkalti/backoff's "randomization factor" (its default 0.5 spreads
	// waits ±50 % around the schedule).
	JitterRandomized JitterKind = "randomized"
	// JitterAdditive waits b plus a uniform random duration in
	// [0, MaxJitter]: the added jitter of avast/retry-go's RandomDelay and
	// of heimdall's backoffs.
	JitterAdditive JitterKind = "additive"
)

// JitterKinds returns every jitter kind, in a fixed order.
func JitterKinds() []JitterKind {
	return []JitterKind{JitterNone, JitterFull, JitterEqual, JitterDecorrelated, JitterRandomized, JitterAdditive}
}

// Backoff computes the wait before a retry. It is a plain value and its
// Delay method is a pure function of its arguments, so a Backoff is safe for
// concurrent use.
type Backoff struct {
	// Kind is how the base delay grows. Default [BackoffExponential].
	Kind BackoffKind
	// Initial is the base delay after the first attempt. Default 100ms.
	Initial time.Duration
	// Multiplier is the growth factor of [BackoffExponential] (ignored by
	// the other kinds). Default 2. Must be >= 1.
	Multiplier float64
	// Max caps the delay (before jitter for none/full/equal, after it for
	// decorrelated). 0 means no cap. Default 10s.
	Max time.Duration
	// Jitter is how randomness is applied. Default [JitterFull].
	Jitter JitterKind
	// RandomizationFactor is the spread of [JitterRandomized], in [0, 1]
	// (ignored by the other kinds): 0.5 waits between half and one and a
	// half times the capped base delay. 0 means no spread.
	RandomizationFactor float64
	// MaxJitter is the largest duration [JitterAdditive] adds to the capped
	// base delay (ignored by the other kinds). Must be >= 0.
	MaxJitter time.Duration
	// Min is the shortest wait, applied last, after jitter and Max: a wait
	// that would be shorter is raised to Min (resty waits at least its
	// RetryWaitTime). 0 means no floor. Must be >= 0.
	Min time.Duration
}

// DefaultBackoff returns the backoff of [DefaultPolicy]: exponential from
// 100ms, ×2, capped at 10s, full jitter.
func DefaultBackoff() Backoff {
	return Backoff{
		Kind:       BackoffExponential,
		Initial:    100 * time.Millisecond,
		Multiplier: 2,
		Max:        10 * time.Second,
		Jitter:     JitterFull,
	}
}

// ConstantBackoff returns a backoff that waits d before every retry, without
// jitter.
func ConstantBackoff(d time.Duration) Backoff {
	return Backoff{Kind: BackoffConstant, Initial: d, Multiplier: 1, Max: 0, Jitter: JitterNone}
}

// WithJitter returns a copy of b with Jitter set to j.
func (b Backoff) WithJitter(j JitterKind) Backoff { b.Jitter = j; return b }

// WithCap returns a copy of b with Max set to limit.
func (b Backoff) WithCap(limit time.Duration) Backoff { b.Max = limit; return b }

// Validate reports every problem with b, joined, or nil.
func (b Backoff) Validate() error {
	var errs []error
	switch b.Kind {
	case BackoffConstant, BackoffLinear, BackoffExponential:
	default:
		errs = append(errs, fieldErrorf("backoff.kind", "retryclient: Backoff.Kind must be constant, linear or exponential, got %q", b.Kind))
	}
	switch b.Jitter {
	case JitterNone, JitterFull, JitterEqual, JitterDecorrelated, JitterRandomized, JitterAdditive:
	default:
		errs = append(errs, fieldErrorf("backoff.jitter", "retryclient: Backoff.Jitter must be none, full, equal, decorrelated, randomized or additive, got %q", b.Jitter))
	}
	if !(b.RandomizationFactor >= 0 && b.RandomizationFactor <= 1) {
		errs = append(errs, fieldErrorf("backoff.randomization-factor", "retryclient: Backoff.RandomizationFactor must be between 0 and 1, got %v", b.RandomizationFactor))
	}
	if b.MaxJitter < 0 {
		errs = append(errs, fieldErrorf("backoff.max-jitter", "retryclient: Backoff.MaxJitter must be >= 0, got %v", b.MaxJitter))
	}
	if b.Min < 0 {
		errs = append(errs, fieldErrorf("backoff.min", "retryclient: Backoff.Min must be >= 0, got %v", b.Min))
	}
	if b.Initial < 0 {
		errs = append(errs, fieldErrorf("backoff.initial", "retryclient: Backoff.Initial must be >= 0, got %v", b.Initial))
	}
	if b.Kind == BackoffExponential && !(b.Multiplier >= 1) || math.IsInf(b.Multiplier, 0) {
		errs = append(errs, fieldErrorf("backoff.multiplier", "retryclient: Backoff.Multiplier must be a finite number >= 1, got %v", b.Multiplier))
	}
	if b.Max < 0 {
		errs = append(errs, fieldErrorf("backoff.max", "retryclient: Backoff.Max must be >= 0, got %v", b.Max))
	}
	return errors.Join(errs...)
}

// Base returns the delay before jitter after failed attempt number attempt
// (1-based), capped at Max. Decorrelated jitter does not use it.
func (b Backoff) Base(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	var d float64
	switch b.Kind {
	case BackoffLinear:
		d = float64(b.Initial) * float64(attempt)
	case BackoffExponential:
		m := b.Multiplier
		if m < 1 {
			m = 1
		}
		d = float64(b.Initial) * math.Pow(m, float64(attempt-1))
	default:
		d = float64(b.Initial)
	}
	return b.capped(d)
}

// capped converts d to a Duration no larger than Max (when Max > 0) and no
// larger than the largest Duration.
func (b Backoff) capped(d float64) time.Duration {
	if b.Max > 0 && d >= float64(b.Max) {
		return b.Max
	}
	if d >= math.MaxInt64 || math.IsNaN(d) {
		return time.Duration(math.MaxInt64)
	}
	if d < 0 {
		return 0
	}
	return time.Duration(d)
}

// Delay returns the wait after failed attempt number attempt (1-based), before
// attempt+1. prev is the delay chosen before the failed attempt (0 for the
// first attempt); only [JitterDecorrelated] uses it. r is the random source;
// nil means the automatically seeded global source of math/rand/v2, which
// makes the result non-reproducible. The same Backoff, arguments and r
// state always give the same delay, and it always lies within
// [Backoff.Bounds] of the same arguments.
func (b Backoff) Delay(attempt int, prev time.Duration, r *rand.Rand) time.Duration {
	lo, hi := b.jitterBounds(attempt, prev)
	var d time.Duration
	switch b.Jitter {
	case JitterFull, JitterEqual, JitterRandomized, JitterAdditive:
		d = randBetween(lo, hi, r)
	case JitterDecorrelated:
		// AWS's formula: min(cap, uniform(base, 3 × previous)). Drawing
		// below the cap instead would spread waits that have reached it.
		d = randBetween(b.Initial, Backoff{}.capped(float64(max(prev, b.Initial))*3), r)
		if b.Max > 0 && d > b.Max {
			d = b.Max
		}
	default:
		d = lo
	}
	return max(d, b.Min)
}

// Bounds returns the shortest and the longest wait that Delay can choose
// after failed attempt number attempt (1-based), given prev, the delay
// chosen before the failed attempt (only [JitterDecorrelated] uses it).
// Checkers of observed waits use it, so a schedule is described once: a
// wait w of a client that keeps b satisfies lo <= w <= hi.
//
// Without jitter lo == hi == [Backoff.Base]; with full jitter lo is 0.
func (b Backoff) Bounds(attempt int, prev time.Duration) (lo, hi time.Duration) {
	lo, hi = b.jitterBounds(attempt, prev)
	return max(lo, b.Min), max(hi, b.Min)
}

// jitterBounds is Bounds before the Min floor.
func (b Backoff) jitterBounds(attempt int, prev time.Duration) (lo, hi time.Duration) {
	switch b.Jitter {
	case JitterFull:
		return 0, b.Base(attempt)
	case JitterEqual:
		base := b.Base(attempt)
		return base / 2, base
	case JitterDecorrelated:
		hi := Backoff{}.capped(float64(max(prev, b.Initial)) * 3)
		lo := b.Initial
		if b.Max > 0 {
			lo, hi = min(lo, b.Max), min(hi, b.Max)
		}
		return lo, hi
	case JitterRandomized:
		base := float64(b.Base(attempt))
		f := min(max(b.RandomizationFactor, 0), 1)
		return Backoff{}.capped(base * (1 - f)), Backoff{}.capped(base * (1 + f))
	case JitterAdditive:
		base := b.Base(attempt)
		return base, Backoff{}.capped(float64(base) + float64(max(b.MaxJitter, 0)))
	default:
		base := b.Base(attempt)
		return base, base
	}
}

// randBetween returns a uniform random duration in [lo, hi].
func randBetween(lo, hi time.Duration, r *rand.Rand) time.Duration {
	if hi <= lo {
		return lo
	}
	n := uint64(hi - lo)
	if n == math.MaxUint64 {
		n--
	}
	var v uint64
	if r != nil {
		v = r.Uint64N(n + 1)
	} else {
		v = rand.Uint64N(n + 1)
	}
	return lo + time.Duration(v)
}
