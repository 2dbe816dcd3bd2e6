package apitest_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// In plain go test, run the fixture inside synctest.Test, so the client's
// waits take no wall time, and report what the checks return. The body of
// testUsers is what a func TestUsers(t *testing.T) holds.
func ExampleCheckAttempts() {
	testUsers := func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := apitest.Context(t)
			s := fi.NewScenario("flaky").
				Route("GET /users/{id}", fi.Status(503).Times(2), fi.Status(200)).
				MustBuild()
			fx := apitest.New(ctx, s)
			resp, err := fx.Get(ctx, "/users/1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := apitest.CheckAttempts(fx, 3); err != nil {
				t.Error(err)
			}
			if err := apitest.CheckBackedOffExponentially(fx, 100*time.Millisecond, 2); err != nil {
				t.Error(err)
			}
		})
	}
	_ = testUsers
}

// A check that fails returns a *CheckError: what was expected, what
// happened instead, and the timeline.
func ExampleCheckError() {
	timeline := retryclient.Timeline{
		{Number: 1, Method: "GET", URL: "/x", Status: 429, RetryAfterSeen: true, RetryAfter: 3 * time.Second,
			Retry: true, Delay: time.Second, Reason: retryclient.ReasonRetryableStatus},
		{Number: 2, Method: "GET", URL: "/x", Status: 200, Reason: retryclient.ReasonSuccess},
	}
	fmt.Println(apitest.CheckAttempts(timeline, 2))
	err := apitest.CheckHonoredRetryAfter(timeline)
	var ce *apitest.CheckError
	if errors.As(err, &ce) {
		fmt.Println(ce.Problem)
	}
	fmt.Println(err)
	// Output:
	// <nil>
	// attempt #1 was answered with Retry-After 3s and the client waited only 1s
	// apitest: Expected the retry client to honour Retry-After, but attempt #1 was answered with Retry-After 3s and the client waited only 1s.
	//
	// Timeline:
	//   #1 +0s GET /x → 429 [Retry-After 3s] · retry in 1s (retryable-status)
	//   #2 +0s GET /x → 200 · done (success)
}
