package retryclient_test

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func TestAdaptiveLimiterRates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := retryclient.NewAdaptiveLimiter()
	if d := l.Take(t0); d != 0 {
		t.Fatalf("a new limiter makes a request wait %v; want no wait before any throttle", d)
	}
	// 40 requests a second for 5 seconds, all succeeding: still disabled.
	now := t0
	for range 200 {
		now = now.Add(25 * time.Millisecond)
		if d := l.Take(now); d != 0 {
			t.Fatalf("waited %v before any throttle", d)
		}
		l.Observe(now, false)
	}
	if _, on := l.Rate(); on {
		t.Fatal("the limiter is limiting without a throttle")
	}
	// A throttle: the rate drops to 0.7 of the measured ~40/s.
	l.Observe(now, true)
	r1, on := l.Rate()
	if !on || r1 < 0.7*35 || r1 > 0.7*45 {
		t.Fatalf("after one throttle at ~40 req/s the rate is %.1f (limiting %v); want about 28", r1, on)
	}
	// Another throttle lowers it again.
	now = now.Add(10 * time.Millisecond)
	l.Observe(now, true)
	r2, _ := l.Rate()
	if r2 >= r1 {
		t.Errorf("a second throttle left the rate at %.1f (was %.1f); want it lower", r2, r1)
	}
	// Requests now wait for tokens: the bucket holds one second's worth,
	// then the next token is 1/rate away.
	taken := 0
	for l.Take(now) == 0 {
		taken++
	}
	if taken > int(r2)+1 {
		t.Errorf("%d requests sent at once at %.1f req/s; want at most a second's worth", taken, r2)
	}
	if d := l.Take(now); d <= 0 || d > time.Duration(float64(time.Second)/r2)+time.Millisecond {
		t.Errorf("the next token is %v away; want at most 1/rate = %v", d, time.Duration(float64(time.Second)/r2))
	}
	if d := l.Take(now.Add(time.Second)); d != 0 {
		t.Errorf("a second later there is still no token (%v)", d)
	}
	// Successes raise the rate again along the cubic curve, but never
	// above twice the measured send rate.
	for range 400 {
		now = now.Add(25 * time.Millisecond)
		l.Observe(now, false)
	}
	if r3, _ := l.Rate(); r3 <= r2 || r3 > 2*45 {
		t.Errorf("after 10s of successes at 40 req/s the rate is %.1f; want above %.1f and at most twice the measured rate", r3, r2)
	}
	for range 40 {
		now = now.Add(250 * time.Millisecond)
		l.Observe(now, false)
	}
	if r4, _ := l.Rate(); r4 > 2*4.5 {
		t.Errorf("after 10s of successes at 4 req/s the rate is %.1f; want at most twice the measured rate", r4)
	}
	// Many throttles never take it below 0.5 req/s.
	for range 50 {
		now = now.Add(time.Millisecond)
		l.Observe(now, true)
	}
	if r, _ := l.Rate(); r != 0.5 {
		t.Errorf("after 50 throttles the rate is %v; want the 0.5 req/s floor", r)
	}
}

// rateLimitedService answers 429 above perSecond requests a second (a token
// bucket of one second's worth), 200 otherwise.
type rateLimitedService struct {
	mu        sync.Mutex
	perSecond float64
	tokens    float64
	last      time.Time
	ok, shed  int
}

func (s *rateLimitedService) RoundTrip(*http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.last.IsZero() {
		s.tokens = min(s.perSecond, s.tokens+now.Sub(s.last).Seconds()*s.perSecond)
	}
	s.last = now
	status := 200
	if s.tokens >= 1 {
		s.tokens--
		s.ok++
	} else {
		status = 429
		s.shed++
	}
	return &http.Response{StatusCode: status, Body: http.NoBody, Header: http.Header{}}, nil
}

func TestAdaptiveLimiterStopsHammeringAThrottledService(t *testing.T) {
	run := func(opts ...retryclient.Option) (ok, shed int) {
		synctest.Test(t, func(t *testing.T) {
			svc := &rateLimitedService{perSecond: 10, tokens: 10}
			c := &http.Client{Transport: retryclient.New(svc, retryclient.DefaultPolicy().WithMaxAttempts(1), opts...)}
			// Four callers, each wanting a request every 50ms (80 req/s in
			// all) for 30 seconds, against a service that takes 10 req/s.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
						resp, err := c.Get("http://svc.invalid/")
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
						time.Sleep(50 * time.Millisecond)
					}
				})
			}
			wg.Wait()
			ok, shed = svc.ok, svc.shed
		})
		return ok, shed
	}
	okPlain, shedPlain := run()
	okAdaptive, shedAdaptive := run(retryclient.WithAdaptiveLimiter(retryclient.NewAdaptiveLimiter()))
	t.Logf("without the limiter: %d served, %d throttled; with it: %d served, %d throttled", okPlain, shedPlain, okAdaptive, shedAdaptive)
	if shedAdaptive*4 > shedPlain {
		t.Errorf("with the adaptive limiter %d requests were throttled, without it %d; want at most a quarter", shedAdaptive, shedPlain)
	}
	if okAdaptive*10 < okPlain*7 {
		t.Errorf("with the adaptive limiter only %d requests were served (without: %d); slowing down must not starve the client", okAdaptive, okPlain)
	}
}

// BenchmarkAdaptiveLimiterIdle is the limiter's cost per attempt before any
// throttle: one Take and one Observe.
func BenchmarkAdaptiveLimiterIdle(b *testing.B) {
	l := retryclient.NewAdaptiveLimiter()
	now := time.Now()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		l.Take(now)
		l.Observe(now, false)
	}
}
