package suites_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/suites"
)

// TestLeakingClientWithBackgroundContext: a client that never closes the
// responses it discards, checked inside synctest.Test with
// context.Background(), gets its rule violation (regression: the leaked
// connections stayed blocked and the bubble panicked with "deadlock: main
// bubble goroutine has exited but blocked goroutines remain", crashing the
// test binary).
func TestLeakingClientWithBackgroundContext(t *testing.T) {
	s := loopSubject(loop{leaksBodies: true})
	for _, rule := range suites.Rules() {
		if rule.Name != "closes the bodies of the responses it discards" {
			continue
		}
		synctest.Test(t, func(t *testing.T) {
			err := rule.Check(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), "responses were never closed") {
				t.Errorf("got %v, want the rule's violation", err)
			}
		})
	}
	failed := 0
	for seed := uint64(1); seed <= 20; seed++ {
		synctest.Test(t, func(t *testing.T) {
			if err := suites.CheckChaos(context.Background(), s, seed); err != nil && strings.Contains(err.Error(), "never closed") {
				failed++
			}
		})
	}
	if failed == 0 {
		t.Error("no chaos sequence of 20 caught the leak")
	}
}

// leakyTimeoutLoop retries 5xx answers through an *http.Client with a
// Timeout and never closes the answers it discards: each one keeps that
// client's timer goroutine waiting, which only its own body wrapper stops.
type leakyTimeoutLoop struct{ c *http.Client }

func (l leakyTimeoutLoop) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if req.GetBody != nil {
			r.Body, _ = req.GetBody()
		}
		resp, err := l.c.Do(r)
		if err != nil || resp.StatusCode < 500 || attempt == 3 {
			return resp, err
		}
		time.Sleep(100 * time.Millisecond << (attempt - 1)) // resp is dropped unclosed
	}
}

// TestLeakingClientWithItsOwnTimeout: a leaking client whose http.Client
// has a Timeout gets its violation (regression: the client's timer
// goroutines outlived the check and the bubble panicked with "deadlock").
func TestLeakingClientWithItsOwnTimeout(t *testing.T) {
	s := suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			return &http.Client{Transport: leakyTimeoutLoop{&http.Client{Transport: base, Timeout: 30 * time.Second}}}
		},
		Promise: suites.Promise{MaxAttempts: 3},
	}
	for _, rule := range suites.Rules() {
		if rule.Name != "closes the bodies of the responses it discards" {
			continue
		}
		synctest.Test(t, func(t *testing.T) {
			if err := rule.Check(context.Background(), s); err == nil || !strings.Contains(err.Error(), "responses were never closed") {
				t.Errorf("got %v, want the rule's violation", err)
			}
		})
	}
}
