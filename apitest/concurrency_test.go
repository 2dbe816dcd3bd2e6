package apitest_test

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// burst sends 20 requests at once through a fixture whose route answers
// 503 (after 100ms) to the first 20 calls, then 200 (after 100ms).
func burst(t *testing.T, opts ...retryclient.Option) *apitest.Fixture {
	s := fi.NewScenario("burst").
		Route("GET /work", fi.Status(503).Delay(100*time.Millisecond).Times(20), fi.Status(200).Delay(100*time.Millisecond)).
		MustBuild()
	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(10 * time.Millisecond))
	fx := apitest.New(apitest.Context(t), s, apitest.WithPolicy(p), apitest.WithClientOptions(opts...))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := fx.Client().Get(fx.URL("/work"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	return fx
}

func TestHaveRetriedAtMostConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewWithT(t)
		fx := burst(t, retryclient.WithRetryLimiter(retryclient.NewRetryLimiter(3)))
		g.Expect(fx).To(apitest.HaveRetriedAtMostConcurrently(3))
		g.Expect(fx).NotTo(apitest.HaveRetriedAtMostConcurrently(2))
	})
	synctest.Test(t, func(t *testing.T) {
		g := NewWithT(t)
		fx := burst(t) // no limiter: all 20 retry at once
		m := apitest.HaveRetriedAtMostConcurrently(3)
		ok, err := m.Match(fx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeFalse())
		g.Expect(m.FailureMessage(fx)).To(HavePrefix("Expected the retry client to have at most 3 retries in flight at once, but the server served 20 retries at once."))
	})
}
