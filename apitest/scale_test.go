package apitest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/bubbles"
	"github.com/retrylab/retrylab/retryclient"
)

// Twenty-four specs, each waiting out a long Retry-After pause and a hung
// attempt, add up to well over ten minutes of virtual time, every wait
// exact. BenchmarkVirtualTimeAtScale measures the wall time they take.
var _ = Describe("virtual time at scale", Ordered, func() {
	const specs = 24
	var virtual time.Duration
	AfterAll(func() {
		Expect(virtual).To(BeNumerically(">=", 10*time.Minute))
	})

	for i := range specs {
		It(fmt.Sprintf("waits out outage %d", i+1), apitest.VirtualTime, func(ctx context.Context) {
			virtual += waitOutOutage(ctx, Default, i)
		})
	}
})

// waitOutOutage sends one request through a fixture whose route answers
// 503 with a Retry-After of 10+i seconds, then hangs past the 5 s attempt
// timeout, then succeeds; it checks the exact virtual time taken and
// returns it.
func waitOutOutage(ctx context.Context, g Gomega, i int) time.Duration {
	retryAfter := time.Duration(10+i) * time.Second
	s := fi.NewScenario("long").
		Route("GET /report", fi.Status(503).RetryAfter(retryAfter), fi.Hang(), fi.Status(200)).
		MustBuild()
	p := retryclient.DefaultPolicy().WithAttemptTimeout(5 * time.Second).
		WithBackoff(retryclient.ConstantBackoff(time.Second))
	fx := apitest.New(ctx, s, apitest.WithPolicy(p))
	start := time.Now()
	resp, err := fx.Get(ctx, "/report")
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	elapsed := time.Since(start)
	g.Expect(elapsed).To(Equal(retryAfter + 5*time.Second + time.Second))
	g.Expect(fx).To(apitest.HaveHonoredRetryAfter())
	g.Expect(fx).To(apitest.HaveAttempts(3))
	return elapsed
}

// BenchmarkVirtualTimeAtScale measures the wall time of the 24 outages of
// "virtual time at scale" (over ten minutes of virtual waits), each in its
// own bubble as VirtualTime runs them. The design's target is under 2 s.
func BenchmarkVirtualTimeAtScale(b *testing.B) {
	for b.Loop() {
		for i := range 24 {
			bubbles.Run(b, func(t *testing.T) {
				waitOutOutage(apitest.Context(t), NewWithT(t), i)
			})
		}
	}
}
