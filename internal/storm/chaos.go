package storm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// MaxChaosSequences bounds the sequences of one chaos run.
const MaxChaosSequences = 100_000

// ChaosConfig describes the chaos model: single logical requests, each
// meeting its own seeded random sequence of faults, with a caller deadline.
type ChaosConfig struct {
	// Sequences is the number of logical requests, each with its own
	// sequence. Default 1000.
	Sequences int
	// Deadline is the caller's deadline for one logical request: a request
	// still unanswered then has failed ("deadline"). Default 30s.
	Deadline time.Duration
	// Latency is the time an answer takes. Default 10ms.
	Latency time.Duration
	// Seed drives every random choice.
	Seed uint64
}

// WithDefaults returns c with its zero defaults filled in.
func (c ChaosConfig) WithDefaults() ChaosConfig {
	if c.Sequences == 0 {
		c.Sequences = 1000
	}
	if c.Deadline == 0 {
		c.Deadline = 30 * time.Second
	}
	if c.Latency == 0 {
		c.Latency = 10 * time.Millisecond
	}
	return c
}

// Validate reports the first thing wrong with c.
func (c ChaosConfig) Validate() error {
	switch {
	case c.Sequences < 0 || c.Sequences > MaxChaosSequences:
		return fmt.Errorf("storm: Sequences must be between 1 and %d, got %d", MaxChaosSequences, c.Sequences)
	case c.Deadline < 0:
		return fmt.Errorf("storm: Deadline must not be negative, got %v", c.Deadline)
	case c.Latency < 0:
		return fmt.Errorf("storm: Latency must not be negative, got %v", c.Latency)
	}
	return nil
}

// ChaosResult is what one contender did in the chaos model: the share of
// requests that ended in success, of those that could have (a success was
// reachable within the deadline by retrying at once, latency aside, and
// the sequence held no permanent error) but did not (Missed), the average
// attempts, the p99 time to success of the requests that succeeded (0 when
// none did), and how the failures ended, by reason ("deadline" for
// requests still unanswered at the caller's deadline).
type ChaosResult struct {
	Policy      string
	Sequences   int
	SuccessRate float64
	Missed      int
	AvgAttempts float64
	P99         time.Duration
	Ended       map[string]int
}

// chaosStep is one answer of a sequence.
type chaosStep struct {
	status     int // 0: no answer
	class      retryclient.ErrorClass
	retryAfter time.Duration // > 0: Retry-After sent with status
	hang       bool          // no answer until the attempt times out
}

// chaosSteps are the faults a sequence draws from, with the success that
// ends most of them: the transient statuses, 429 with Retry-After (short
// and long), a hang, a reset, and a permanent 400.
func drawChaosStep(rng *rand.Rand) chaosStep {
	switch rng.IntN(10) {
	case 0, 1:
		return chaosStep{status: 503}
	case 2:
		return chaosStep{status: 502}
	case 3:
		return chaosStep{status: 429, retryAfter: time.Duration(1+rng.IntN(5)) * time.Second}
	case 4:
		return chaosStep{status: 429, retryAfter: 2 * time.Minute}
	case 5:
		return chaosStep{hang: true}
	case 6, 7:
		return chaosStep{class: retryclient.ClassConnection}
	case 8:
		return chaosStep{status: 400}
	}
	return chaosStep{status: 200}
}

var errChaosReset = errors.New("storm: connection reset")

// RunChaos plays cfg.Sequences logical requests through ct's policy, each
// against its own sequence of up to six faults drawn from the seed and
// then a success. Every decision is the policy's Decide (and its shared
// budget, if any) on simulated time. It stops early with ctx's error.
func RunChaos(ctx context.Context, cfg ChaosConfig, ct Contender) (ChaosResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return ChaosResult{}, err
	}
	if err := ct.Policy.Validate(); err != nil {
		return ChaosResult{}, err
	}
	budget := ct.budget()
	res := ChaosResult{Policy: ct.Name, Sequences: cfg.Sequences, Ended: map[string]int{}}
	var times []float64
	attempts, successes := 0, 0
	for i := range cfg.Sequences {
		if i%1024 == 0 && ctx.Err() != nil {
			return ChaosResult{}, ctx.Err()
		}
		// Each sequence has its own stream, so contenders meet the same
		// sequences whatever they do with their draws.
		seq := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		steps := make([]chaosStep, seq.IntN(7))
		for j := range steps {
			steps[j] = drawChaosStep(seq)
		}
		steps = append(steps, chaosStep{status: 200})
		jitter := rand.New(rand.NewPCG(cfg.Seed^0x6a17, uint64(i)))
		end, ok, n, reason := playChaos(steps, ct.Policy, budget, cfg, jitter)
		attempts += n
		if ok {
			successes++
			times = append(times, end.Seconds())
			continue
		}
		res.Ended[reason]++
		if reachable(steps, cfg.Deadline) {
			res.Missed++
		}
	}
	res.SuccessRate = float64(successes) / float64(cfg.Sequences)
	res.AvgAttempts = float64(attempts) / float64(cfg.Sequences)
	slices.Sort(times)
	res.P99 = seconds(quantile(times, 0.99))
	return res, nil
}

// playChaos plays one sequence: the time the request ended, whether it
// succeeded, its attempts, and the reason it stopped otherwise.
func playChaos(steps []chaosStep, p retryclient.Policy, budget *retryclient.Budget, cfg ChaosConfig, rng *rand.Rand) (time.Duration, bool, int, string) {
	var now, prevDelay time.Duration
	for n := 1; ; n++ {
		st := steps[min(n-1, len(steps)-1)]
		o := retryclient.Outcome{Attempt: n, Method: "GET", PrevDelay: prevDelay, Rand: rng}
		took := cfg.Latency
		switch {
		case st.hang:
			if p.AttemptTimeout == 0 || now+p.AttemptTimeout >= cfg.Deadline {
				return cfg.Deadline, false, n, "deadline"
			}
			took = p.AttemptTimeout
			o.Err, o.Class = errAttemptTimeout, retryclient.ClassTimeout
		case st.class != retryclient.ClassNone:
			o.Err, o.Class = errChaosReset, st.class
		default:
			if t := p.AttemptTimeout; t > 0 && t < took {
				took = t
				o.Err, o.Class = errAttemptTimeout, retryclient.ClassTimeout
				break
			}
			o.Status = st.status
			if st.retryAfter > 0 {
				o.RetryAfterDelay = st.retryAfter
			}
		}
		now += took
		if now >= cfg.Deadline {
			return cfg.Deadline, false, n, "deadline"
		}
		o.Elapsed = now
		d := budget.Apply(p, o, p.Decide(o))
		if !d.Retry {
			if o.Status == 200 {
				return now, true, n, ""
			}
			return now, false, n, string(d.Reason)
		}
		if now+d.Delay >= cfg.Deadline {
			return cfg.Deadline, false, n, "deadline"
		}
		now += d.Delay
		prevDelay = d.Delay
	}
}

// reachable reports whether a client could have succeeded: no permanent
// error before the success, and the success reachable within the deadline
// by retrying at once after each answer (a hang costing at most 1s).
func reachable(steps []chaosStep, deadline time.Duration) bool {
	var t time.Duration
	for _, st := range steps {
		switch {
		case st.status == 200:
			return t < deadline
		case st.status == 400:
			return false
		case st.hang:
			t += time.Second
		case st.retryAfter > 0:
			t += st.retryAfter
		}
	}
	return false
}
