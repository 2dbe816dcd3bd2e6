package apitest_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sony/gobreaker/v2"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/fixtures"
	"github.com/retrylab/retrylab/retryclient"
)

// outageThenRecovery is the catalogue's scenario for breakers: 503 to the
// first 8 calls, then 200.
func outageThenRecovery() *fi.Scenario {
	s, err := fixtures.Load("outage-then-recovery")
	if err != nil {
		panic(err)
	}
	return s
}

// every200ms sends a request every 200ms for 5s and returns how many
// ended with an open circuit without waiting.
func every200ms(t *testing.T, fx *apitest.Fixture) (fastFailures int) {
	for range 25 {
		start := time.Now()
		resp, err := fx.Client().Get(fx.URL("/payments/7"))
		var gu *retryclient.GiveUpError
		switch {
		case errors.As(err, &gu) && gu.Reason == retryclient.ReasonCircuitOpen:
			if time.Since(start) == 0 {
				fastFailures++
			}
		case err == nil:
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fastFailures
}

func TestHaveTrippedBreaker(t *testing.T) {
	policy := retryclient.DefaultPolicy().WithMaxAttempts(1)
	synctest.Test(t, func(t *testing.T) {
		cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
			Name: "pay", Timeout: time.Second,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
		})
		fx := apitest.New(apitest.Context(t), outageThenRecovery(), apitest.WithPolicy(policy),
			apitest.WithClientOptions(retryclient.WithBreaker(cb)))
		if fast := every200ms(t, fx); fast == 0 {
			t.Error("no request failed fast while the circuit was open")
		}
		g := NewWithT(t)
		g.Expect(fx).To(apitest.HaveTrippedBreaker(3, time.Second))
		// The breaker let 3 calls through, then one trial a second: 8
		// failures take the trials at 1.6s, 2.8s, ... until the 9th call.
		g.Expect(fx.Journal().Len()).To(BeNumerically("<", 15))
		// A stricter expectation than the breaker's settings fails.
		g.Expect(fx).NotTo(apitest.HaveTrippedBreaker(3, 2*time.Second))
	})
	synctest.Test(t, func(t *testing.T) {
		fx := apitest.New(apitest.Context(t), outageThenRecovery(), apitest.WithPolicy(policy)) // no breaker
		every200ms(t, fx)
		m := apitest.HaveTrippedBreaker(3, time.Second)
		ok, err := m.Match(fx)
		if err != nil || ok {
			t.Fatalf("a client without a breaker matched: %v, %v", ok, err)
		}
		if msg := m.FailureMessage(fx); !strings.Contains(msg, "call #4 reached the server 200ms after the breaker opened, before its 1s were over") {
			t.Errorf("message:\n%s", msg)
		}
	})
}

func TestHaveTrippedBreakerHalfOpenAllowsOneTrial(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	call := func(seq int, start, end time.Duration, status int) fi.Call {
		return fi.Call{Seq: seq, Start: t0.Add(start), End: t0.Add(end), Status: status}
	}
	calls := []fi.Call{
		call(1, 0, 10*time.Millisecond, 503),
		call(2, 20*time.Millisecond, 30*time.Millisecond, 503),
		// open for 1s from 30ms; two calls at once when half-open:
		call(3, 1100*time.Millisecond, 1300*time.Millisecond, 200),
		call(4, 1200*time.Millisecond, 1250*time.Millisecond, 200),
	}
	m := apitest.HaveTrippedBreaker(2, time.Second)
	if ok, err := m.Match(calls); ok || err != nil {
		t.Fatalf("two calls in the half-open window matched: %v, %v", ok, err)
	}
	if msg := m.FailureMessage(calls); !strings.Contains(msg, "call #4 started while the half-open trial, call #3, was being served") {
		t.Errorf("message:\n%s", msg)
	}
	if ok, _ := m.Match(calls[:3]); !ok {
		t.Errorf("one trial after the open window did not match:\n%s", m.FailureMessage(calls[:3]))
	}
	if ok, _ := m.Match(calls[:1]); ok {
		t.Error("a journal where the breaker never opened matched")
	}
}
