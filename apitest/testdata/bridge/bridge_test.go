//go:build retrylab_testdata

// Package bridge is a Ginkgo suite whose specs fail on purpose, one way each.
// apitest's own tests run it in a subprocess (with -tags retrylab_testdata)
// and check how each failure is reported.
package bridge

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
)

func TestBridge(t *testing.T) {
	apitest.RunSpecs(t, "bridge")
}

var _ = Describe("failures", func() {
	It("expect-fails", apitest.VirtualTime, func(ctx context.Context) {
		time.Sleep(time.Minute)
		Expect(1).To(Equal(2), "one is not two")
	})

	It("deadlocks", apitest.VirtualTime, func(ctx context.Context) {
		never := make(chan int)
		<-never
	})

	It("fails its T", apitest.VirtualTime, func(ctx context.Context) {
		t, _ := apitest.T(ctx)
		t.Errorf("t.Errorf inside the bubble")
	})

	It("panics", apitest.VirtualTime, func(ctx context.Context) {
		panic("boom inside the bubble")
	})

	It("passes", apitest.VirtualTime, func(ctx context.Context) {
		time.Sleep(time.Hour)
	})
})

var _ = Describe("outcomes", func() {
	It("skips", apitest.VirtualTime, func(ctx context.Context) {
		time.Sleep(time.Second)
		Skip("skipped on purpose")
	})

	It("fails after its bubble", apitest.VirtualTime, func(ctx context.Context) {
		DeferCleanup(func() { Fail("a real-time cleanup fails") })
	})
})

var _ = Describe("misuse", func() {
	Context("a Fixture made in a real-time BeforeEach", func() {
		var fx *apitest.Fixture
		BeforeEach(func(ctx SpecContext) {
			fx = apitest.New(ctx, fi.NewScenario("shared").Route("GET /x", fi.Status(200)).MustBuild())
		})
		It("used in a VirtualTime It", apitest.VirtualTime, func(ctx context.Context) {
			_ = fx.Client()
		})
	})

	Context("a Fixture made in a VirtualTime BeforeEach", apitest.VirtualTime, func() {
		var fx *apitest.Fixture
		BeforeEach(func(ctx context.Context) {
			fx = apitest.New(ctx, fi.NewScenario("shared").Route("GET /x", fi.Status(200)).MustBuild())
		})
		It("used in another bubble", func(ctx context.Context) {
			_ = fx.URL("/x")
		})
	})

	It("New with a context that is not the node's", apitest.VirtualTime, func(ctx context.Context) {
		apitest.New(context.Background(), fi.NewScenario("x").Route("GET /x", fi.Status(200)).MustBuild())
	})

	It("WithTCP in a bubble", apitest.VirtualTime, func(ctx context.Context) {
		apitest.New(ctx, fi.NewScenario("x").Route("GET /x", fi.Status(200)).MustBuild(), apitest.WithTCP())
	})
})

var _ = Describe("cleanup", func() {
	It("fails in DeferCleanup", apitest.VirtualTime, func(ctx context.Context) {
		apitest.DeferCleanup(ctx, func() { Expect("cleanup").To(Equal("clean"), "a failing cleanup") })
	})
})

var _ = Describe("report", func() {
	It("fails with a fixture", apitest.VirtualTime, func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("reported").Route("GET /x", fi.Status(503), fi.Status(200)).MustBuild())
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveAttempts(1))
	})
})
