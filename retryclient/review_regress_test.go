package retryclient_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// Regression: DoBatch judged items against the attempt's context, so once
// the attempt timed out every failed item looked retryable (a Permanent
// one was sent again) or none did.
func TestDoBatchAttemptTimeoutJudgesEachItem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sends := map[string]int{}
		var mu sync.Mutex
		call := retryclient.EachItem(func(ctx context.Context, id string) (string, error) {
			mu.Lock()
			sends[id]++
			n := sends[id]
			mu.Unlock()
			switch {
			case id == "bad":
				return "", retryclient.Permanent(errors.New("invalid"))
			case id == "slow" && n == 1:
				<-ctx.Done() // times out
				return "", ctx.Err()
			}
			return "ok", nil
		})
		r := retryclient.NewRetrier(constant().WithAttemptTimeout(time.Second))
		res, err := retryclient.DoBatch(t.Context(), r, "bulk", []string{"bad", "slow"}, call)
		if err != nil || sends["bad"] != 1 || sends["slow"] != 2 || res[1].Value != "ok" || res[0].Err == nil {
			t.Errorf("sends %v, results %+v, %v; want the permanent item sent once and the timed-out one retried", sends, res, err)
		}
	})
}

// Regression: an attempt canceled while waiting for the adaptive limiter
// was reported to the breaker as a success.
func TestCanceledPaceIsNotReportedToTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reports []error
		var mu sync.Mutex
		b := breakerFunc(func() (func(error), error) {
			return func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }, nil
		})
		l := retryclient.NewAdaptiveLimiter()
		l.Observe(time.Now(), true) // throttled with nothing measured: 0.5 req/s, no token
		next := rtFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}, nil
		})
		c := &http.Client{Transport: retryclient.New(next, constant(), retryclient.WithAdaptiveLimiter(l), retryclient.WithBreaker(b))}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://svc.invalid/", nil)
		if _, err := c.Do(req); err == nil {
			t.Fatal("the request was sent without a token")
		}
		if len(reports) != 0 {
			t.Errorf("the breaker heard of %d attempts that were never sent: %v", len(reports), reports)
		}
	})
}

type breakerFunc func() (func(error), error)

func (f breakerFunc) Allow() (func(error), error) { return f() }

// Regression: a Retrier and the Transport its call uses, sharing one
// RetryLimiter of one slot, deadlocked: the outer retry held the slot the
// inner retry waited for.
func TestSharedRetryLimiterDoesNotDeadlockNestedRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := retryclient.NewRetryLimiter(1)
		calls := 0
		next := rtFunc(func(*http.Request) (*http.Response, error) {
			calls++
			status := 503
			if calls%2 == 0 {
				status = 200
			}
			return &http.Response{StatusCode: status, Body: http.NoBody, Header: http.Header{}}, nil
		})
		client := &http.Client{Transport: retryclient.New(next, constant(), retryclient.WithRetryLimiter(l))}
		r := retryclient.NewRetrier(constant(), retryclient.WithRetryLimiter(l))
		tries := 0
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		_, err := retryclient.Do(ctx, r, "op", func(ctx context.Context) (int, error) {
			tries++
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://svc.invalid/", nil)
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			if tries == 1 {
				return 0, retryclient.Transient(errors.New("try again"))
			}
			return 1, nil
		})
		if err != nil {
			t.Errorf("nested retries under one shared slot: %v", err)
		}
	})
}

// Regression: Permanent(&StatusError{503}) was retried: the status was
// judged before the mark.
func TestPermanentMarkWinsOverAStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		_, err := retryclient.Do(t.Context(), retryclient.NewRetrier(constant()), "op", func(context.Context) (int, error) {
			calls++
			return 0, retryclient.Permanent(&retryclient.StatusError{Status: 503})
		})
		if calls != 1 || err == nil {
			t.Errorf("%d calls, %v; want one call", calls, err)
		}
	})
}
