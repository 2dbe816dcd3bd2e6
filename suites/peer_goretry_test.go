package suites_test

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/retrylab/retrylab/suites"
)

// goretryLoop drives requests with sethvargo/go-retry as its README shows:
// retry.DoValue with the request's context, retry.RetryableError marking a
// retried attempt, and the README's backoff NewExponential(1s) wrapped in
// WithMaxRetries(4) ("Attempts is retries + 1"). The backoff is stateful, so
// each request builds its own.
type goretryLoop struct{ next http.RoundTripper }

func (l goretryLoop) RoundTrip(req *http.Request) (*http.Response, error) {
	defer closeRequestBody(req)
	b := retry.WithMaxRetries(4, retry.NewExponential(time.Second))
	resp, err := retry.DoValue(req.Context(), b, func(ctx context.Context) (*http.Response, error) {
		resp, err := sendOnce(l.next, req)
		if err != nil {
			return nil, retry.RetryableError(err)
		}
		if retriedStatus(resp.StatusCode) {
			return nil, retry.RetryableError(&answerError{resp})
		}
		return resp, nil
	})
	var last *answerError
	if errors.As(err, &last) && req.Context().Err() == nil {
		return last.resp, nil
	}
	return resp, err
}

func goretrySubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: goretryLoop{next: base}}
		},
		// Its README: exponential "1s -> 2s -> 4s -> 8s", no cap or jitter
		// unless added, WithMaxRetries(4) stops "when the 5th attempt has
		// failed".
		Promise: suites.Promise{
			MaxAttempts:    5,
			InitialBackoff: time.Second, Multiplier: 2,
			RetriedStatuses: loopRetriedStatuses,
		},
	}
}
