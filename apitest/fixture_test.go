package apitest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// noJitter is the default policy with a deterministic schedule.
func noJitter() retryclient.Policy {
	p := retryclient.DefaultPolicy()
	return p.WithBackoff(p.Backoff.WithJitter(retryclient.JitterNone))
}

var _ = Describe("Fixture", apitest.VirtualTime, func() {
	It("retries transient 503s and returns the success", func(ctx context.Context) {
		s := fi.NewScenario("flaky").
			Route("GET /users/{id}", fi.Status(503).Times(2), fi.Status(200).Body(`{"id":1}`)).
			MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))

		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200))
		Expect(string(body)).To(Equal(`{"id":1}`))

		Expect(fx).To(apitest.HaveAttempts(3))
		Expect(fx).To(apitest.HaveCalls("GET /users/{id}", 3))
		Expect(fx).To(apitest.HaveWaited(100*time.Millisecond, 200*time.Millisecond))
		Expect(fx.Journal()).To(apitest.HaveWaited(100*time.Millisecond, 200*time.Millisecond))
		Expect(fx).To(apitest.HaveBackedOffExponentially(100*time.Millisecond, 2))
		Expect(fx).To(apitest.HaveGivenUpWith(retryclient.ReasonSuccess))
		Expect(fx).NotTo(apitest.HaveNotRetried())
	})

	It("does not retry a 400", func(ctx context.Context) {
		s := fi.NewScenario("bad-request").Route("GET /users/{id}", fi.Status(400), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s)
		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(400))
		Expect(fx).To(apitest.HaveNotRetried())
		Expect(fx.Journal()).To(apitest.HaveNotRetried())
		Expect(fx).To(apitest.HaveGivenUpWith(retryclient.ReasonNotRetryableStatus))
	})

	It("waits exactly as long as Retry-After asks", func(ctx context.Context) {
		s := fi.NewScenario("rate-limited").
			Route("GET /users/{id}", fi.Status(429).RetryAfter(2*time.Second), fi.Status(200)).
			MustBuild()
		fx := apitest.New(ctx, s)
		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveHonoredRetryAfter())
		Expect(fx).To(apitest.HaveWaited(2 * time.Second))
		Expect(fx.Journal().Gaps("")).To(Equal([]time.Duration{2 * time.Second}))
	})

	It("replays a keyed POST with the same body and key", func(ctx context.Context) {
		s := fi.NewScenario("orders").Route("POST /orders", fi.Status(503).Times(2), fi.Status(201)).MustBuild()
		fx := apitest.New(ctx, s)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fx.URL("/orders"), strings.NewReader(`{"item":42}`))
		req.Header.Set("Idempotency-Key", "order-42")
		resp, err := fx.Client().Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(201))
		Expect(fx).To(apitest.HaveAttempts(3))
		Expect(fx).To(apitest.HaveSentSameBody())
		Expect(fx).To(apitest.HaveSentSameIdempotencyKey())
	})

	It("does not retry a POST without a key", func(ctx context.Context) {
		s := fi.NewScenario("orders").Route("POST /orders", fi.Status(503), fi.Status(201)).MustBuild()
		fx := apitest.New(ctx, s)
		resp, err := fx.Client().Post(fx.URL("/orders"), "application/json", strings.NewReader(`{}`))
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(503))
		Expect(fx).To(apitest.HaveNotRetried())
		Expect(fx).To(apitest.HaveGivenUpWith(retryclient.ReasonNotIdempotent))
		Expect(fx).NotTo(apitest.HaveSentSameIdempotencyKey())
	})

	It("abandons a hung attempt at the attempt timeout and retries", func(ctx context.Context) {
		s := fi.NewScenario("stuck").Route("GET /users/{id}", fi.Hang(), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter().WithAttemptTimeout(5*time.Second)))
		start := time.Now()
		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200))
		Expect(time.Since(start)).To(Equal(5*time.Second + 100*time.Millisecond))
		Expect(fx.Attempts()[0].ErrClass).To(Equal(retryclient.ClassTimeout))
		Expect(fx).To(apitest.HaveAttempts(2))
	})

	It("gives up after the last attempt with the last response", func(ctx context.Context) {
		s := fi.NewScenario("outage").Route("GET /users/{id}", fi.Status(503)).MustBuild()
		fx := apitest.New(ctx, s)
		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(503))
		Expect(fx).To(apitest.HaveAttempts(3))
		Expect(fx).To(apitest.HaveGivenUpWith(retryclient.ReasonMaxAttempts))
		Expect(fx).To(apitest.HaveWaitedBetween(0, 200*time.Millisecond))
	})

	It("works with Eventually on a request running in the background", func(ctx context.Context) {
		s := fi.NewScenario("slow").Route("GET /users/{id}", fi.Status(503).Times(2), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			resp, err := fx.Get(ctx, "/users/1")
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
		}()
		Eventually(ctx, fx).WithPolling(50 * time.Millisecond).Should(apitest.HaveAttempts(3))
		<-done
	})
})

var _ = Describe("Fixture in real time", func() {
	It("serves over TCP with WithTCP", func(ctx SpecContext) {
		s := fi.NewScenario("tcp").Route("GET /users/{id}", fi.Status(503), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithTCP(), apitest.WithLeakCheck(),
			apitest.WithPolicy(noJitter().WithBackoff(retryclient.ConstantBackoff(time.Millisecond))))
		Expect(fx.URL("/x")).To(HavePrefix("http://127.0.0.1:"))
		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200))
		Expect(fx).To(apitest.HaveAttempts(2))
		Expect(fx).To(apitest.HaveWaited(time.Millisecond))
	})
})

var _ = Describe("Fixture with Consistently", apitest.VirtualTime, func() {
	It("holds a matcher for a while, in virtual time", func(ctx context.Context) {
		s := fi.NewScenario("bad").Route("GET /x", fi.Status(400)).MustBuild()
		fx := apitest.New(ctx, s)
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		start := time.Now()
		Consistently(ctx, fx).WithTimeout(time.Minute).WithPolling(time.Second).Should(apitest.HaveNotRetried())
		Expect(time.Since(start)).To(BeNumerically(">=", time.Minute))
	})
})
