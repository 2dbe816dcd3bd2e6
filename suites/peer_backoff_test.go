package suites_test

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// backoffLoop drives requests with cenkalti/backoff as its README's example
// (example_test.go, ExampleRetry) shows: backoff.Retry with
// backoff.NewExponentialBackOff() (500ms·1.5ⁱ up to 60s, randomization
// factor 0.5), a Retry-After in seconds turned into backoff.RetryAfter (the
// example does it for a 429; the loop for every retried answer), and
// backoff.WithMaxTries(5) so that an outage ends (without it, Retry keeps
// trying for DefaultMaxElapsedTime, 15 minutes).
type backoffLoop struct{ next http.RoundTripper }

func (l backoffLoop) RoundTrip(req *http.Request) (*http.Response, error) {
	defer closeRequestBody(req)
	resp, err := backoff.Retry(req.Context(), func() (*http.Response, error) {
		resp, err := sendOnce(l.next, req)
		if err != nil {
			return nil, err
		}
		if !retriedStatus(resp.StatusCode) {
			return resp, nil
		}
		if seconds, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			return resp, backoff.RetryAfter(seconds)
		}
		return resp, &answerError{resp}
	}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxTries(5))
	switch {
	case err == nil:
		return resp, nil
	case resp != nil && req.Context().Err() == nil:
		return resp, nil // the last retried answer, once the tries run out
	default:
		return nil, err
	}
}

func backoffSubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: backoffLoop{next: base}}
		},
		// Its documentation: WithMaxTries "limits the number of all
		// attempts"; ExponentialBackOff's defaults are InitialInterval
		// 500ms, Multiplier 1.5, MaxInterval 60s, RandomizationFactor 0.5
		// ("between the randomization factor percentage below and above the
		// retry interval"); RetryAfter takes seconds.
		Promise: suites.Promise{
			MaxAttempts: 5,
			Backoff: retryclient.Backoff{
				Initial: 500 * time.Millisecond, Multiplier: 1.5, Max: 60 * time.Second,
				Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5,
			},
			RetriedStatuses:       loopRetriedStatuses,
			RetryAfterSecondsOnly: true,
		},
	}
}
