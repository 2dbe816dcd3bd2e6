package retryclient

import (
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestBackoffBase(t *testing.T) {
	cases := []struct {
		name string
		b    Backoff
		want []time.Duration // attempts 1..n
	}{
		{"constant", Backoff{Kind: BackoffConstant, Initial: 250 * ms, Jitter: JitterNone}, []time.Duration{250 * ms, 250 * ms, 250 * ms}},
		{"linear", Backoff{Kind: BackoffLinear, Initial: 100 * ms, Jitter: JitterNone}, []time.Duration{100 * ms, 200 * ms, 300 * ms, 400 * ms}},
		{"exponential x2", Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Jitter: JitterNone}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"exponential x1.5", Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 1.5, Jitter: JitterNone}, []time.Duration{100 * ms, 150 * ms, 225 * ms}},
		{"exponential capped", Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: 300 * ms, Jitter: JitterNone}, []time.Duration{100 * ms, 200 * ms, 300 * ms, 300 * ms}},
		{"linear capped", Backoff{Kind: BackoffLinear, Initial: time.Second, Max: 2500 * ms, Jitter: JitterNone}, []time.Duration{time.Second, 2 * time.Second, 2500 * ms}},
		{"default", DefaultBackoff().WithJitter(JitterNone), []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []time.Duration
			for n := 1; n <= len(tc.want); n++ {
				got = append(got, tc.b.Delay(n, 0, nil))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackoffHugeAttemptsDoNotOverflow(t *testing.T) {
	uncapped := Backoff{Kind: BackoffExponential, Initial: time.Second, Multiplier: 10, Jitter: JitterNone}
	if d := uncapped.Delay(1000, 0, nil); d != time.Duration(math.MaxInt64) {
		t.Errorf("uncapped attempt 1000 = %v, want the largest Duration", d)
	}
	capped := uncapped.WithCap(time.Minute)
	if d := capped.Delay(1000, 0, nil); d != time.Minute {
		t.Errorf("capped attempt 1000 = %v, want 1m", d)
	}
	for _, j := range []JitterKind{JitterFull, JitterEqual, JitterDecorrelated} {
		b := capped.WithJitter(j)
		r := rand.New(rand.NewPCG(1, 1))
		if d := b.Delay(1000, time.Duration(math.MaxInt64), r); d < 0 || d > time.Minute {
			t.Errorf("%s attempt 1000 = %v, want within [0, 1m]", j, d)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	base := Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: 5 * time.Second}
	cases := []struct {
		name   string
		jitter JitterKind
		bounds func(attempt int, prev time.Duration) (lo, hi time.Duration)
	}{
		{"none", JitterNone, func(n int, _ time.Duration) (time.Duration, time.Duration) {
			b := base.Base(n)
			return b, b
		}},
		{"full", JitterFull, func(n int, _ time.Duration) (time.Duration, time.Duration) { return 0, base.Base(n) }},
		{"equal", JitterEqual, func(n int, _ time.Duration) (time.Duration, time.Duration) {
			b := base.Base(n)
			return b / 2, b
		}},
		{"decorrelated", JitterDecorrelated, func(_ int, prev time.Duration) (time.Duration, time.Duration) {
			return 100 * ms, min(5*time.Second, 3*max(prev, 100*ms))
		}},
		{"randomized ±50 %", JitterRandomized, func(n int, _ time.Duration) (time.Duration, time.Duration) {
			b := base.Base(n)
			return b / 2, b * 3 / 2
		}},
		{"additive up to 30ms", JitterAdditive, func(n int, _ time.Duration) (time.Duration, time.Duration) {
			b := base.Base(n)
			return b, b + 30*ms
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := base.WithJitter(tc.jitter)
			b.RandomizationFactor, b.MaxJitter = 0.5, 30*ms
			r := rand.New(rand.NewPCG(42, 0))
			var sawLow, sawHigh bool
			for trial := 0; trial < 2000; trial++ {
				prev := time.Duration(0)
				for n := 1; n <= 8; n++ {
					d := b.Delay(n, prev, r)
					lo, hi := tc.bounds(n, prev)
					if d < lo || d > hi {
						t.Fatalf("attempt %d (prev %v): %v outside [%v, %v]", n, prev, d, lo, hi)
					}
					if hi > lo {
						q := (hi - lo) / 4
						sawLow = sawLow || d < lo+q
						sawHigh = sawHigh || d > hi-q
					}
					prev = d
				}
			}
			if tc.jitter != JitterNone && !(sawLow && sawHigh) {
				t.Errorf("delays did not spread over their range (low quarter %v, high quarter %v)", sawLow, sawHigh)
			}
		})
	}
}

// TestBoundsHoldEveryDelay: Bounds is what checkers trust, so every delay
// of every kind, Min floor and cap included, lies within it, and the bounds
// are reached.
func TestBoundsHoldEveryDelay(t *testing.T) {
	for _, j := range JitterKinds() {
		for _, b := range []Backoff{
			{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: time.Second, Jitter: j, RandomizationFactor: 0.5, MaxJitter: 50 * ms},
			{Kind: BackoffLinear, Initial: 10 * ms, Max: 35 * ms, Jitter: j, RandomizationFactor: 1, MaxJitter: ms, Min: 20 * ms},
			{Kind: BackoffConstant, Initial: 200 * ms, Max: 100 * ms, Jitter: j, RandomizationFactor: 0.25},
		} {
			r := rand.New(rand.NewPCG(7, 7))
			for trial := 0; trial < 500; trial++ {
				prev := time.Duration(0)
				for n := 1; n <= 7; n++ {
					d := b.Delay(n, prev, r)
					lo, hi := b.Bounds(n, prev)
					if d < lo || d > hi || lo > hi {
						t.Fatalf("%+v attempt %d (prev %v): delay %v outside Bounds [%v, %v]", b, n, prev, d, lo, hi)
					}
					prev = d
				}
			}
		}
	}
}

// TestBoundsOfTheDocumentedShapes pins the bounds of the jitter shapes of
// common libraries, as a Backoff states them.
func TestBoundsOfTheDocumentedShapes(t *testing.T) {
	cases := []struct {
		name   string
		b      Backoff
		n      int
		lo, hi time.Duration
	}{
		{"cenkalti/backoff defaults, wait 1", Backoff{Kind: BackoffExponential, Initial: 500 * ms, Multiplier: 1.5, Max: time.Minute, Jitter: JitterRandomized, RandomizationFactor: 0.5}, 1, 250 * ms, 750 * ms},
		{"cenkalti/backoff randomizes above its cap", Backoff{Kind: BackoffExponential, Initial: 500 * ms, Multiplier: 1.5, Max: time.Second, Jitter: JitterRandomized, RandomizationFactor: 0.5}, 5, 500 * ms, 1500 * ms},
		{"resty defaults, wait 1: equal jitter floored at the wait time", Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: 2 * time.Second, Jitter: JitterEqual, Min: 100 * ms}, 1, 100 * ms, 100 * ms},
		{"resty defaults, wait 3", Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: 2 * time.Second, Jitter: JitterEqual, Min: 100 * ms}, 3, 200 * ms, 400 * ms},
		{"a floor above half the cap", Backoff{Kind: BackoffExponential, Initial: 200 * ms, Multiplier: 2, Max: 150 * ms, Jitter: JitterEqual, Min: 100 * ms}, 1, 100 * ms, 150 * ms},
		{"heimdall: capped base plus additive jitter", Backoff{Kind: BackoffExponential, Initial: 2 * ms, Multiplier: 2, Max: 9 * ms, Jitter: JitterAdditive, MaxJitter: 2 * ms}, 4, 9 * ms, 11 * ms},
		{"retry-go defaults, wait 3", Backoff{Kind: BackoffExponential, Initial: 100 * ms, Multiplier: 2, Jitter: JitterAdditive, MaxJitter: 100 * ms}, 3, 400 * ms, 500 * ms},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.b.Validate(); err != nil {
				t.Fatal(err)
			}
			if lo, hi := tc.b.Bounds(tc.n, 0); lo != tc.lo || hi != tc.hi {
				t.Errorf("Bounds(%d, 0) = [%v, %v], want [%v, %v]", tc.n, lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

func TestSameSeedSameSchedule(t *testing.T) {
	for _, j := range []JitterKind{JitterFull, JitterEqual, JitterDecorrelated, JitterRandomized, JitterAdditive} {
		t.Run(string(j), func(t *testing.T) {
			b := DefaultBackoff().WithJitter(j)
			b.RandomizationFactor, b.MaxJitter = 0.5, 100*ms
			schedule := func(seed uint64) []time.Duration {
				r := rand.New(rand.NewPCG(seed, seed))
				var out []time.Duration
				prev := time.Duration(0)
				for n := 1; n <= 10; n++ {
					prev = b.Delay(n, prev, r)
					out = append(out, prev)
				}
				return out
			}
			a, again, other := schedule(9), schedule(9), schedule(10)
			if !reflect.DeepEqual(a, again) {
				t.Errorf("seed 9 gave %v then %v", a, again)
			}
			if reflect.DeepEqual(a, other) {
				t.Errorf("seeds 9 and 10 gave the same schedule %v", a)
			}
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	cases := []struct {
		name string
		b    Backoff
		want string
	}{
		{"default", DefaultBackoff(), ""},
		{"constant", ConstantBackoff(time.Second), ""},
		{"unknown kind", Backoff{Kind: "expo", Multiplier: 2, Jitter: JitterNone}, `retryclient: Backoff.Kind must be constant, linear or exponential, got "expo"`},
		{"unknown jitter", Backoff{Kind: BackoffConstant, Jitter: "half"}, `retryclient: Backoff.Jitter must be none, full, equal, decorrelated, randomized or additive, got "half"`},
		{"negative initial", Backoff{Kind: BackoffConstant, Initial: -1, Jitter: JitterNone}, "retryclient: Backoff.Initial must be >= 0, got -1ns"},
		{"multiplier below 1", Backoff{Kind: BackoffExponential, Multiplier: 0.5, Jitter: JitterNone}, "retryclient: Backoff.Multiplier must be a finite number >= 1, got 0.5"},
		{"multiplier NaN", Backoff{Kind: BackoffExponential, Multiplier: math.NaN(), Jitter: JitterNone}, "retryclient: Backoff.Multiplier must be a finite number >= 1, got NaN"},
		{"multiplier ignored by linear", Backoff{Kind: BackoffLinear, Jitter: JitterNone}, ""},
		{"negative max", Backoff{Kind: BackoffConstant, Max: -time.Second, Jitter: JitterNone}, "retryclient: Backoff.Max must be >= 0, got -1s"},
		{"randomization factor above 1", Backoff{Kind: BackoffConstant, Jitter: JitterRandomized, RandomizationFactor: 1.5}, "retryclient: Backoff.RandomizationFactor must be between 0 and 1, got 1.5"},
		{"randomization factor NaN", Backoff{Kind: BackoffConstant, Jitter: JitterRandomized, RandomizationFactor: math.NaN()}, "retryclient: Backoff.RandomizationFactor must be between 0 and 1, got NaN"},
		{"negative max jitter", Backoff{Kind: BackoffConstant, Jitter: JitterAdditive, MaxJitter: -ms}, "retryclient: Backoff.MaxJitter must be >= 0, got -1ms"},
		{"negative min", Backoff{Kind: BackoffConstant, Jitter: JitterNone, Min: -ms}, "retryclient: Backoff.Min must be >= 0, got -1ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Regression: WithRand given the same Source on two Transports raced, each
// Transport locking only its own wrapper, and nothing offered a safe way to
// share. The documented way, one LockedSource passed to every WithRand,
// must be race-free (run with -race) and must not be wrapped twice. Empty
// budgets stop every retry right after its jittered delay is drawn, so
// nothing sleeps.
func TestWithRandSharedLockedSourceIsRaceFree(t *testing.T) {
	src := LockedSource(rand.NewPCG(1, 2))
	if LockedSource(src) != src {
		t.Error("LockedSource wrapped an already locked source again")
	}
	next := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 503, Body: http.NoBody, Header: http.Header{}}, nil
	})
	p := DefaultPolicy().WithMaxAttempts(5)
	rts := []*Transport{
		New(next, p, WithRand(src), WithBudget(NewBudget(1, 0))),
		New(next, p, WithRand(src), WithBudget(NewBudget(1, 0))),
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				req, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
				resp, err := rts[i%2].RoundTrip(req)
				if err != nil || resp.StatusCode != 503 {
					t.Errorf("got %v %v", resp, err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// TestDecorrelatedJitterCapsTheDraw pins AWS's formula, min(cap,
// uniform(base, 3 × previous)): once 3 × previous is far above the cap most
// draws land on the cap (regression: the draw was made below the cap, which
// spread such waits uniformly between base and cap).
func TestDecorrelatedJitterCapsTheDraw(t *testing.T) {
	b := Backoff{Kind: BackoffExponential, Initial: 100 * time.Millisecond, Multiplier: 2, Max: 150 * time.Millisecond, Jitter: JitterDecorrelated}
	r := rand.New(rand.NewPCG(1, 2))
	atCap := 0
	for range 1000 {
		d := b.Delay(5, time.Second, r)
		if d < b.Initial || d > b.Max {
			t.Fatalf("delay %v outside [%v, %v]", d, b.Initial, b.Max)
		}
		if d == b.Max {
			atCap++
		}
	}
	// uniform(100ms, 3s) is above 150ms with probability 0.98.
	if atCap < 950 {
		t.Errorf("%d of 1000 draws at the cap, want about 980", atCap)
	}
}
