package suites_test

import (
	"errors"
	"net/http"
	"time"

	"github.com/avast/retry-go/v4"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// retrygoLoop drives requests with avast/retry-go as its README's "HTTP GET
// with retry with data" shows: retry.DoWithData with the defaults (10
// attempts, BackOffDelay 100ms·2ⁱ plus RandomDelay up to 100ms, no cap),
// and retry.Context with the request's context, as its Context option
// documents.
type retrygoLoop struct {
	next http.RoundTripper
	// noContext leaves retry.Context out, as the README's synopsis does:
	// the waits then watch context.Background().
	noContext bool
}

func (l retrygoLoop) RoundTrip(req *http.Request) (*http.Response, error) {
	defer closeRequestBody(req)
	opts := []retry.Option{retry.Context(req.Context())}
	if l.noContext {
		opts = nil
	}
	resp, err := retry.DoWithData(func() (*http.Response, error) {
		resp, err := sendOnce(l.next, req)
		if err != nil {
			return nil, err
		}
		if retriedStatus(resp.StatusCode) {
			return nil, &answerError{resp}
		}
		return resp, nil
	}, opts...)
	var all retry.Error
	if errors.As(err, &all) && req.Context().Err() == nil {
		var last *answerError
		if errors.As(all.Unwrap(), &last) {
			return last.resp, nil
		}
	}
	return resp, err
}

func retrygoSubject() suites.Subject { return retrygoSubjectWith(retrygoLoop{}) }

// retrygoWithoutContextSubject is the loop of the README's synopsis, which
// passes no retry.Context.
func retrygoWithoutContextSubject() suites.Subject {
	return retrygoSubjectWith(retrygoLoop{noContext: true})
}

func retrygoSubjectWith(l retrygoLoop) suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			l := l
			l.next = base
			return &http.Client{Transport: l}
		},
		// Its documentation: "Attempts ... default is 10", "Delay ...
		// default is 100ms", "DelayType ... default is BackOff" (combined
		// with RandomDelay up to MaxJitter, 100ms), "MaxDelay ... does not
		// apply by default". Retry-After is the caller's business.
		Promise: suites.Promise{
			MaxAttempts: 10,
			Backoff: retryclient.Backoff{
				Initial: 100 * time.Millisecond, Multiplier: 2,
				Jitter: retryclient.JitterAdditive, MaxJitter: 100 * time.Millisecond,
			},
			RetriedStatuses: loopRetriedStatuses,
		},
	}
}
