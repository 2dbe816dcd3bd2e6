package rules

import (
	"fmt"
	"math"
	"time"
)

// Jitter kinds a backoff envelope can be checked against; the words are
// retryclient's.
const (
	JitterNone         = "none"
	JitterFull         = "full"
	JitterEqual        = "equal"
	JitterDecorrelated = "decorrelated"
)

// Envelope describes the waits a client promises before retries that no
// Retry-After dictated: retry i (from 1) waits Initial·Multiplier^(i-1),
// capped at Max, randomised by Jitter.
type Envelope struct {
	Initial    time.Duration
	Multiplier float64 // 0 means 1 (constant)
	Linear     bool    // retry i waits Initial·i instead
	Max        time.Duration
	Jitter     string // "" means none
}

// slack absorbs float rounding of Initial·Multiplier^i.
const slack = time.Microsecond

// Base returns the un-jittered wait before retry i (from 1).
func (e Envelope) Base(i int) time.Duration {
	m := e.Multiplier
	if m == 0 {
		m = 1
	}
	d := float64(e.Initial) * math.Pow(m, float64(i-1))
	if e.Linear {
		d = float64(e.Initial) * float64(i)
	}
	if e.Max > 0 && d > float64(e.Max) {
		d = float64(e.Max)
	}
	if d > math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// Check checks one sequence of waits (one logical request, the waits that
// Retry-After did not dictate, in order; skip marks those to ignore)
// against the envelope. overshoot is how much longer than the bound a wait
// may be observed (real-time tolerance). For full jitter, which has no
// lower bound per wait, see CheckMeans.
func (e Envelope) Check(waits []time.Duration, skip []bool, overshoot time.Duration) error {
	var prev time.Duration
	for i, w := range waits {
		if i < len(skip) && skip[i] {
			prev = w
			continue
		}
		base := e.Base(i + 1)
		lo, hi := time.Duration(0), base
		switch e.Jitter {
		case JitterFull:
		case JitterEqual:
			lo = base / 2
		case JitterDecorrelated:
			lo = min(e.Initial, e.Max)
			if e.Max == 0 {
				lo = e.Initial
			}
			p := max(prev, e.Initial)
			hi = time.Duration(float64(p) * 3)
			if e.Max > 0 && hi > e.Max {
				hi = e.Max
			}
		default:
			lo = base
		}
		if w+slack < lo || w > hi+slack+overshoot {
			want := fmt.Sprintf("[%v, %v]", lo, hi)
			if lo == hi {
				want = lo.String()
			}
			return fmt.Errorf("wait %d was %v, the promise is %s %s (waits: %v)", i+1, w, want, jitterPhrase(e.Jitter), waits)
		}
		prev = w
	}
	return nil
}

// CheckMeans checks, over several runs of the same scenario, that the mean
// of each wait position is at least an eighth of its envelope: fully
// jittered waits average half the envelope, so a client that does not back
// off fails, while a correct one fails with a probability below 1e-6 for 12
// runs.
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
		if base := e.Base(i + 1); mean < base/8 {
			return fmt.Errorf("wait %d averaged %v over %d runs; a client backing off within %v averages about %v", i+1, mean, k, base, base/2)
		}
	}
	return nil
}

func jitterPhrase(j string) string {
	if j == "" || j == JitterNone {
		return "without jitter"
	}
	return "with " + j + " jitter"
}
