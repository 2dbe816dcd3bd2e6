package retryclient_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func TestRetryLimiterBoundsConcurrentRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const requests = 20
		l := retryclient.NewRetryLimiter(3)
		r := retryclient.NewRetrier(constant().WithMaxAttempts(3), retryclient.WithRetryLimiter(l))
		var (
			mu            sync.Mutex
			firstAttempts []time.Duration
			retrying      int // calls after the first, in flight now
			peak          int
		)
		start := time.Now()
		var wg sync.WaitGroup
		for range requests {
			wg.Go(func() {
				n := 0
				_, err := retryclient.Do(t.Context(), r, "op", func(ctx context.Context) (int, error) {
					n++
					mu.Lock()
					if n == 1 {
						firstAttempts = append(firstAttempts, time.Since(start))
					} else {
						retrying++
						peak = max(peak, retrying)
					}
					mu.Unlock()
					time.Sleep(100 * time.Millisecond) // the call takes a while
					mu.Lock()
					if n > 1 {
						retrying--
					}
					mu.Unlock()
					if n < 3 {
						return 0, retryclient.Transient(errUnavailable)
					}
					return n, nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i, d := range firstAttempts {
			if d != 0 {
				t.Errorf("first attempt %d started at +%v; first attempts must not wait for a slot", i, d)
			}
		}
		if len(firstAttempts) != requests {
			t.Errorf("%d first attempts; want %d", len(firstAttempts), requests)
		}
		if peak > 3 || l.Peak() != 3 {
			t.Errorf("%d retries ran at once (limiter peak %d); want at most 3 and the limiter full at its peak", peak, l.Peak())
		}
		if l.InUse() != 0 {
			t.Errorf("%d slots still held after every request ended", l.InUse())
		}
		// 20 requests, 3 at a time: once a request has its slot it still
		// makes its second attempt (0.1s), sleeps 1s and makes its third
		// (0.1s), so the trickle takes 7 rounds of at least 1.2s.
		if took := time.Since(start); took < 7*1200*time.Millisecond {
			t.Errorf("all requests ended after %v; a trickle of 3 at a time takes at least 8.4s", took)
		}
	})
}

func TestRetryLimiterWaitEndsWithTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := retryclient.NewRetryLimiter(1)
		// Every attempt answers 503 at once.
		next := rtFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 503, Body: http.NoBody, Header: http.Header{}}, nil
		})
		c := &http.Client{Transport: retryclient.New(next, constant().WithAttemptTimeout(time.Hour), retryclient.WithRetryLimiter(l))}
		holderCtx, stopHolder := context.WithCancel(t.Context())
		go func() {
			req, _ := http.NewRequestWithContext(holderCtx, "GET", "http://svc.invalid/holder", nil)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(time.Millisecond) // the holder now has the only slot, for its 2s of retries
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://svc.invalid/waiter", nil)
		start := time.Now()
		resp, err := c.Do(req)
		// Giving up keeps the last response: the waiter gets its 503.
		if err != nil || resp.StatusCode != 503 {
			t.Errorf("waiter: %v, %v; want its 503 back when the caller's deadline ends the wait for a slot", resp, err)
		} else {
			resp.Body.Close()
		}
		if took := time.Since(start); took != 500*time.Millisecond {
			t.Errorf("waiter returned after %v; want at its deadline", took)
		}
		stopHolder()
	})
}
