package users_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"

	"github.com/retrylab/retrylab/examples/users"
)

var _ = Describe("users client", apitest.VirtualTime, func() {
	// The policy under test: 4 attempts, exponential backoff from 100ms
	// without jitter (so waits can be asserted exactly), 5s per attempt.
	policy := retryclient.DefaultPolicy().WithMaxAttempts(4).WithAttemptTimeout(5 * time.Second)
	policy = policy.WithBackoff(policy.Backoff.WithJitter(retryclient.JitterNone))

	var client = func(fx *apitest.Fixture) *users.Client {
		return &users.Client{HTTP: fx.Client(), BaseURL: fx.URL("")}
	}
	ada := fi.Status(200).Header("Content-Type", "application/json").Body(`{"id": 1, "name": "Ada"}`)

	It("rides out transient 503s", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("flaky").
			Route("GET /users/{id}", fi.Status(503).Times(2), ada).MustBuild(), apitest.WithPolicy(policy))

		u, err := client(fx).Get(ctx, 1)

		Expect(err).NotTo(HaveOccurred())
		Expect(u.Name).To(Equal("Ada"))
		Expect(fx).To(apitest.HaveAttempts(3))
		Expect(fx).To(apitest.HaveWaited(100*time.Millisecond, 200*time.Millisecond))
	})

	It("waits as long as a 429's Retry-After asks", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("rate-limited").
			Route("GET /users/{id}", fi.Status(429).RetryAfter(2*time.Second), ada).MustBuild(), apitest.WithPolicy(policy))

		_, err := client(fx).Get(ctx, 1)

		Expect(err).NotTo(HaveOccurred())
		Expect(fx).To(apitest.HaveHonoredRetryAfter())
		Expect(fx).To(apitest.HaveWaited(2 * time.Second))
	})

	It("abandons a hung attempt after 5s and retries", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("stuck").
			Route("GET /users/{id}", fi.Hang(), ada).MustBuild(), apitest.WithPolicy(policy))

		start := time.Now()
		_, err := client(fx).Get(ctx, 1)

		Expect(err).NotTo(HaveOccurred())
		Expect(time.Since(start)).To(Equal(5*time.Second + 100*time.Millisecond))
		Expect(fx).To(apitest.HaveAttempts(2))
	})

	It("does not retry a 404", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("missing").
			Route("GET /users/{id}", fi.Status(404), ada).MustBuild(), apitest.WithPolicy(policy))

		_, err := client(fx).Get(ctx, 1)

		Expect(err).To(MatchError(&users.StatusError{Status: 404}))
		Expect(fx).To(apitest.HaveNotRetried())
	})

	It("does not retry a rename without an Idempotency-Key", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("rename").
			Route("POST /users/{id}/rename", fi.Status(503), ada).MustBuild(), apitest.WithPolicy(policy))

		_, err := client(fx).Rename(ctx, 1, "Ada", "")

		Expect(err).To(MatchError(&users.StatusError{Status: 503}))
		Expect(fx).To(apitest.HaveNotRetried())
	})

	It("retries a keyed rename with the same body and key", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("rename").
			Route("POST /users/{id}/rename", fi.Status(503).Times(2), ada).MustBuild(), apitest.WithPolicy(policy))

		u, err := client(fx).Rename(ctx, 1, "Ada", "rename-1-ada")

		Expect(err).NotTo(HaveOccurred())
		Expect(u.Name).To(Equal("Ada"))
		Expect(fx).To(apitest.HaveAttempts(3))
		Expect(fx).To(apitest.HaveSentSameBody())
		Expect(fx).To(apitest.HaveSentSameIdempotencyKey())
	})
})
