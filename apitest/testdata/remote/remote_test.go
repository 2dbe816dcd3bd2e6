//go:build retrylab_testdata

package remote

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

var _ = BeforeSuite(func() {
	Expect(os.Getenv(apitest.RemoteEnv)).NotTo(BeEmpty(), "run with RETRYLAB_SERVER set")
})

// Every process plays the same scenario on the same server, at the same
// time: the exact counts hold only if no process sees another's calls.
var scenario = fi.NewScenario("shared-flaky").
	Route("POST /orders",
		fi.Status(503).Times(2).Delay(50*time.Millisecond),
		fi.Status(429).RetryAfter(0),
		fi.Status(201)).
	Route("GET /orders/{id}", fi.Status(200)).
	MustBuild()

func policy() retryclient.Policy {
	p := retryclient.DefaultPolicy().WithMaxAttempts(4)
	b := p.Backoff.WithJitter(retryclient.JitterNone)
	b.Initial = 10 * time.Millisecond
	return p.WithBackoff(b)
}

var _ = Describe("a shared server", func() {
	for i := range 3 {
		It("plays this spec's own script", func(ctx SpecContext) {
			fx := apitest.New(ctx, scenario, apitest.WithRemoteFromEnv(), apitest.WithPolicy(policy()))
			Expect(fx.Session()).NotTo(BeEmpty())
			for range i + 1 {
				resp, err := fx.Get(context.Background(), "/orders/7")
				Expect(err).NotTo(HaveOccurred())
				resp.Body.Close()
			}
			req, _ := http.NewRequestWithContext(context.Background(), "POST", fx.URL("/orders"), strings.NewReader(`{"item":1}`))
			req.Header.Set("Idempotency-Key", "order-1")
			resp, err := fx.Client().Do(req)
			Expect(err).NotTo(HaveOccurred())
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(201))

			Expect(fx).To(apitest.HaveCalls("POST /orders", 4))
			Expect(fx).To(apitest.HaveCalls("GET /orders/{id}", i+1))
			Expect(fx).To(apitest.HaveHonoredRetryAfter())
			calls := fx.Journal().Calls()
			Expect(calls[i+1:]).To(apitest.HaveSentSameIdempotencyKey())
			Expect(calls).To(HaveLen(i + 5))
			Expect(calls[0].Seq).To(Equal(1))
			for _, c := range calls {
				Expect(c.Header.Get(fi.SessionHeader)).To(Equal(fx.Session()))
			}
		})
	}
})
