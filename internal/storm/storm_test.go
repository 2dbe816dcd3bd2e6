package storm

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func capacityContenders() []Contender {
	noJitter := retryclient.DefaultPolicy()
	noJitter.MaxAttempts = 6
	noJitter.Backoff = noJitter.Backoff.WithJitter(retryclient.JitterNone)
	full := noJitter
	full.Backoff = full.Backoff.WithJitter(retryclient.JitterFull)
	return []Contender{
		{Name: "no-jitter", Policy: noJitter},
		{Name: "full-jitter", Policy: full},
		{Name: "full-jitter+budget", Policy: full, BudgetTokens: 100, BudgetRatio: 0.1},
	}
}

func TestCapacityIsDeterministic(t *testing.T) {
	cfg := CapacityConfig{Clients: 500, Capacity: 200, Outage: time.Second, Seed: 3}
	for _, ct := range capacityContenders() {
		a, err := RunCapacity(t.Context(), cfg, ct)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := RunCapacity(t.Context(), cfg, ct)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: same seed, different results:\n%+v\n%+v", ct.Name, a, b)
		}
		cfg2 := cfg
		cfg2.Seed = 4
		c, _ := RunCapacity(t.Context(), cfg2, ct)
		if ct.Name != "no-jitter" && reflect.DeepEqual(a, c) {
			t.Errorf("%s: seeds 3 and 4 gave identical results", ct.Name)
		}
	}
}

func TestCapacityAccounting(t *testing.T) {
	ct := capacityContenders()[0]
	// No outage and ample capacity: every request succeeds at once.
	r, err := RunCapacity(t.Context(), CapacityConfig{Clients: 50, Capacity: 1e6, Spread: time.Second, Seed: 1}, ct)
	if err != nil {
		t.Fatal(err)
	}
	if r.Calls != 50 || r.Amplification != 1 || r.SuccessRate != 1 {
		t.Errorf("healthy server: got %+v, want 50 calls, amplification 1, success 1", r)
	}
	if r.P99 != 10*time.Millisecond {
		t.Errorf("healthy server: p99 %v, want one round trip (10ms)", r.P99)
	}
	// An outage longer than the whole retry schedule: every request makes
	// MaxAttempts calls and gives up.
	r, _ = RunCapacity(t.Context(), CapacityConfig{Clients: 50, Capacity: 10, Outage: time.Hour, Seed: 1}, ct)
	if r.Calls != 50*6 || r.SuccessRate != 0 || r.GaveUp["max-attempts"] != 50 {
		t.Errorf("endless outage: got %+v, want 300 calls, no success, 50 gave up at max-attempts", r)
	}
}

func TestCapacityBudgetLimitsAmplification(t *testing.T) {
	cts := capacityContenders()
	cfg := CapacityConfig{Clients: 2000, Capacity: 100, Outage: 5 * time.Second, Seed: 9}
	free, _ := RunCapacity(t.Context(), cfg, cts[1])
	budgeted, _ := RunCapacity(t.Context(), cfg, cts[2])
	if !(budgeted.Amplification < free.Amplification) {
		t.Errorf("budget did not reduce amplification: %v with, %v without", budgeted.Amplification, free.Amplification)
	}
	if budgeted.GaveUp["budget-exhausted"] == 0 {
		t.Errorf("no request stopped for the budget: %+v", budgeted.GaveUp)
	}
}

func TestCapacityRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]CapacityConfig{
		"no clients":    {Capacity: 1},
		"zero capacity": {Clients: 1},
		"negative":      {Clients: 1, Capacity: 1, Outage: -time.Second},
	} {
		if _, err := RunCapacity(t.Context(), cfg, capacityContenders()[0]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestOCCJitterBeatsNoJitter(t *testing.T) {
	cfg := OCCConfig{Clients: 50, Runs: 20, Seed: 1}
	got := map[string]OCCResult{}
	for _, ct := range OCCContenders() {
		r, err := RunOCC(t.Context(), cfg, ct)
		if err != nil {
			t.Fatal(err)
		}
		got[ct.Name] = r
	}
	// The article's findings: every jittered strategy does less work than
	// un-jittered exponential backoff, and no backoff does the most.
	for _, name := range []string{"full-jitter", "equal-jitter", "decorrelated"} {
		if !(got[name].Calls < got["exponential"].Calls) {
			t.Errorf("%s: %.1f calls, not fewer than exponential's %.1f", name, got[name].Calls, got["exponential"].Calls)
		}
	}
	if !(got["no-backoff"].Calls > got["exponential"].Calls) {
		t.Errorf("no-backoff: %.1f calls, not more than exponential's %.1f", got["no-backoff"].Calls, got["exponential"].Calls)
	}
	// Every client writes exactly once in the end.
	for name, r := range got {
		if r.Calls < 50 {
			t.Errorf("%s: %.1f calls for 50 clients", name, r.Calls)
		}
	}
}

func BenchmarkCapacity10000Clients(b *testing.B) {
	ct := capacityContenders()[1]
	cfg := CapacityConfig{Clients: 10000, Capacity: 1000, Outage: 10 * time.Second, Seed: 1}
	for b.Loop() {
		if _, err := RunCapacity(b.Context(), cfg, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCapacityAttemptTimeout: an attempt timeout shorter than the round trip
// fails every attempt (regression: the policy's AttemptTimeout was ignored
// and every request succeeded).
func TestCapacityAttemptTimeout(t *testing.T) {
	p := retryclient.DefaultPolicy().WithAttemptTimeout(5 * time.Millisecond)
	r, err := RunCapacity(t.Context(), CapacityConfig{Clients: 100, Capacity: 1e6, Seed: 1}, Contender{Name: "t5", Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	if r.SuccessRate != 0 || r.GaveUp["max-attempts"] != 100 || r.Calls != 300 {
		t.Errorf("got %+v, want every request to time out 3 times", r)
	}
	// With a long enough timeout the same requests succeed at once.
	r, _ = RunCapacity(t.Context(), CapacityConfig{Clients: 100, Capacity: 1e6, Seed: 1},
		Contender{Name: "t50", Policy: p.WithAttemptTimeout(50 * time.Millisecond)})
	if r.SuccessRate != 1 || r.P99 != 10*time.Millisecond {
		t.Errorf("got %+v, want every request through in one round trip", r)
	}
}

func TestCapacityOutageTimeouts(t *testing.T) {
	p := retryclient.DefaultPolicy().WithMaxAttempts(2).WithBackoff(retryclient.ConstantBackoff(time.Second))
	r, err := RunCapacity(t.Context(), CapacityConfig{Clients: 10, Capacity: 1e6, Outage: 500 * time.Millisecond,
		OutageTimeouts: true, AttemptTimeout: 300 * time.Millisecond, Seed: 1}, Contender{Name: "x", Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	// Each request hangs 300ms, waits 1s, then meets the recovered server.
	if r.SuccessRate != 1 || r.P50 != 1310*time.Millisecond {
		t.Errorf("got %+v, want all to succeed after 300ms + 1s + one round trip", r)
	}
}

func TestSimulationsStopWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := RunCapacity(ctx, CapacityConfig{Clients: 1000, Capacity: 10, Outage: time.Minute}, capacityContenders()[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("capacity: %v", err)
	}
	if _, err := RunOCC(ctx, OCCConfig{Clients: 100, Runs: 1}, OCCContenders()[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("occ: %v", err)
	}
}

// TestBounds: an OCC run with 10,000,000 clients ran out of memory, and
// 2,000,000,000 runs were accepted; limits fail at once, naming the field.
func TestBounds(t *testing.T) {
	capacity := func(c CapacityConfig) error {
		_, err := RunCapacity(t.Context(), c, capacityContenders()[0])
		return err
	}
	occ := func(c OCCConfig) error {
		_, err := RunOCC(t.Context(), c, OCCContenders()[0])
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"capacity clients", capacity(CapacityConfig{Clients: MaxClients + 1, Capacity: 1}), "storm: Clients must be between 1 and 100000, got 100001"},
		{"occ clients out of memory", occ(OCCConfig{Clients: 10_000_000}), "storm: Clients must be between 1 and 1000, got 10000000"},
		{"occ runs", occ(OCCConfig{Clients: 10, Runs: 2_000_000_000}), "storm: Runs must be between 1 and 1000 (0 for the default), got 2000000000"},
		{"negative duration names no field", capacity(CapacityConfig{Clients: 1, Capacity: 1, Spread: -time.Second}), "storm: Spread must not be negative, got -1s"},
		{"negative outage", capacity(CapacityConfig{Clients: 1, Capacity: 1, Outage: -time.Second}), "storm: Outage must not be negative, got -1s"},
		{"negative net delay", occ(OCCConfig{Clients: 1, NetSD: -time.Millisecond}), "storm: NetSD must not be negative, got -1ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || tc.err.Error() != tc.want {
				t.Errorf("error %v, want %q", tc.err, tc.want)
			}
		})
	}
}

// TestOCCCountsUnwrittenClients: a policy that does not retry conflicts
// leaves clients unwritten, and says so (regression: they vanished from the
// numbers, which then looked better than every real strategy).
func TestOCCCountsUnwrittenClients(t *testing.T) {
	ct := Contender{Name: "no-409", Policy: retryclient.DefaultPolicy()}
	r, err := RunOCC(t.Context(), OCCConfig{Clients: 20, Runs: 5, Seed: 1}, ct)
	if err != nil {
		t.Fatal(err)
	}
	if r.Unwritten < 10 {
		t.Errorf("unwritten %.1f of 20: the default policy does not retry 409", r.Unwritten)
	}
	ct.Policy = ForOCC(ct.Policy.WithMaxAttempts(1000))
	r, _ = RunOCC(t.Context(), OCCConfig{Clients: 20, Runs: 5, Seed: 1}, ct)
	if r.Unwritten != 0 || r.Calls < 20 {
		t.Errorf("with 409 retried: %+v", r)
	}
}

func TestCapacityContendersAreValid(t *testing.T) {
	for _, ct := range CapacityContenders() {
		if err := ct.Policy.Validate(); err != nil {
			t.Errorf("%s: %v", ct.Name, err)
		}
	}
}

func TestAdaptiveAndBreakerContenders(t *testing.T) {
	byName := map[string]Contender{}
	for _, c := range CapacityContenders() {
		byName[c.Name] = c
	}
	cfg := CapacityConfig{Clients: 1000, Capacity: 200, Outage: 3 * time.Second, Spread: time.Second, Seed: 1}
	run := func(name string) CapacityResult {
		t.Helper()
		ct, ok := byName[name]
		if !ok {
			t.Fatalf("no built-in contender %q", name)
		}
		r, err := RunCapacity(context.Background(), cfg, ct)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	plain, adaptive, breaker := run("full-jitter"), run("full-jitter+adaptive"), run("full-jitter+breaker")
	// The adaptive limiter slows every client after the first throttles,
	// so almost no call is wasted and every request gets through, later.
	if adaptive.Amplification > 1.1 || adaptive.SuccessRate != 1 {
		t.Errorf("adaptive: amplification %.2f, success %.0f%%; want about 1 call per request and all succeeding", adaptive.Amplification, 100*adaptive.SuccessRate)
	}
	if plain.Amplification < 5 {
		t.Errorf("full jitter alone: amplification %.2f; the comparison needs a storm", plain.Amplification)
	}
	if adaptive.PeakLoad >= plain.PeakLoad/5 {
		t.Errorf("adaptive peak load %d req/s against %d without; want far lower", adaptive.PeakLoad, plain.PeakLoad)
	}
	// The breaker fails fast while open: few calls, and the requests that
	// arrive during the outage end with circuit-open.
	if breaker.Calls >= cfg.Clients/10 || breaker.GaveUp[string(retryclient.ReasonCircuitOpen)] == 0 {
		t.Errorf("breaker: %d calls, gave up %v; want few calls and circuit-open give-ups", breaker.Calls, breaker.GaveUp)
	}
}

func TestSimBreakerStates(t *testing.T) {
	b := &simBreaker{failures: 2, open: 1}
	if ok, trial := b.allow(0); !ok || trial {
		t.Fatal("a new breaker refuses an attempt")
	}
	b.done(0.1, true, false)
	b.done(0.2, true, false)
	if ok, _ := b.allow(0.3); ok {
		t.Fatal("the breaker is closed after 2 consecutive failures; want open")
	}
	if ok, _ := b.allow(1.1); ok {
		t.Error("open breaker let an attempt through before its timeout")
	}
	ok, trial := b.allow(1.3)
	if !ok || !trial {
		t.Fatal("after the timeout the breaker does not let one trial through")
	}
	if ok, _ := b.allow(1.31); ok {
		t.Error("a second attempt passed while the trial is in flight")
	}
	b.done(1.4, false, true)
	if ok, trial := b.allow(1.5); !ok || trial {
		t.Error("a successful trial did not close the breaker")
	}
}

func TestContenderJSONDurationsAreStrings(t *testing.T) {
	b, err := json.Marshal(Contender{Name: "b", Policy: retryclient.DefaultPolicy(), BreakerFailures: 5, BreakerOpen: 1500 * time.Millisecond, Adaptive: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"breaker_open":"1.5s"`, `"breaker_failures":5`, `"adaptive":true`, `"name":"b"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
