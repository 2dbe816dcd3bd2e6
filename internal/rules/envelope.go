package rules

import (
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// slack absorbs float rounding of Initial·Multiplier^i and the integer
// truncation of schedules that multiply step by step.
const slack = time.Microsecond

// Envelope checks waits against a schedule: the waits a client promises
// before retries that no Retry-After dictated, as retryclient computes them
// (see [retryclient.Backoff.Bounds]), so a schedule is described once.
type Envelope struct {
	// Backoff is the schedule; its Kind and Jitter must be set.
	Backoff retryclient.Backoff
}

// Normalize fills the words a promise may leave out: an empty Kind is
// exponential, an empty Jitter is none, and a zero Multiplier is 1.
func Normalize(b retryclient.Backoff) retryclient.Backoff {
	if b.Kind == "" {
		b.Kind = retryclient.BackoffExponential
	}
	if b.Jitter == "" {
		b.Jitter = retryclient.JitterNone
	}
	if b.Multiplier == 0 {
		b.Multiplier = 1
	}
	return b
}

// Check checks one sequence of waits (one logical request, the waits that
// Retry-After did not dictate, in order; skip marks those to ignore)
// against the envelope: wait i (from 1) must lie within
// Backoff.Bounds(i, previous wait). overshoot is how much longer than the
// bound a wait may be observed (real-time tolerance). For full jitter,
// which has no lower bound per wait, see CheckMeans.
func (e Envelope) Check(waits []time.Duration, skip []bool, overshoot time.Duration) error {
	var prev time.Duration
	for i, w := range waits {
		if i < len(skip) && skip[i] {
			prev = w
			continue
		}
		lo, hi := e.Backoff.Bounds(i+1, prev)
		if w+slack < lo || w > hi+slack+overshoot {
			want := fmt.Sprintf("[%v, %v]", lo, hi)
			if lo == hi {
				want = lo.String()
			}
			return fmt.Errorf("wait %d was %v, the promise is %s %s (waits: %v)", i+1, w, want, JitterPhrase(e.Backoff), waits)
		}
		prev = w
	}
	return nil
}

// NeedsMeans reports whether some wait of the envelope has no lower bound
// above zero (full jitter, or a randomization factor of 1), so that a
// client that does not back off at all passes Check and only CheckMeans
// over several runs can tell it from a correct one.
func (e Envelope) NeedsMeans() bool {
	lo, hi := e.Backoff.Bounds(1, 0)
	return lo == 0 && hi > 0
}

// CheckMeans checks, over several runs of the same scenario, that the mean
// of each wait position is at least a quarter of the middle of its bounds:
// fully jittered waits average half the schedule, so a client that does not
// back off fails, while a correct one fails with a probability below 1e-6
// for 12 runs.
func (e Envelope) CheckMeans(runs [][]time.Duration) error {
	n := 0
	for _, r := range runs {
		n = max(n, len(r))
	}
	for i := range n {
		var sum time.Duration
		var k int
		for _, r := range runs {
			if i < len(r) {
				sum += r[i]
				k++
			}
		}
		mean := sum / time.Duration(k)
		lo, hi := e.Backoff.Bounds(i+1, 0)
		if mid := lo + (hi-lo)/2; mean < mid/4 {
			return fmt.Errorf("wait %d averaged %v over %d runs; a client backing off within [%v, %v] averages about %v", i+1, mean, k, lo, hi, mid)
		}
	}
	return nil
}

// JitterPhrase names b's jitter for messages: "without jitter", "with full
// jitter", "with randomized jitter (±50%)", "with additive jitter (up to
// 100ms)", and the floor when b has one.
func JitterPhrase(b retryclient.Backoff) string {
	var s string
	switch b.Jitter {
	case "", retryclient.JitterNone:
		s = "without jitter"
	case retryclient.JitterRandomized:
		s = fmt.Sprintf("with randomized jitter (±%v%%)", b.RandomizationFactor*100)
	case retryclient.JitterAdditive:
		s = fmt.Sprintf("with additive jitter (up to %v)", b.MaxJitter)
	default:
		s = "with " + string(b.Jitter) + " jitter"
	}
	if b.Min > 0 {
		s += fmt.Sprintf(", at least %v", b.Min)
	}
	return s
}
