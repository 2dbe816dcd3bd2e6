package suites_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// retryablehttpSubject is go-retryablehttp as its README sets it up:
// NewClient with the defaults (RetryMax 4, RetryWaitMin 1s, RetryWaitMax
// 30s, DefaultBackoff, DefaultRetryPolicy) and StandardClient.
func retryablehttpSubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			c := retryablehttp.NewClient()
			c.Logger = nil
			c.HTTPClient.Transport = base
			return c.StandardClient()
		},
		// What its documentation promises: 5 attempts, exponential waits
		// from 1s doubling up to 30s without jitter, Retry-After honoured on
		// 429 and 503 (no cap is documented), and DefaultRetryPolicy's
		// statuses: 429 and the 5xx but 501 (505 too, which the universal
		// rules forbid, so it cannot be promised), not 408 or 425.
		Promise: suites.Promise{
			MaxAttempts:    5,
			InitialBackoff: time.Second, Multiplier: 2, MaxBackoff: 30 * time.Second,
			RetryAfter:      true,
			RetriedStatuses: []int{429, 500, 502, 503, 504},
		},
	}
}

// restyClient adapts a resty client to http.RoundTripper, so the suite can
// drive it like any *http.Client.
type restyClient struct{ c *resty.Client }

func (a restyClient) RoundTrip(req *http.Request) (*http.Response, error) {
	r := a.c.R().SetContext(req.Context())
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		r.SetBody(b)
	}
	resp, err := r.Execute(req.Method, req.URL.String())
	if err != nil {
		return nil, err
	}
	raw := resp.RawResponse
	raw.Body = io.NopCloser(bytes.NewReader(resp.Body()))
	return raw, nil
}

// restySubject is resty configured as its README's retry section suggests:
// SetRetryCount(3) with the default waits (100ms up to 2s, jittered) and a
// retry condition for 429 and 5xx answers.
func restySubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			c := resty.New().SetLogger(quietLogger{}).SetTransport(base).SetRetryCount(3).
				SetRetryWaitTime(100 * time.Millisecond).SetRetryMaxWaitTime(2 * time.Second).
				AddRetryCondition(func(r *resty.Response, err error) bool {
					return r != nil && (r.StatusCode() == http.StatusTooManyRequests || r.StatusCode() >= 500)
				})
			return &http.Client{Transport: restyClient{c}}
		},
		// resty's jitterBackoff waits between half and all of
		// min(RetryMaxWaitTime, RetryWaitTime·2^attempt), attempt from 0,
		// and never less than RetryWaitTime: equal jitter with a floor (so
		// its first wait is exactly RetryWaitTime). The condition retries
		// 429 and the 5xx.
		Promise: suites.Promise{
			MaxAttempts: 4,
			Backoff: retryclient.Backoff{Initial: 100 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second,
				Jitter: retryclient.JitterEqual, Min: 100 * time.Millisecond},
			RetriedStatuses: []int{429, 500, 502, 503, 504},
		},
	}
}

// TestPeers records which rules each peer breaks. These are expected
// results (see docs/compat.md), asserted exactly so that a change in a peer
// or in a rule is noticed.
func TestPeers(t *testing.T) {
	cases := []struct {
		name    string
		subject suites.Subject
		want    []string
	}{
		{"retryclient", retryclientSubject(), nil},
		{"go-retryablehttp", retryablehttpSubject(), []string{
			"does not retry 501 or 505",
			"does not retry a POST or PATCH without an Idempotency-Key",
		}},
		{"resty", restySubject(), []string{
			"does not retry 501 or 505",
			"does not retry a POST or PATCH without an Idempotency-Key",
			// A retry condition replaces resty's default decision, so once
			// one is added a connection reset is no longer retried.
			"makes the promised attempts on transient failures",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := brokenRules(t, c.subject)
			if !slices.Equal(got, c.want) {
				t.Errorf("broken rules:\n  got  %q\n  want %q", got, c.want)
			}
		})
	}
}

// quietLogger keeps resty's retry log out of the test output.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
