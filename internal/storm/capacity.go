package storm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// Contender is one retry configuration taking part in a simulation.
type Contender struct {
	// Name labels the contender in reports.
	Name string
	// Policy decides every retry, exactly as in the Transport.
	Policy retryclient.Policy
	// BudgetTokens and BudgetRatio, when BudgetTokens > 0, give all the
	// simulated clients one shared retry budget (see retryclient.NewBudget).
	BudgetTokens float64
	BudgetRatio  float64
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
	// AttemptTimeout is the client's attempt timeout in timeout mode when the
	// policy has none. Default 1s.
	AttemptTimeout time.Duration
	// Latency is the one-way network delay. Default 5ms.
	Latency time.Duration
	// Seed drives every random choice.
	Seed uint64
}

// CapacityResult is what one contender did in the capacity model.
type CapacityResult struct {
	Policy        string         `json:"policy"`
	Clients       int            `json:"clients"`
	Calls         int            `json:"calls"`
	Amplification float64        `json:"amplification"`
	SuccessRate   float64        `json:"success_rate"`
	P50           time.Duration  `json:"p50_ns"`
	P99           time.Duration  `json:"p99_ns"`
	Finished      time.Duration  `json:"finished_ns"`
	PeakLoad      int            `json:"peak_load_per_s"`
	GaveUp        map[string]int `json:"gave_up"`
}

// errAttemptTimeout stands for an attempt abandoned at its timeout.
var errAttemptTimeout = errors.New("storm: attempt timed out")

// Validate reports the first thing wrong with c.
func (c CapacityConfig) Validate() error {
	switch {
	case c.Clients < 1:
		return fmt.Errorf("storm: clients must be >= 1, got %d", c.Clients)
	case !(c.Capacity > 0) || math.IsInf(c.Capacity, 0):
		return fmt.Errorf("storm: capacity must be a positive number of requests per second, got %v", c.Capacity)
	case c.Outage < 0 || c.Spread < 0 || c.Latency < 0 || c.AttemptTimeout < 0:
		return errors.New("storm: durations must not be negative")
	}
	return nil
}

// RunCapacity simulates the capacity model for one contender.
func RunCapacity(cfg CapacityConfig, ct Contender) (CapacityResult, error) {
	if err := cfg.Validate(); err != nil {
		return CapacityResult{}, err
	}
	if err := ct.Policy.Validate(); err != nil {
		return CapacityResult{}, err
	}
	if cfg.Latency == 0 {
		cfg.Latency = 5 * time.Millisecond
	}
	timeout := ct.Policy.AttemptTimeout
	if timeout == 0 {
		timeout = cfg.AttemptTimeout
	}
	if timeout == 0 {
		timeout = time.Second
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
	completions := make([]float64, 0, cfg.Clients)
	successes := 0
	var s sim

	var attempt func(start float64, n int, prevDelay time.Duration, now float64)
	attempt = func(start float64, n int, prevDelay time.Duration, now float64) {
		arrive := now + lat
		s.at(arrive, func(now float64) {
			res.Calls++
			load[int(now)]++
			ok := admit(now)
			var doneAt float64
			var o retryclient.Outcome
			switch {
			case ok:
				doneAt = now + lat
				o.Status = 200
			case now < outage && cfg.OutageTimeouts:
				doneAt = now - lat + timeout.Seconds()
				o.Err, o.Class = errAttemptTimeout, retryclient.ClassTimeout
			default:
				doneAt = now + lat
				o.Status = 503
			}
			s.at(doneAt, func(now float64) {
				o.Attempt = n
				o.Method = "GET"
				o.Elapsed = seconds(now - start)
				o.PrevDelay = prevDelay
				o.Rand = rng
				// The budget is applied exactly as the Transport applies it.
				d := budget.Apply(ct.Policy, o, ct.Policy.Decide(o))
				if !d.Retry {
					completions = append(completions, now-start)
					if o.Status == 200 {
						successes++
					} else {
						res.GaveUp[string(d.Reason)]++
					}
					return
				}
				attempt(start, n+1, d.Delay, now+d.Delay.Seconds())
			})
		})
	}
	for i := 0; i < cfg.Clients; i++ {
		start := rng.Float64() * cfg.Spread.Seconds()
		s.at(start, func(now float64) { attempt(now, 1, 0, now) })
	}
	res.Finished = seconds(s.run())

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
