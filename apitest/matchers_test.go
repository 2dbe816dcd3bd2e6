package apitest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// The failure messages are pinned, so a change of wording is deliberate.
var _ = Describe("matcher failure messages", apitest.VirtualTime, func() {
	const timeline = `

Timeline:
  client attempts (3):
    #1 +0s GET /users/1 → 503 · retry in 100ms (retryable-status)
    #2 +100ms GET /users/1 → 429 [Retry-After 1s] · retry in 1s (retryable-status)
    #3 +1.1s GET /users/1 → 200 · done (success)
  server journal of "pinned": 3 calls
    #1 +0s GET /users/1 [GET /users/{id} #1] attempt 1 conn 1 → 503
    #2 +100ms GET /users/1 [GET /users/{id} #2] attempt 2 conn 1 (reused) → 429 Retry-After: 1
    #3 +1.1s GET /users/1 [GET /users/{id} #3] attempt 3 conn 1 (reused) → 200`

	var run = func(ctx context.Context) *apitest.Fixture {
		s := fi.NewScenario("pinned").
			Route("GET /users/{id}", fi.Status(503), fi.Status(429).RetryAfter(time.Second), fi.Status(200)).
			MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		return fx
	}

	fails := func(actual any, m any, negated bool) string {
		failures := InterceptGomegaFailures(func() {
			if negated {
				Expect(actual).NotTo(m.(interface {
					Match(any) (bool, error)
					FailureMessage(any) string
					NegatedFailureMessage(any) string
				}))
			} else {
				Expect(actual).To(m.(interface {
					Match(any) (bool, error)
					FailureMessage(any) string
					NegatedFailureMessage(any) string
				}))
			}
		})
		Expect(failures).To(HaveLen(1))
		return failures[0]
	}

	It("pins every matcher's message", func(ctx context.Context) {
		fx := run(ctx)
		cases := []struct {
			m       any
			negated bool
			want    string
		}{
			{apitest.HaveAttempts(2), false, "Expected the retry client to make 2 attempts, but it made 3."},
			{apitest.HaveAttempts(3), true, "Expected the retry client not to make 3 attempts, but it did."},
			{apitest.HaveCalls("GET /users/{id}", 1), false, "Expected the retry client to make 1 call to GET /users/{id}, but the route received 3."},
			{apitest.HaveNotRetried(), false, "Expected the retry client to make no retry, but attempt #2 followed a 503 (retryable-status)."},
			{apitest.HaveWaited(100 * time.Millisecond), false, "Expected the retry client to wait [100ms] between attempts, but it waited [100ms 1s]."},
			{apitest.HaveWaitedBetween(0, 500*time.Millisecond), false, "Expected the retry client to wait between 0s and 500ms before every retry, but wait 2 was 1s (all waits: [100ms 1s])."},
			{apitest.HaveBackedOffExponentially(100*time.Millisecond, 2), true, "Expected the retry client not to back off exponentially from 100ms by ×2, but it did."},
			{apitest.HaveBackedOffExponentially(50*time.Millisecond, 2), false, "Expected the retry client to back off exponentially from 50ms by ×2, but wait 1 was 100ms, the promise is 50ms without jitter (waits: [100ms 1s])."},
			{apitest.HaveBackedOffWithin(retryclient.Backoff{Kind: retryclient.BackoffConstant, Initial: 100 * time.Millisecond, Jitter: retryclient.JitterEqual}), true, "Expected the retry client not to back off within constant 100ms·0 ≤ 0s with equal jitter, but it did."},
			{apitest.HaveHonoredRetryAfter(), true, "Expected the retry client not to honour Retry-After, but it did."},
			{apitest.HaveSentSameBody(), true, "Expected the retry client not to send the same body on every attempt, but it did."},
			{apitest.HaveSentSameIdempotencyKey(), false, "Expected the retry client to send the same Idempotency-Key on every attempt, but call #1 to GET /users/{id} carried no Idempotency-Key."},
			{apitest.HaveGivenUpWith(retryclient.ReasonMaxAttempts), false, `Expected the retry client to give up with reason "max-attempts", but it stopped with "success".`},
		}
		for _, c := range cases {
			Expect(fails(fx, c.m, c.negated)).To(Equal(c.want+timeline), "matcher %#v", c.m)
		}
	})

	It("says when Retry-After was never sent", func(ctx context.Context) {
		s := fi.NewScenario("plain").Route("GET /x", fi.Status(503), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fails(fx, apitest.HaveHonoredRetryAfter(), false)).To(HavePrefix(
			"Expected the retry client to honour Retry-After, but no answer carried a Retry-After header."))
	})

	It("reports a Retry-After that was not waited for", func(ctx context.Context) {
		// A plain client that ignores Retry-After: it retries at once.
		s := fi.NewScenario("impatient").Route("GET /x", fi.Status(429).RetryAfter(3*time.Second), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s)
		c := &http.Client{Transport: fx.ServerTransport()}
		for range 2 {
			resp, err := c.Get(fx.URL("/x"))
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
		}
		Expect(fails(fx.Journal(), apitest.HaveHonoredRetryAfter(), false)).To(HavePrefix(
			"Expected the retry client to honour Retry-After, but call #1 to GET /x was answered with Retry-After: 3 (a wait of 3s) and the next call came after 0s."))
	})

	It("reports different bodies and keys", func(ctx context.Context) {
		s := fi.NewScenario("sloppy").Route("POST /orders", fi.Status(503), fi.Status(201)).MustBuild()
		fx := apitest.New(ctx, s)
		c := &http.Client{Transport: fx.ServerTransport()}
		for i, body := range []string{`{"n":1}`, `{"n":22}`} {
			req, _ := http.NewRequest(http.MethodPost, fx.URL("/orders"), strings.NewReader(body))
			req.Header.Set("Idempotency-Key", []string{"k1", "k2"}[i])
			resp, err := c.Do(req)
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
		}
		Expect(fails(fx, apitest.HaveSentSameBody(), false)).To(MatchRegexp(
			`^Expected the retry client to send the same body on every attempt, but call #1 to POST /orders sent 7 bytes \(sha256 [0-9a-f]{12}\) and call #2 sent 8 bytes \(sha256 [0-9a-f]{12}\)\.`))
		Expect(fails(fx, apitest.HaveSentSameIdempotencyKey(), false)).To(HavePrefix(
			`Expected the retry client to send the same Idempotency-Key on every attempt, but call #1 to POST /orders sent Idempotency-Key "k1" and call #2 sent "k2".`))
	})

	// Regression: a misspelt route counted 0 calls and read like a client
	// bug ("the route received 0").
	It("names the nearest route when the scenario lacks the one matched", func(ctx context.Context) {
		s := fi.NewScenario("payments").Route("GET /v1/payments/{id}", fi.Status(200)).Route("POST /v1/payments", fi.Status(201)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		resp, err := fx.Get(ctx, "/v1/payments/7")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		_, err = apitest.HaveCalls("GET /v1/payment/{id}", 2).Match(fx)
		Expect(err).To(MatchError(`apitest: HaveCalls: scenario "payments" has no route "GET /v1/payment/{id}" (did you mean "GET /v1/payments/{id}"?)`))
		_, err = apitest.HaveCalls("DELETE /accounts", 1).Match(fx)
		Expect(err).To(MatchError(`apitest: HaveCalls: scenario "payments" has no route "DELETE /accounts"; its routes are ["GET /v1/payments/{id}" "POST /v1/payments"]`))
		Expect(fails(fx.Journal(), apitest.HaveCalls("GET /v1/payment/{id}", 2), false)).To(HavePrefix(
			`Expected the retry client to make 2 calls to GET /v1/payment/{id}, but the route received none (did you mean "GET /v1/payments/{id}"? it received 1 call).`))
		Expect(fx).To(apitest.HaveCalls("POST /v1/payments", 0))
	})

	// Regression: the matcher read "Retry-After: +3" as 3s while
	// retryclient ignores it and backs off, so a correct client failed.
	It("reads Retry-After as retryclient does", func(ctx context.Context) {
		s := fi.NewScenario("plus").Route("GET /x", fi.Status(503).Header("Retry-After", "+3"), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveAttempts(2))
		Expect(fx.Journal()).NotTo(apitest.HaveHonoredRetryAfter()) // no valid Retry-After to honour
		Expect(fails(fx.Journal(), apitest.HaveHonoredRetryAfter(), false)).To(HavePrefix(
			"Expected the retry client to honour Retry-After, but no answer carried a Retry-After header."))
	})

	// Regression: the client-side message read "…, but attempt #1 was
	// answered with Retry-After 3s but the client waited 1s".
	It("says once what went wrong with Retry-After on the client's side", func(ctx context.Context) {
		attempts := []retryclient.Attempt{
			{Number: 1, Status: 429, RetryAfter: 3 * time.Second, RetryAfterSeen: true, Retry: true, Delay: time.Second},
			{Number: 2, Status: 200},
		}
		Expect(fails(attempts, apitest.HaveHonoredRetryAfter(), false)).To(HavePrefix(
			"Expected the retry client to honour Retry-After, but attempt #1 was answered with Retry-After 3s and the client waited only 1s.\n"))
	})

	// Regression: the matcher called a Retry-After too large for int64
	// invalid ("no answer carried a Retry-After header") while retryclient
	// reads it as the longest wait and, above its cap, stops: a correct
	// client failed HaveHonoredRetryAfter.
	It("reads a huge Retry-After as retryclient does", func(ctx context.Context) {
		s := fi.NewScenario("huge").Route("GET /x", fi.Status(503).Header("Retry-After", "9999999999999999999"), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveGivenUpWith(retryclient.ReasonRetryAfterTooLong))
		Expect(fx.Journal()).To(apitest.HaveHonoredRetryAfter())
		Expect(fx).To(apitest.HaveHonoredRetryAfter())
	})

	It("checks the randomized and additive jitter shapes", func(ctx context.Context) {
		s := fi.NewScenario("outage").Route("GET /x", fi.Status(503)).MustBuild()
		b := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * time.Millisecond, Multiplier: 2, Max: time.Second,
			Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5}
		fx := apitest.New(ctx, s, apitest.WithPolicy(retryclient.DefaultPolicy().WithMaxAttempts(6).WithBackoff(b)))
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveBackedOffWithin(b))
		Expect(fx.Journal()).To(apitest.HaveBackedOffWithin(b))
		additive := b
		additive.Jitter, additive.MaxJitter = retryclient.JitterAdditive, 10*time.Millisecond
		Expect(fails(fx, apitest.HaveBackedOffWithin(additive), false)).To(ContainSubstring("with additive jitter (up to 10ms)"))
	})

	It("matches a GiveUpError", func(ctx context.Context) {
		s := fi.NewScenario("resets").Route("GET /x", fi.Reset()).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		_, err := fx.Get(ctx, "/x")
		Expect(err).To(HaveOccurred())
		Expect(err).To(apitest.HaveGivenUpWith(retryclient.ReasonMaxAttempts))
		Expect(fails(err, apitest.HaveGivenUpWith(retryclient.ReasonCanceled), false)).To(HavePrefix(
			`Expected the retry client to give up with reason "canceled", but it gave up with "max-attempts".`))
		Expect(fails(errors.New("plain"), apitest.HaveGivenUpWith(retryclient.ReasonCanceled), false)).To(HavePrefix(
			`Expected the retry client to give up with reason "canceled", but the error is not a *retryclient.GiveUpError: plain.`))
	})

	It("rejects values it cannot match with a clear error", func(ctx context.Context) {
		ok, err := apitest.HaveAttempts(1).Match(42)
		Expect(ok).To(BeFalse())
		Expect(err).To(MatchError("apitest: cannot match int; want a *apitest.Fixture, retryclient.Timeline, []retryclient.Attempt, *faultinject.Journal or []faultinject.Call"))
		_, err = apitest.HaveCalls("GET /x", 1).Match(retryclient.Timeline{})
		Expect(err).To(MatchError(ContainSubstring("HaveCalls needs the server's journal")))
	})

	It("stops Eventually early once a count is exceeded", func(ctx context.Context) {
		fx := run(ctx)
		start := time.Now()
		failures := InterceptGomegaFailures(func() {
			Eventually(fx).WithTimeout(time.Hour).Should(apitest.HaveAttempts(2))
		})
		Expect(failures).To(HaveLen(1))
		Expect(time.Since(start)).To(BeNumerically("<", time.Hour))
		Expect(failures[0]).To(ContainSubstring("No future change is possible."))
	})

	It("gives plain go test the same checks through Verify", func(ctx context.Context) {
		fx := run(ctx)
		Expect(apitest.Verify(fx, apitest.HaveAttempts(3))).To(Succeed())
		Expect(apitest.Verify(fx, apitest.HaveAttempts(1))).To(MatchError(HavePrefix("apitest: Expected the retry client to make 1 attempt, but it made 3.")))
	})
})
