package suites_test

import (
	"net/http"
	"time"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// retryclientSubject is retryclient's default policy, with the promise its
// documentation makes.
func retryclientSubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: retryclient.New(base, retryclient.DefaultPolicy())}
		},
		Promise: suites.Promise{
			MaxAttempts:    3,
			InitialBackoff: 100 * time.Millisecond, Multiplier: 2, MaxBackoff: 10 * time.Second, Jitter: retryclient.JitterFull,
			RetryAfter: true, RetryAfterCap: time.Minute,
			IdempotencyKeys: true,
		},
	}
}

var _ = suites.RetryConformance("retryclient default policy", retryclientSubject)

var _ = suites.RetryConformance("retryclient without jitter, with an attempt timeout", func() suites.Subject {
	p := retryclient.DefaultPolicy().WithMaxAttempts(5).WithAttemptTimeout(2 * time.Second)
	p = p.WithBackoff(p.Backoff.WithJitter(retryclient.JitterNone))
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: retryclient.New(base, p)}
		},
		Promise: suites.Promise{
			MaxAttempts:    5,
			InitialBackoff: 100 * time.Millisecond, Multiplier: 2, MaxBackoff: 10 * time.Second,
			RetryAfter: true, RetryAfterCap: time.Minute,
			IdempotencyKeys: true,
			AttemptTimeout:  2 * time.Second,
		},
	}
})
