package storm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// Limits on the size of a simulation, so that a mistyped number fails at
// once instead of exhausting memory. A capacity run keeps every client's
// pending events (about 90 MB for 100,000 clients); an OCC run's work grows
// with the square of its clients (1,000 clients take seconds per run).
const (
	// MaxClients bounds the clients of the capacity model.
	MaxClients = 100_000
	// MaxOCCClients bounds the clients of the OCC model.
	MaxOCCClients = 1_000
	// MaxRuns bounds the runs the OCC model averages.
	MaxRuns = 1_000
)

// Contender is one retry configuration taking part in a simulation.
type Contender struct {
	// Name labels the contender in reports.
	Name string `json:"name"`
	// Policy decides every retry, exactly as in the Transport.
	Policy retryclient.Policy `json:"policy"`
	// BudgetTokens and BudgetRatio, when BudgetTokens > 0, give all the
	// simulated clients one shared retry budget (see retryclient.NewBudget).
	BudgetTokens float64 `json:"budget_tokens,omitempty"`
	BudgetRatio  float64 `json:"budget_ratio,omitempty"`
}

// CapacityConfig describes the capacity model.
type CapacityConfig struct {
	// Clients is the number of logical requests, one per client.
	Clients int
	// Spread is the window over which the clients start, uniformly.
	Spread time.Duration
	// Capacity is how many requests per second the server completes once the
	// outage is over; requests above it are shed with 503.
	Capacity float64
	// Outage is how long, from the start, every request fails.
	Outage time.Duration
	// OutageTimeouts makes requests during the outage hang until the
	// client's attempt timeout instead of failing with 503 at once.
	OutageTimeouts bool
	// AttemptTimeout stands in, with OutageTimeouts, for the attempt
	// timeout of a contender whose policy has none: such a client would
	// otherwise wait on a hung request forever (in practice, until its
	// caller's deadline). Default 1s. Policies with an AttemptTimeout use
	// their own.
	AttemptTimeout time.Duration
	// Latency is the one-way network delay. Default 5ms.
	Latency time.Duration
	// Seed drives every random choice.
	Seed uint64
}

// WithDefaults returns c with its zero defaults filled in.
func (c CapacityConfig) WithDefaults() CapacityConfig {
	if c.Latency == 0 {
		c.Latency = 5 * time.Millisecond
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = time.Second
	}
	return c
}

// CapacityResult is what one contender did in the capacity model: calls
// made, Amplification (calls per logical request), SuccessRate, the p50 and
// p99 time to success of the requests that succeeded, when the last request
// finished, the busiest second's calls (PeakLoad), and the requests that
// gave up, by reason.
type CapacityResult struct {
	Policy        string
	Clients       int
	Calls         int
	Amplification float64
	SuccessRate   float64
	P50           time.Duration
	P99           time.Duration
	Finished      time.Duration
	PeakLoad      int
	GaveUp        map[string]int
}

// errAttemptTimeout stands for an attempt abandoned at its timeout.
var errAttemptTimeout = errors.New("storm: attempt timed out")

// Validate reports the first thing wrong with c.
func (c CapacityConfig) Validate() error {
	switch {
	case c.Clients < 1 || c.Clients > MaxClients:
		return fmt.Errorf("storm: Clients must be between 1 and %d, got %d", MaxClients, c.Clients)
	case !(c.Capacity > 0) || math.IsInf(c.Capacity, 0):
		return fmt.Errorf("storm: capacity must be a positive number of requests per second, got %v", c.Capacity)
	case c.Outage < 0:
		return fmt.Errorf("storm: Outage must not be negative, got %v", c.Outage)
	case c.Spread < 0:
		return fmt.Errorf("storm: Spread must not be negative, got %v", c.Spread)
	case c.Latency < 0:
		return fmt.Errorf("storm: Latency must not be negative, got %v", c.Latency)
	case c.AttemptTimeout < 0:
		return fmt.Errorf("storm: AttemptTimeout must not be negative, got %v", c.AttemptTimeout)
	}
	return nil
}

// RunCapacity simulates the capacity model for one contender. Each attempt
// travels to the server (Latency), is served or shed there, and its answer
// travels back (Latency); an attempt whose answer would arrive after the
// policy's AttemptTimeout is a timeout at that instant. It stops early with
// ctx's error.
func RunCapacity(ctx context.Context, cfg CapacityConfig, ct Contender) (CapacityResult, error) {
	if err := cfg.Validate(); err != nil {
		return CapacityResult{}, err
	}
	if err := ct.Policy.Validate(); err != nil {
		return CapacityResult{}, err
	}
	cfg = cfg.WithDefaults()
	hangTimeout := ct.Policy.AttemptTimeout
	if hangTimeout == 0 {
		hangTimeout = cfg.AttemptTimeout
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5707))
	var budget *retryclient.Budget
	if ct.BudgetTokens > 0 {
		budget = retryclient.NewBudget(ct.BudgetTokens, ct.BudgetRatio)
	}

	lat := cfg.Latency.Seconds()
	outage := cfg.Outage.Seconds()
	burst := math.Max(1, cfg.Capacity/10)
	tokens, last := burst, 0.0
	admit := func(now float64) bool {
		if now < outage {
			return false
		}
		if last < outage {
			last = outage
		}
		tokens = math.Min(burst, tokens+(now-last)*cfg.Capacity)
		last = now
		if tokens >= 1 {
			tokens--
			return true
		}
		return false
	}

	res := CapacityResult{Policy: ct.Name, Clients: cfg.Clients, GaveUp: map[string]int{}}
	load := map[int]int{}
	var completions []float64
	successes := 0
	var s sim

	var attempt func(start float64, n int, prevDelay time.Duration, sent float64)
	attempt = func(start float64, n int, prevDelay time.Duration, sent float64) {
		s.at(sent+lat, func(now float64) {
			res.Calls++
			load[int(now)]++
			var o retryclient.Outcome
			doneAt := now + lat
			switch {
			case admit(now):
				o.Status = 200
			case now < outage && cfg.OutageTimeouts:
				o.Err, o.Class = errAttemptTimeout, retryclient.ClassTimeout
				doneAt = sent + hangTimeout.Seconds()
			default:
				o.Status = 503
			}
			if t := ct.Policy.AttemptTimeout; t > 0 && doneAt > sent+t.Seconds() {
				o = retryclient.Outcome{Err: errAttemptTimeout, Class: retryclient.ClassTimeout}
				doneAt = sent + t.Seconds()
			}
			doneAt = math.Max(doneAt, now)
			s.at(doneAt, func(now float64) {
				o.Attempt = n
				o.Method = "GET"
				o.Elapsed = seconds(now - start)
				o.PrevDelay = prevDelay
				o.Rand = rng
				// The budget is applied exactly as the Transport applies it.
				d := budget.Apply(ct.Policy, o, ct.Policy.Decide(o))
				if !d.Retry {
					if o.Status == 200 {
						successes++
						completions = append(completions, now-start)
					} else {
						res.GaveUp[string(d.Reason)]++
					}
					return
				}
				attempt(start, n+1, d.Delay, now+d.Delay.Seconds())
			})
		})
	}
	for range cfg.Clients {
		start := rng.Float64() * cfg.Spread.Seconds()
		s.at(start, func(now float64) { attempt(now, 1, 0, now) })
	}
	end, err := s.run(ctx)
	if err != nil {
		return CapacityResult{}, err
	}
	res.Finished = seconds(end)

	res.Amplification = float64(res.Calls) / float64(cfg.Clients)
	res.SuccessRate = float64(successes) / float64(cfg.Clients)
	slices.Sort(completions)
	res.P50 = seconds(quantile(completions, 0.50))
	res.P99 = seconds(quantile(completions, 0.99))
	for _, n := range load {
		res.PeakLoad = max(res.PeakLoad, n)
	}
	return res, nil
}

// quantile returns the q-quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func seconds(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }

// CapacityContenders returns the built-in set for the capacity model: the default
// policy with each jitter kind, with a retry budget, and with no backoff.
func CapacityContenders() []Contender {
	p := retryclient.DefaultPolicy().WithMaxAttempts(8)
	withJitter := func(j retryclient.JitterKind) retryclient.Policy {
		return p.WithBackoff(p.Backoff.WithJitter(j))
	}
	return []Contender{
		{Name: "no-jitter", Policy: withJitter(retryclient.JitterNone)},
		{Name: "full-jitter", Policy: withJitter(retryclient.JitterFull)},
		{Name: "equal-jitter", Policy: withJitter(retryclient.JitterEqual)},
		{Name: "decorrelated", Policy: withJitter(retryclient.JitterDecorrelated)},
		{Name: "full-jitter+budget", Policy: withJitter(retryclient.JitterFull), BudgetTokens: 100, BudgetRatio: 0.1},
		{Name: "no-backoff", Policy: p.WithBackoff(retryclient.Backoff{Kind: retryclient.BackoffConstant, Jitter: retryclient.JitterNone})},
	}
}
