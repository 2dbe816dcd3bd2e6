package suites_test

import (
	"net/http"
	"time"

	"github.com/gojek/heimdall/v7"
	"github.com/gojek/heimdall/v7/httpclient"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// heimdallClient adapts heimdall's client to http.RoundTripper the way a
// caller uses it: on an error the response is ignored.
type heimdallClient struct{ c *httpclient.Client }

func (h heimdallClient) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.c.Do(req)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// heimdallSubject is heimdall as its README's "Creating an HTTP client with
// a retry mechanism" sets it up, with the exponential backoff of its second
// example (2ms initial, 9ms max, factor 2, jitter up to 2ms), a 1000ms
// timeout and 4 retries; the http.Client with that timeout is passed with
// WithHTTPClient, as its "Custom HTTP clients" section shows, to reach the
// fault server.
func heimdallSubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			b := heimdall.NewExponentialBackoff(2*time.Millisecond, 9*time.Millisecond, 2, 2*time.Millisecond)
			c := httpclient.NewClient(
				httpclient.WithHTTPClient(&http.Client{Transport: base, Timeout: 1000 * time.Millisecond}),
				httpclient.WithRetrier(heimdall.NewRetrier(b)),
				httpclient.WithRetryCount(4),
			)
			return &http.Client{Transport: heimdallClient{c}}
		},
		// Its README: "the number of times you would like to retry" (4, so
		// 5 attempts), an exponential backoff from 2ms doubling up to 9ms
		// plus up to 2ms of jitter ("maximum jitter interval"); the timeout
		// applies to each attempt. A request "fails", and is retried, on an
		// error or a 5xx answer; 429 and 408 are not retried.
		Promise: suites.Promise{
			MaxAttempts: 5,
			Backoff: retryclient.Backoff{
				Initial: 2 * time.Millisecond, Multiplier: 2, Max: 9 * time.Millisecond,
				Jitter: retryclient.JitterAdditive, MaxJitter: 2 * time.Millisecond,
			},
			RetriedStatuses: []int{500, 502, 503, 504},
			AttemptTimeout:  time.Second,
		},
	}
}
