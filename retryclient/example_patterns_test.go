package retryclient_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// A circuit breaker from sony/gobreaker guards every attempt: after two
// consecutive failures it opens, and requests fail at once with
// circuit-open, without a call, until its Timeout lets a trial through.
func ExampleWithBreaker() {
	srv := faultinject.NewPipeServer(faultinject.NewScenario("down").
		Route("GET /payments/{id}", faultinject.Status(503)).MustBuild())
	defer srv.Close()

	cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
		Name:        "payments",
		Timeout:     30 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 },
	})
	client := &http.Client{Transport: retryclient.New(srv.Transport(),
		retryclient.DefaultPolicy().WithMaxAttempts(1), retryclient.WithBreaker(cb))}

	for i := 1; i <= 3; i++ {
		resp, err := client.Get(srv.URL + "/payments/7")
		var gu *retryclient.GiveUpError
		switch {
		case errors.As(err, &gu):
			fmt.Printf("request %d: %s, breaker %s\n", i, gu.Reason, cb.State())
		case err == nil:
			resp.Body.Close()
			fmt.Printf("request %d: %d, breaker %s\n", i, resp.StatusCode, cb.State())
		}
	}
	fmt.Println("calls that reached the server:", srv.Journal().Len())
	// Output:
	// request 1: 503, breaker closed
	// request 2: 503, breaker open
	// request 3: circuit-open, breaker open
	// calls that reached the server: 2
}

// A RetryLimiter shared by Transports caps how many requests retry at
// once; first attempts never wait for it.
func ExampleNewRetryLimiter() {
	limiter := retryclient.NewRetryLimiter(4)
	users := retryclient.New(nil, retryclient.DefaultPolicy(), retryclient.WithRetryLimiter(limiter))
	orders := retryclient.New(nil, retryclient.DefaultPolicy(), retryclient.WithRetryLimiter(limiter))
	_, _ = users, orders // at most 4 requests of the two retry at once
	fmt.Println(limiter.Limit(), limiter.InUse())
	// Output: 4 0
}

// An AdaptiveLimiter shared by the clients of one service lowers their
// send rate when the service throttles (429, or 503 with Retry-After) and
// raises it again as requests succeed.
func ExampleNewAdaptiveLimiter() {
	l := retryclient.NewAdaptiveLimiter()
	client := retryclient.NewClient(retryclient.DefaultPolicy(), retryclient.WithAdaptiveLimiter(l))
	_ = client
	rate, limiting := l.Rate()
	fmt.Println(rate, limiting) // nothing is slowed before the first throttle
	// Output: 0 false
}
