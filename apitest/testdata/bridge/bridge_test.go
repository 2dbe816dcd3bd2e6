// Package bridge is a Ginkgo suite whose specs fail on purpose, one way each.
// apitest's own tests run it in a subprocess and check how each failure is
// reported.
package bridge

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
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
