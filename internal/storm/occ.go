package storm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// OCCConfig describes the optimistic-concurrency model: every client reads a
// row's version, then writes it back conditionally; a write whose version is
// stale fails and the client starts over after its backoff.
type OCCConfig struct {
	// Clients is the number of clients, each updating the row once.
	Clients int
	// Runs is how many independent runs are averaged. Default 100.
	Runs int
	// NetMean and NetSD give the one-way network delay, |N(mean, sd)|.
	// Defaults 10ms and 2ms.
	NetMean time.Duration
	NetSD   time.Duration
	// Seed drives every random choice.
	Seed uint64
}

// WithDefaults returns c with its zero defaults filled in.
func (c OCCConfig) WithDefaults() OCCConfig {
	if c.Runs == 0 {
		c.Runs = 100
	}
	if c.NetMean == 0 {
		c.NetMean = 10 * time.Millisecond
	}
	if c.NetSD == 0 {
		c.NetSD = 2 * time.Millisecond
	}
	return c
}

// OCCResult is a contender's average over the runs of the OCC model: Calls
// are writes per run, Time the completion of the last write. Unwritten counts, on average per run, the clients whose policy stopped
// retrying before their write succeeded.
type OCCResult struct {
	Policy    string
	Clients   int
	Runs      int
	Calls     float64
	Time      time.Duration
	Unwritten float64
}

// OCCContenders returns the five strategies of the 2015 article on top of the
// policy decision code: exponential backoff from 5ms capped at 2s with no,
// full, equal and decorrelated jitter, and no backoff at all. Conflicts are
// reported as 409 and retried until the write succeeds.
func OCCContenders() []Contender {
	base := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 5 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second}
	mk := func(name string, b retryclient.Backoff) Contender {
		p := retryclient.DefaultPolicy()
		p.MaxAttempts = math.MaxInt32
		p.RetryStatuses = []int{409}
		p.Backoff = b
		return Contender{Name: name, Policy: p}
	}
	return []Contender{
		mk("exponential", base.WithJitter(retryclient.JitterNone)),
		mk("full-jitter", base.WithJitter(retryclient.JitterFull)),
		mk("equal-jitter", base.WithJitter(retryclient.JitterEqual)),
		mk("decorrelated", base.WithJitter(retryclient.JitterDecorrelated)),
		mk("no-backoff", retryclient.Backoff{Kind: retryclient.BackoffConstant, Jitter: retryclient.JitterNone}),
	}
}

// ForOCC returns p made fit for the OCC model: a conflict is answered 409,
// so 409 is added to the statuses p retries.
func ForOCC(p retryclient.Policy) retryclient.Policy {
	if !slices.Contains(p.RetryStatuses, 409) {
		p = p.WithRetryStatuses(append(slices.Clone(p.RetryStatuses), 409)...)
	}
	return p
}

// RunOCC simulates the OCC model for one contender, averaged over cfg.Runs.
// A conflict is a 409 answer to the write, decided on by ct.Policy (see
// ForOCC). It stops early with ctx's error.
func RunOCC(ctx context.Context, cfg OCCConfig, ct Contender) (OCCResult, error) {
	if cfg.Clients < 1 || cfg.Clients > MaxOCCClients {
		return OCCResult{}, fmt.Errorf("storm: Clients must be between 1 and %d, got %d", MaxOCCClients, cfg.Clients)
	}
	if cfg.Runs < 0 || cfg.Runs > MaxRuns {
		return OCCResult{}, fmt.Errorf("storm: Runs must be between 1 and %d (0 for the default), got %d", MaxRuns, cfg.Runs)
	}
	cfg = cfg.WithDefaults()
	switch {
	case cfg.NetMean < 0:
		return OCCResult{}, fmt.Errorf("storm: NetMean must not be negative, got %v", cfg.NetMean)
	case cfg.NetSD < 0:
		return OCCResult{}, fmt.Errorf("storm: NetSD must not be negative, got %v", cfg.NetSD)
	}
	if err := ct.Policy.Validate(); err != nil {
		return OCCResult{}, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x0cc))
	mean, sd := cfg.NetMean.Seconds(), cfg.NetSD.Seconds()
	delay := func() float64 { return math.Abs(rng.NormFloat64()*sd + mean) }

	totalCalls, totalTime, unwritten := 0, 0.0, 0
	for range cfg.Runs {
		var s sim
		version := 0
		calls := 0
		for range cfg.Clients {
			var read func(now float64, n int, prev time.Duration)
			read = func(now float64, n int, prev time.Duration) {
				// The read request reaches the server, which answers with the
				// current version.
				s.at(now+delay(), func(now float64) {
					seen := version
					// The answer reaches the client, which sends the write.
					s.at(now+delay(), func(now float64) {
						s.at(now+delay(), func(now float64) {
							calls++
							ok := seen == version
							if ok {
								version++
							}
							// The write's answer reaches the client.
							s.at(now+delay(), func(now float64) {
								if ok {
									return
								}
								d := ct.Policy.Decide(retryclient.Outcome{
									Attempt: n, Method: "PUT", Status: 409,
									PrevDelay: prev, Rand: rng,
								})
								if !d.Retry {
									unwritten++
									return
								}
								read(now+d.Delay.Seconds(), n+1, d.Delay)
							})
						})
					})
				})
			}
			read(0, 1, 0)
		}
		end, err := s.run(ctx)
		if err != nil {
			return OCCResult{}, err
		}
		totalTime += end
		totalCalls += calls
	}
	return OCCResult{
		Policy:    ct.Name,
		Clients:   cfg.Clients,
		Runs:      cfg.Runs,
		Calls:     float64(totalCalls) / float64(cfg.Runs),
		Time:      seconds(totalTime / float64(cfg.Runs)),
		Unwritten: float64(unwritten) / float64(cfg.Runs),
	}, nil
}
