//go:build retrylab_testdata

package repeat

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
)

var _ = Describe("repeated", func() {
	var setUp bool
	BeforeEach(func() { setUp = true })

	It("runs in virtual time", apitest.VirtualTime, func(ctx context.Context) {
		Expect(setUp).To(BeTrue())
		Expect(suiteSetUp).To(BeTrue())
		fx := apitest.New(ctx, fi.NewScenario("flaky").Route("GET /x", fi.Status(503), fi.Status(200)).MustBuild())
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveAttempts(2))
		time.Sleep(time.Hour)
	})

	It("runs in real time", func() {
		Expect(setUp).To(BeTrue())
	})
})

// suiteSetUp is set by the BeforeSuite, in virtual time.
var suiteSetUp bool

var _ = BeforeSuite(apitest.VirtualTime, func(ctx context.Context) {
	start := time.Now()
	time.Sleep(time.Minute)
	Expect(time.Since(start)).To(Equal(time.Minute))
	suiteSetUp = true
})
