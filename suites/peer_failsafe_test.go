package suites_test

import (
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go/failsafehttp"

	"github.com/retrylab/retrylab/suites"
)

// failsafeSubject is failsafe-go's failsafehttp as its HTTP page
// (failsafe-go.dev/http) sets it up: NewRetryPolicyBuilder().
// WithBackoff(time.Second, 30*time.Second).WithMaxRetries(3).Build() in a
// NewRoundTripper.
func failsafeSubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			rp := failsafehttp.NewRetryPolicyBuilder().
				WithBackoff(time.Second, 30*time.Second).
				WithMaxRetries(3).
				Build()
			return &http.Client{Transport: failsafehttp.NewRoundTripper(base, rp)}
		},
		// Its documentation: 3 retries (4 attempts), waits from 1s doubling
		// up to 30s, and "will also delay retries according to any
		// Retry-After header in the HTTP response".
		// NewRetryPolicyBuilder's retried answers are 429 and "most 5xx
		// responses".
		Promise: suites.Promise{
			MaxAttempts:    4,
			InitialBackoff: time.Second, Multiplier: 2, MaxBackoff: 30 * time.Second,
			RetriedStatuses: []int{429, 500, 502, 503, 504},
			RetryAfter:      true,
		},
	}
}
