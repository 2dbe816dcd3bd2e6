package storm

import (
	"cmp"
	"context"
	"encoding/json"
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
	// Adaptive gives all the simulated clients one shared
	// retryclient.AdaptiveLimiter (capacity model only): every attempt
	// waits for its send rate, and every answer adapts it; the server's
	// 503s count as throttling, as a load-shedding server's 503 with
	// Retry-After would.
	Adaptive bool `json:"adaptive,omitempty"`
	// BreakerFailures, when above 0, gives all the simulated clients one
	// shared circuit breaker (capacity model only), as
	// sony/gobreaker's TwoStepCircuitBreaker with ReadyToTrip on
	// BreakerFailures consecutive failures and Timeout BreakerOpen: while
	// open, attempts fail at once (circuit-open); after BreakerOpen one
	// trial attempt is let through, and its success closes the breaker.
	BreakerFailures int           `json:"breaker_failures,omitempty"`
	BreakerOpen     time.Duration `json:"-"`
}

// budget returns the shared budget of the contender's clients: its own
// BudgetTokens, or else its policy's Budget; nil for none.
func (ct Contender) budget() *retryclient.Budget {
	switch {
	case ct.BudgetTokens > 0:
		return retryclient.NewBudget(ct.BudgetTokens, ct.BudgetRatio)
	case ct.Policy.Budget.Tokens > 0:
		return retryclient.NewBudget(ct.Policy.Budget.Tokens, ct.Policy.Budget.Ratio)
	}
	return nil
}

// MarshalJSON writes a Contender with BreakerOpen as a Go duration string
// ("breaker_open": "1s"), like every duration in RetryLab's JSON.
func (c Contender) MarshalJSON() ([]byte, error) {
	type plain Contender
	var open string
	if c.BreakerOpen != 0 {
		open = c.BreakerOpen.String()
	}
	return json.Marshal(struct {
		plain
		BreakerOpen string `json:"breaker_open,omitempty"`
	}{plain(c), open})
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
	r := newCapacityRun(cfg.WithDefaults(), ct)
	for range cfg.Clients {
		start := r.rng.Float64() * cfg.Spread.Seconds()
		r.s.at(start, func(now float64) { r.attempt(now, 1, 0, now) })
	}
	end, err := r.s.run(ctx)
	if err != nil {
		return CapacityResult{}, err
	}
	return r.result(end), nil
}

// capacityRun is one run of the capacity model: the server, the clients'
// shared budget, limiter and breaker, and what happened.
type capacityRun struct {
	cfg         CapacityConfig
	ct          Contender
	s           sim
	rng         *rand.Rand
	server      capacityServer
	budget      *retryclient.Budget
	limiter     *retryclient.AdaptiveLimiter
	breaker     *simBreaker
	pacer       *simPacer
	hangTimeout time.Duration // how long an outage hang lasts for this policy

	res         CapacityResult
	load        map[int]int // calls per second
	completions []float64
	successes   int
}

func newCapacityRun(cfg CapacityConfig, ct Contender) *capacityRun {
	r := &capacityRun{cfg: cfg, ct: ct, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5707)), budget: ct.budget(),
		server:      newCapacityServer(cfg),
		hangTimeout: cmp.Or(ct.Policy.AttemptTimeout, cfg.AttemptTimeout),
		res:         CapacityResult{Policy: ct.Name, Clients: cfg.Clients, GaveUp: map[string]int{}},
		load:        map[int]int{},
	}
	if ct.Adaptive {
		r.limiter = retryclient.NewAdaptiveLimiter()
	}
	if ct.BreakerFailures > 0 {
		r.breaker = &simBreaker{failures: ct.BreakerFailures, open: ct.BreakerOpen.Seconds()}
	}
	r.pacer = &simPacer{s: &r.s, l: r.limiter}
	return r
}

// attempt is attempt n of the request that started at start, planned for
// sent: the limiter's pacing, the breaker's admission at the send instant,
// the trip to the server and back.
func (r *capacityRun) attempt(start float64, n int, prevDelay time.Duration, sent float64) {
	lat := r.cfg.Latency.Seconds()
	r.pacer.send(sent, func(sent float64) {
		r.atSend(sent, func(now float64) {
			trial := false
			if r.breaker != nil {
				var ok bool
				if ok, trial = r.breaker.allow(now); !ok {
					r.res.GaveUp[string(retryclient.ReasonCircuitOpen)]++
					return
				}
			}
			r.s.at(now+lat, func(now float64) {
				o, doneAt := r.serve(now, sent)
				r.s.at(doneAt, func(now float64) { r.answered(start, n, prevDelay, now, o, trial) })
			})
		})
	})
}

// atSend runs f at the instant a send planned for at goes out: the
// breaker is asked then, as the Transport asks it just before sending,
// not when the retry was decided. Without a breaker f runs at once.
func (r *capacityRun) atSend(at float64, f func(now float64)) {
	if r.breaker == nil || r.limiter != nil {
		f(at) // the pacer already runs f at its send instant
		return
	}
	r.s.at(at, f)
}

// serve is the server's answer to an attempt sent at sent that arrives at
// now, and when the client has it (or gives up on it).
func (r *capacityRun) serve(now, sent float64) (o retryclient.Outcome, doneAt float64) {
	r.res.Calls++
	r.load[int(now)]++
	doneAt = now + r.cfg.Latency.Seconds()
	switch {
	case r.server.admit(now):
		o.Status = 200
	case now < r.cfg.Outage.Seconds() && r.cfg.OutageTimeouts:
		o.Err, o.Class = errAttemptTimeout, retryclient.ClassTimeout
		doneAt = sent + r.hangTimeout.Seconds()
	default:
		o.Status = 503
	}
	if t := r.ct.Policy.AttemptTimeout; t > 0 && doneAt > sent+t.Seconds() {
		o = retryclient.Outcome{Err: errAttemptTimeout, Class: retryclient.ClassTimeout}
		doneAt = sent + t.Seconds()
	}
	return o, math.Max(doneAt, now)
}

// answered feeds the limiter and the breaker, then decides as the
// Transport does (Decide, then the budget) and plans the next attempt.
func (r *capacityRun) answered(start float64, n int, prevDelay time.Duration, now float64, o retryclient.Outcome, trial bool) {
	if r.limiter != nil && o.Err == nil {
		r.limiter.Observe(simTime(now), o.Status == 503)
		r.pacer.rateChanged(now)
	}
	if r.breaker != nil {
		r.breaker.done(now, o.Status != 200, trial)
	}
	o.Attempt, o.Method, o.PrevDelay, o.Rand = n, "GET", prevDelay, r.rng
	o.Elapsed = seconds(now - start)
	p := r.ct.Policy
	d := r.budget.Apply(p, o, p.Decide(o))
	switch {
	case d.Retry:
		r.attempt(start, n+1, d.Delay, now+d.Delay.Seconds())
	case o.Status == 200:
		r.successes++
		r.completions = append(r.completions, now-start)
	default:
		r.res.GaveUp[string(d.Reason)]++
	}
}

// result summarises the run, which ended at end.
func (r *capacityRun) result(end float64) CapacityResult {
	res := r.res
	res.Finished = seconds(end)
	res.Amplification = float64(res.Calls) / float64(r.cfg.Clients)
	res.SuccessRate = float64(r.successes) / float64(r.cfg.Clients)
	slices.Sort(r.completions)
	res.P50 = seconds(quantile(r.completions, 0.50))
	res.P99 = seconds(quantile(r.completions, 0.99))
	for _, n := range r.load {
		res.PeakLoad = max(res.PeakLoad, n)
	}
	return res
}

// capacityServer fails every request during the outage, then completes at
// most Capacity requests per second (a token bucket holding a tenth of a
// second's worth) and sheds the rest.
type capacityServer struct {
	outage, capacity, burst float64
	tokens, last            float64
}

func newCapacityServer(cfg CapacityConfig) capacityServer {
	burst := math.Max(1, cfg.Capacity/10)
	return capacityServer{outage: cfg.Outage.Seconds(), capacity: cfg.Capacity, burst: burst, tokens: burst}
}

// admit reports whether a request arriving at now is served.
func (c *capacityServer) admit(now float64) bool {
	if now < c.outage {
		return false
	}
	c.last = math.Max(c.last, c.outage)
	c.tokens = math.Min(c.burst, c.tokens+(now-c.last)*c.capacity)
	c.last = now
	if c.tokens >= 1 {
		c.tokens--
		return true
	}
	return false
}

// simEpoch is the wall-clock instant the simulation's time 0 stands for,
// for the retryclient types that take a time.Time.
var simEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func simTime(t float64) time.Time { return simEpoch.Add(seconds(t)) }

// simPacer makes simulated sends wait for an AdaptiveLimiter's tokens,
// first come first served, as the Transport's waiting requests do; a
// change of rate takes effect for the sends already waiting.
type simPacer struct {
	s     *sim
	l     *retryclient.AdaptiveLimiter // nil: no pacing
	queue []func(now float64)
	gen   uint64 // the generation of the one dispatch event that counts
}

// send calls f at the instant a send planned for at may go.
func (p *simPacer) send(at float64, f func(now float64)) {
	if p.l == nil {
		f(at)
		return
	}
	p.s.at(at, func(now float64) {
		p.queue = append(p.queue, f)
		if len(p.queue) == 1 {
			p.dispatch(now)
		}
	})
}

// dispatch sends the waiting sends that have tokens and plans the next.
func (p *simPacer) dispatch(now float64) {
	for len(p.queue) > 0 {
		if d := p.l.Take(simTime(now)); d > 0 {
			p.schedule(now + d.Seconds())
			return
		}
		f := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		f(now)
	}
}

func (p *simPacer) schedule(at float64) {
	p.gen++
	g := p.gen
	p.s.at(at, func(now float64) {
		if g == p.gen {
			p.dispatch(now)
		}
	})
}

// rateChanged lets the waiting sends see a new rate at once.
func (p *simPacer) rateChanged(now float64) {
	if len(p.queue) > 0 {
		p.schedule(now)
	}
}

// simBreaker is a circuit breaker on simulated time with the semantics of
// sony/gobreaker's TwoStepCircuitBreaker (ReadyToTrip on consecutive
// failures, MaxRequests 1): closed until failures consecutive failures,
// then open for open seconds, then half-open: one trial at a time, whose
// success closes it and whose failure opens it again.
type simBreaker struct {
	failures int
	open     float64

	consecutive int
	openUntil   float64 // > 0 while open or half-open
	trial       bool    // a half-open trial is in flight
}

// allow reports whether an attempt may start at now, and whether it is
// the half-open trial.
func (b *simBreaker) allow(now float64) (ok, trial bool) {
	switch {
	case b.openUntil == 0:
		return true, false
	case now < b.openUntil || b.trial:
		return false, false
	}
	b.trial = true
	return true, true
}

// done records an attempt's result; results of attempts that started
// before the breaker opened do not decide a half-open trial.
func (b *simBreaker) done(now float64, failed, trial bool) {
	if trial {
		b.trial = false
		if failed {
			b.openUntil = now + b.open
		} else {
			b.openUntil, b.consecutive = 0, 0
		}
		return
	}
	if b.openUntil != 0 {
		return
	}
	if !failed {
		b.consecutive = 0
		return
	}
	if b.consecutive++; b.consecutive >= b.failures {
		b.openUntil = now + b.open
	}
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
		{Name: "full-jitter+adaptive", Policy: withJitter(retryclient.JitterFull), Adaptive: true},
		{Name: "full-jitter+breaker", Policy: withJitter(retryclient.JitterFull), BreakerFailures: 5, BreakerOpen: time.Second},
		{Name: "no-backoff", Policy: p.WithBackoff(retryclient.Backoff{Kind: retryclient.BackoffConstant, Jitter: retryclient.JitterNone})},
	}
}
