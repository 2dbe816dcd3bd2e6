package apitest_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
)

var _ = Describe("VirtualTime", func() {
	It("runs a long sleep on the fake clock", apitest.VirtualTime, func(ctx context.Context) {
		wallStart := time.Now()
		start := time.Now()
		time.Sleep(30 * time.Second)
		Expect(time.Since(start)).To(Equal(30 * time.Second))
		// The bubble's clock starts at 2000-01-01 UTC.
		Expect(start.Year()).To(Equal(2000))
		_ = wallStart
	})

	It("hands the body a context with the bubble's deadline and *testing.T", apitest.VirtualTime, func(ctx context.Context) {
		t, ok := apitest.T(ctx)
		Expect(ok).To(BeTrue())
		Expect(t).NotTo(BeNil())

		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		<-tctx.Done()
		Expect(time.Since(start)).To(Equal(5 * time.Second))
		Expect(tctx.Err()).To(MatchError(context.DeadlineExceeded))
	})

	It("still lets Ginkgo and Gomega find the SpecContext", apitest.VirtualTime, func(ctx context.Context) {
		Expect(ctx.Value("GINKGO_SPEC_CONTEXT")).NotTo(BeNil())
		n := 0
		Eventually(func() int { n++; return n }).WithContext(ctx).
			WithTimeout(time.Minute).WithPolling(10 * time.Second).Should(BeNumerically(">=", 3))
	})

	It("runs t.Cleanup inside the bubble", apitest.VirtualTime, func(ctx context.Context) {
		t, _ := apitest.T(ctx)
		timer := time.NewTimer(time.Hour)
		t.Cleanup(func() { timer.Stop() })
	})

	Context("applied to a container", apitest.VirtualTime, func() {
		var year int
		BeforeEach(func(ctx context.Context) {
			year = time.Now().Year()
		})
		It("gives each node its own bubble", func(ctx context.Context) {
			Expect(year).To(Equal(2000))
			Expect(time.Now().Year()).To(Equal(2000))
		})
	})

	It("runs nodes without the decorator in real time", func() {
		Expect(time.Now().Year()).To(BeNumerically(">", 2000))
	})
})
