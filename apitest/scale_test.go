package apitest_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// Twenty-four specs, each waiting out long Retry-After pauses and a hung
// attempt, add up to well over ten minutes of virtual time; the container
// checks that they took a tiny fraction of that in wall time.
var _ = Describe("virtual time at scale", Ordered, func() {
	const specs = 24
	var (
		wallStart time.Time
		virtual   time.Duration
	)
	BeforeAll(func() { wallStart = time.Now() })
	AfterAll(func() {
		wall := time.Since(wallStart)
		AddReportEntry("virtual time at scale", fmt.Sprintf("%d specs, %v of virtual waits, %v of wall time", specs, virtual, wall))
		Expect(virtual).To(BeNumerically(">=", 10*time.Minute))
		// The bound has two orders of magnitude of headroom: the specs take
		// a few milliseconds on a loaded 2-core machine.
		Expect(wall).To(BeNumerically("<", 2*time.Second))
	})

	for i := range specs {
		It(fmt.Sprintf("waits out outage %d", i+1), apitest.VirtualTime, func(ctx context.Context) {
			retryAfter := time.Duration(10+i) * time.Second
			s := fi.NewScenario("long").
				Route("GET /report", fi.Status(503).RetryAfter(retryAfter), fi.Hang(), fi.Status(200)).
				MustBuild()
			p := retryclient.DefaultPolicy().WithAttemptTimeout(5 * time.Second).
				WithBackoff(retryclient.ConstantBackoff(time.Second))
			fx := apitest.New(ctx, s, apitest.WithPolicy(p))
			start := time.Now()
			resp, err := fx.Get(ctx, "/report")
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			elapsed := time.Since(start)
			Expect(elapsed).To(Equal(retryAfter + 5*time.Second + time.Second))
			Expect(fx).To(apitest.HaveHonoredRetryAfter())
			Expect(fx).To(apitest.HaveAttempts(3))
			virtual += elapsed
		})
	}
})
