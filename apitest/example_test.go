package apitest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// Verify gives plain go test (and any other caller) the matchers' checks
// and messages without Gomega.
func ExampleVerify() {
	s := fi.NewScenario("flaky").Route("GET /users/{id}", fi.Status(503), fi.Status(200)).MustBuild()
	srv := fi.NewPipeServer(s)
	defer srv.Close()

	var timeline retryclient.Timeline
	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(time.Millisecond))
	client := &http.Client{Transport: retryclient.New(srv.Transport(), p,
		retryclient.WithObserver(func(a retryclient.Attempt) { timeline = append(timeline, a) }))}
	resp, err := client.Get(srv.URL + "/users/1")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	fmt.Println(apitest.Verify(timeline, apitest.HaveAttempts(2)))
	fmt.Println(apitest.Verify(srv.Journal(), apitest.HaveCalls("GET /users/{id}", 2)))
	fmt.Println(apitest.Verify(timeline, apitest.HaveWaited(time.Millisecond)))
	err = apitest.Verify(timeline, apitest.HaveNotRetried())
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// true
}

// The matchers read a Timeline of client attempts as well as a Fixture.
func ExampleHaveGivenUpWith() {
	timeline := retryclient.Timeline{
		{Number: 1, Method: "GET", URL: "/x", Status: 503, Retry: true, Delay: 100 * time.Millisecond, Reason: retryclient.ReasonRetryableStatus},
		{Number: 2, Method: "GET", URL: "/x", Status: 503, Reason: retryclient.ReasonMaxAttempts},
	}
	fmt.Println(apitest.Verify(timeline, apitest.HaveGivenUpWith(retryclient.ReasonMaxAttempts)))
	fmt.Println(apitest.Verify(timeline, apitest.HaveGivenUpWith(retryclient.ReasonSuccess)))
	// Output:
	// <nil>
	// apitest: Expected the retry client to give up with reason "success", but it stopped with "max-attempts".
	//
	// Timeline:
	//   #1 +0s GET /x → 503 · retry in 100ms (retryable-status)
	//   #2 +0s GET /x → 503 · gave up (max-attempts)
}

// Outside a spec or test, New makes a fixture that the caller closes.
func ExampleNew() {
	s := fi.NewScenario("flaky").Route("GET /users/{id}", fi.Status(503), fi.Status(200).Body(`{"id":1}`)).MustBuild()
	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(10 * time.Millisecond))
	fx := apitest.New(context.Background(), s, apitest.WithPolicy(p))
	defer fx.Close()

	resp, err := fx.Client().Get(fx.URL("/users/1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	for _, a := range fx.Attempts() {
		fmt.Println(a.Number, a.Status, a.Reason, a.Delay)
	}
	fmt.Println(apitest.Verify(fx, apitest.HaveWaited(10*time.Millisecond)))
	// Output:
	// 200 OK
	// 1 503 retryable-status 10ms
	// 2 200 success 0s
	// <nil>
}

// HaveWaited and HaveHonoredRetryAfter read the waits the client chose.
func ExampleHaveWaited() {
	timeline := retryclient.Timeline{
		{RequestID: 1, Number: 1, Method: "GET", URL: "/x", Status: 429, RetryAfterSeen: true, RetryAfter: 2 * time.Second,
			Retry: true, Delay: 2 * time.Second, Reason: retryclient.ReasonRetryableStatus},
		{RequestID: 1, Number: 2, Method: "GET", URL: "/x", Status: 200, Reason: retryclient.ReasonSuccess},
	}
	fmt.Println(apitest.Verify(timeline, apitest.HaveWaited(2*time.Second)))
	fmt.Println(apitest.Verify(timeline, apitest.HaveHonoredRetryAfter()))
	fmt.Println(apitest.Verify(timeline, apitest.HaveWaitedBetween(0, time.Second)) != nil)
	// Output:
	// <nil>
	// <nil>
	// true
}
