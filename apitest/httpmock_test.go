package apitest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

var _ = Describe("WithHTTPMock", apitest.VirtualTime, func() {
	It("plays the scenario through httpmock responders, retries above the mock", func(ctx context.Context) {
		s := fi.NewScenario("flaky").
			Route("GET /users/{id}", fi.Status(503).Times(2), fi.Status(429).RetryAfter(2*time.Second), fi.Status(200).Body(`{"id":1}`)).
			MustBuild()
		fx := apitest.New(ctx, s, apitest.WithHTTPMock(), apitest.WithPolicy(noJitter().WithMaxAttempts(4)))
		Expect(fx.MockTransport()).NotTo(BeNil())

		resp, err := fx.Get(ctx, "/users/1")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200))
		Expect(string(body)).To(Equal(`{"id":1}`))
		Expect(fx).To(apitest.HaveCalls("GET /users/{id}", 4))
		Expect(fx).To(apitest.HaveWaited(100*time.Millisecond, 200*time.Millisecond, 2*time.Second))
		Expect(fx.Journal()).To(apitest.HaveWaited(100*time.Millisecond, 200*time.Millisecond, 2*time.Second))
		Expect(fx.MockTransport().GetTotalCallCount()).To(Equal(4))
	})

	It("plays wire faults as a client over TCP observes them", func(ctx context.Context) {
		s := fi.NewScenario("reset").Route("GET /x", fi.Reset(), fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithHTTPMock())
		resp, err := fx.Get(ctx, "/x")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(fx).To(apitest.HaveAttempts(2))
		Expect(fx.Journal().Calls()[0].Action).To(Equal("reset"))
	})

	It("lets other URLs be mocked on the same transport", func(ctx context.Context) {
		s := fi.NewScenario("users").Route("GET /users/{id}", fi.Status(200)).MustBuild()
		fx := apitest.New(ctx, s, apitest.WithHTTPMock())
		fx.MockTransport().RegisterResponder("GET", "http://auth.example/token", httpmock.NewStringResponder(200, "t0k3n"))
		resp, err := fx.Client().Get("http://auth.example/token")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(string(body)).To(Equal("t0k3n"))
		Expect(fx.Journal().Len()).To(Equal(0))
	})

	It("has no MockTransport when served over a pipe", func(ctx context.Context) {
		fx := apitest.New(ctx, fi.NewScenario("pipe").Route("GET /x", fi.Status(200)).MustBuild())
		Expect(fx.MockTransport()).To(BeNil())
	})
})

func TestWithHTTPMockAndWithTCPAreRefused(t *testing.T) {
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "WithTCP and WithHTTPMock cannot be combined") {
			t.Errorf("panic = %q, want WithTCP and WithHTTPMock cannot be combined", msg)
		}
	}()
	apitest.New(context.Background(), fi.NewScenario("x").Route("GET /x", fi.Status(200)).MustBuild(), apitest.WithHTTPMock(), apitest.WithTCP())
}

// WithHTTPMock serves the scenario through httpmock responders: no server,
// no connections, nothing global replaced.
func ExampleWithHTTPMock() {
	s := fi.NewScenario("flaky").Route("GET /users/{id}", fi.Status(503), fi.Status(200).Body(`{"id":1}`)).MustBuild()
	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(time.Millisecond))
	fx := apitest.New(context.Background(), s, apitest.WithHTTPMock(), apitest.WithPolicy(p))
	defer fx.Close()

	resp, err := fx.Client().Get(fx.URL("/users/1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	_, untouched := http.DefaultTransport.(*http.Transport)
	fmt.Println(resp.Status, untouched)
	fmt.Println(apitest.Verify(fx, apitest.HaveCalls("GET /users/{id}", 2)))
	// Output:
	// 200 OK true
	// <nil>
}
