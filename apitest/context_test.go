package apitest_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
)

// Context serves plain go test users: these tests use no Ginkgo at all.

func TestContextGivesVirtualTimeInASynctestBubble(t *testing.T) {
	var fx *apitest.Fixture
	synctest.Test(t, func(t *testing.T) {
		ctx := apitest.Context(t)
		if got, ok := apitest.T(ctx); !ok || got != t {
			t.Fatalf("apitest.T(Context(t)) = %v, %v; want the bubble's t", got, ok)
		}
		s := fi.NewScenario("slow-outage").
			Route("GET /report", fi.Status(503).RetryAfter(40*time.Second), fi.Status(200)).
			MustBuild()
		fx = apitest.New(ctx, s)
		start := time.Now()
		resp, err := fx.Get(ctx, "/report")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took := time.Since(start); took != 40*time.Second {
			t.Errorf("the request took %v of virtual time; want exactly the 40s Retry-After", took)
		}
		g := gomega.NewWithT(t)
		g.Expect(fx).To(apitest.HaveHonoredRetryAfter())
		g.Expect(fx).To(apitest.HaveAttempts(2))
		// The fixture's server runs on the in-memory listener inside the
		// bubble; synctest.Test would panic at the end of the bubble if its
		// cleanup (t.Cleanup, inside the bubble) did not close it.
	})
	if fx.Journal().Len() != 2 {
		t.Errorf("journal holds %d calls after the test; want the 2 it recorded", fx.Journal().Len())
	}
}

func TestContextClosesTheFixtureWithTheTest(t *testing.T) {
	var url string
	t.Run("uses a fixture in real time", func(t *testing.T) {
		s := fi.NewScenario("ok").Route("GET /ping", fi.Status(200)).MustBuild()
		fx := apitest.New(apitest.Context(t), s, apitest.WithTCP())
		url = fx.URL("/ping")
		resp, err := fx.Get(apitest.Context(t), "/ping")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d; want 200", resp.StatusCode)
		}
	})
	// The subtest's cleanup closed the TCP server: its port no longer
	// answers.
	c := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	if resp, err := c.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s after the test ended answered %d; want the server closed by t.Cleanup", url, resp.StatusCode)
	}
}

func TestContextDeferCleanupRunsWithTheTestLastFirst(t *testing.T) {
	var order []string
	t.Run("registers", func(t *testing.T) {
		ctx := apitest.Context(t)
		apitest.DeferCleanup(ctx, func() { order = append(order, "first registered") })
		apitest.DeferCleanup(ctx, func() { order = append(order, "second registered") })
		if len(order) != 0 {
			t.Fatalf("cleanups ran before the test ended: %q", order)
		}
	})
	want := []string{"second registered", "first registered"}
	if len(order) != 2 || order[0] != want[0] || order[1] != want[1] {
		t.Errorf("cleanups ran as %q; want %q", order, want)
	}
}

func TestContextIsTheTestsContext(t *testing.T) {
	var ctx context.Context
	t.Run("inner", func(t *testing.T) {
		ctx = apitest.Context(t)
		if ctx.Err() != nil {
			t.Fatalf("Context(t) is done while the test runs: %v", ctx.Err())
		}
		if _, ok := apitest.T(ctx); !ok {
			t.Fatal("apitest.T finds no *testing.T in Context(t)")
		}
	})
	// Like t.Context, the context is canceled once the test has ended, so a
	// request still using it stops.
	if ctx.Err() == nil {
		t.Error("Context(t) is still live after its test ended; want it canceled like t.Context()")
	}
	if _, ok := apitest.T(context.Background()); ok {
		t.Error("apitest.T found a *testing.T in context.Background()")
	}
}
