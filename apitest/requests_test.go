package apitest_test

import (
	"context"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// Regression tests for matchers over several logical requests and for
// stops between attempts.
var _ = Describe("matchers over several requests", apitest.VirtualTime, func() {
	It("keeps each request's body and key apart (regression: two keyed POSTs were compared with each other)", func(ctx context.Context) {
		s := fi.NewScenario("orders").Route("POST /orders", fi.Status(503), fi.Status(201)).ThenLoop().MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		for i, body := range []string{`{"n":1}`, `{"n":22}`} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fx.URL("/orders"), strings.NewReader(body))
			req.Header.Set("Idempotency-Key", []string{"k1", "k2"}[i])
			resp, err := fx.Client().Do(req)
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
		}
		Expect(fx).To(apitest.HaveAttempts(4))
		Expect(fx).To(apitest.HaveSentSameBody())
		Expect(fx).To(apitest.HaveSentSameIdempotencyKey())
		Expect(fx.Journal()).To(apitest.HaveSentSameBody())
		Expect(fx).To(apitest.HaveWaited(100*time.Millisecond, 100*time.Millisecond))
	})

	It("judges Retry-After per request (regression: a give-up followed by a new request failed it)", func(ctx context.Context) {
		s := fi.NewScenario("limited").Route("GET /x", fi.Status(429).RetryAfter(120*time.Second), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s)
		for range 2 {
			resp, err := fx.Get(ctx, "/x")
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
		}
		Expect(fx).To(apitest.HaveHonoredRetryAfter())
		Expect(fx).To(apitest.HaveWaited())
	})

	It("sees a cancellation during a backoff (regression: the fixture reported a wait that never ended)", func(ctx context.Context) {
		s := fi.NewScenario("outage").Route("GET /x", fi.Status(503)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter().WithBackoff(retryclient.ConstantBackoff(time.Second))))
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := fx.Get(cctx, "/x")
		Expect(err).To(MatchError(context.DeadlineExceeded))
		Expect(fx).To(apitest.HaveGivenUpWith(retryclient.ReasonCanceled))
		Expect(fx).To(apitest.HaveWaited())
		Expect(fx).To(apitest.HaveAttempts(1))
	})

	It("rejects constant backoff as exponential (regression: any wait under the envelope passed)", func(ctx context.Context) {
		s := fi.NewScenario("outage").Route("GET /x", fi.Status(503)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter().WithMaxAttempts(5).WithBackoff(retryclient.ConstantBackoff(time.Millisecond))))
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).NotTo(apitest.HaveBackedOffExponentially(100*time.Millisecond, 2))
		Expect(fx).To(apitest.HaveBackedOffWithin(retryclient.ConstantBackoff(time.Millisecond)))
	})

	It("checks jittered schedules against the jitter's bounds", func(ctx context.Context) {
		s := fi.NewScenario("outage").Route("GET /x", fi.Status(503)).MustBuild()
		p := retryclient.DefaultPolicy().WithMaxAttempts(6)
		p = p.WithBackoff(p.Backoff.WithJitter(retryclient.JitterEqual))
		fx := apitest.New(ctx, s, apitest.WithPolicy(p), apitest.WithSeed(3))
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveBackedOffExponentially(100*time.Millisecond, 2))
		Expect(fx).To(apitest.HaveBackedOffWithin(p.Backoff))
		Expect(fx).NotTo(apitest.HaveBackedOffWithin(p.Backoff.WithJitter(retryclient.JitterNone)))
	})

	It("rejects an inverted range", func(ctx context.Context) {
		_, err := apitest.HaveWaitedBetween(time.Second, time.Millisecond).Match(retryclient.Timeline{})
		Expect(err).To(MatchError("apitest: HaveWaitedBetween(1s, 1ms): the lower bound is above the upper one"))
	})
})

var _ = Describe("matchers in real time", func() {
	It("allow for loopback overshoot on observed waits (regression: 100.7ms failed a 100ms wait)", func(ctx SpecContext) {
		s := fi.NewScenario("tcp").Route("GET /x", fi.Status(503).Times(2), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithTCP())
		// A client other than the fixture's: only the journal knows its waits.
		c := &http.Client{Transport: retryclient.New(fx.ServerTransport(), noJitter().WithBackoff(
			retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 20 * time.Millisecond, Multiplier: 2, Jitter: retryclient.JitterNone}))}
		resp, err := c.Get(fx.URL("/x"))
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveBackedOffExponentially(20*time.Millisecond, 2))
		Expect(fx).To(apitest.HaveWaited(20*time.Millisecond, 40*time.Millisecond))
	})
})
