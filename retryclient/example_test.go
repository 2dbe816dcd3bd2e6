package retryclient_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// flaky answers 503, 503, then 200; its 503s say "Retry-After: 0" so the
// example does not wait.
func flaky() *httptest.Server {
	var n atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "hello from attempt %s", r.Header.Get(retryclient.DefaultAttemptHeader))
	}))
}

// printAttempt prints the parts of an attempt that do not depend on the
// wall clock.
func printAttempt(a retryclient.Attempt) {
	fmt.Printf("#%d %s → %d · retry=%v delay=%v (%s)\n", a.Number, a.Method, a.Status, a.Retry, a.Delay, a.Reason)
}

func ExampleNew() {
	srv := flaky()
	defer srv.Close()

	rt := retryclient.New(http.DefaultTransport, retryclient.DefaultPolicy(),
		retryclient.WithObserver(printAttempt),
		retryclient.WithAttemptHeader(retryclient.DefaultAttemptHeader))
	client := &http.Client{Transport: rt}

	resp, err := client.Get(srv.URL + "/users")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// #1 GET → 503 · retry=true delay=0s (retryable-status)
	// #2 GET → 503 · retry=true delay=0s (retryable-status)
	// #3 GET → 200 · retry=false delay=0s (success)
	// 200 hello from attempt 3
}

func ExampleNewClient() {
	srv := flaky()
	defer srv.Close()

	// Two attempts only: the second 503 is returned as is, body readable.
	client := retryclient.NewClient(retryclient.DefaultPolicy().WithMaxAttempts(2),
		retryclient.WithObserver(printAttempt))
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, body)
	// Output:
	// #1 GET → 503 · retry=true delay=0s (retryable-status)
	// #2 GET → 503 · retry=false delay=0s (max-attempts)
	// 503 try later
}

func ExampleDefaultPolicy() {
	p := retryclient.DefaultPolicy()
	fmt.Println("attempts:", p.MaxAttempts)
	fmt.Printf("backoff: %s from %v, x%v, cap %v, %s jitter\n",
		p.Backoff.Kind, p.Backoff.Initial, p.Backoff.Multiplier, p.Backoff.Max, p.Backoff.Jitter)
	fmt.Println("statuses:", p.RetryStatuses)
	fmt.Printf("retry-after: honour=%v cap=%v\n", p.RetryAfter.Honor, p.RetryAfter.Cap)
	fmt.Println("buffered body limit:", p.MaxBufferedBody)

	tuned := p.WithMaxAttempts(5).WithAttemptTimeout(2 * time.Second)
	fmt.Println(p.MaxAttempts, tuned.MaxAttempts, tuned.AttemptTimeout)
	fmt.Println(p.WithMaxAttempts(0).Validate())
	// Output:
	// attempts: 3
	// backoff: exponential from 100ms, x2, cap 10s, full jitter
	// statuses: [408 425 429 500 502 503 504]
	// retry-after: honour=true cap=1m0s
	// buffered body limit: 1048576
	// 3 5 2s
	// retryclient: MaxAttempts must be >= 1, got 0
}

// Decide is pure, so a schedule can be previewed without sending anything.
func ExamplePolicy_Decide() {
	p := retryclient.DefaultPolicy().WithMaxAttempts(5).
		WithBackoff(retryclient.DefaultBackoff().WithJitter(retryclient.JitterNone))
	outcomes := []retryclient.Outcome{
		{Attempt: 1, Method: "GET", Status: 503},
		{Attempt: 2, Method: "GET", Status: 429, RetryAfter: "2"},
		{Attempt: 3, Method: "GET", Status: 502},
		{Attempt: 4, Method: "GET", Status: 404},
	}
	for _, o := range outcomes {
		d := p.Decide(o)
		fmt.Printf("#%d %d → retry=%v delay=%v (%s)\n", o.Attempt, o.Status, d.Retry, d.Delay, d.Reason)
	}
	post := p.Decide(retryclient.Outcome{Attempt: 1, Method: "POST", Status: 503})
	fmt.Println("POST without key:", post.Reason)
	// Output:
	// #1 503 → retry=true delay=100ms (retryable-status)
	// #2 429 → retry=true delay=2s (retryable-status)
	// #3 502 → retry=true delay=400ms (retryable-status)
	// #4 404 → retry=false delay=0s (status-not-retryable)
	// POST without key: method-not-idempotent
}

func ExampleParsePolicy() {
	p, err := retryclient.ParsePolicy("policy.yaml", []byte(`
max-attempts: 4
backoff:
  initial: 250ms
  jitter: equal
attempt-timeout: 2s
`))
	fmt.Println(p.MaxAttempts, p.Backoff.Kind, p.Backoff.Initial, p.Backoff.Jitter, p.AttemptTimeout, err)

	_, err = retryclient.ParsePolicy("policy.yaml", []byte("backoff:\n  kind: expo\n"))
	fmt.Println(err)
	// Output:
	// 4 exponential 250ms equal 2s <nil>
	// policy.yaml:2:9: unknown backoff kind "expo" (did you mean "exponential"?)
}

// The same seed gives the same schedule.
func ExampleBackoff_Delay() {
	b := retryclient.DefaultBackoff().WithJitter(retryclient.JitterEqual)
	for range 2 {
		r := rand.New(rand.NewPCG(1, 2))
		var prev time.Duration
		for n := 1; n <= 4; n++ {
			prev = b.Delay(n, prev, r)
			lo, hi := b.Base(n)/2, b.Base(n)
			fmt.Print(prev >= lo && prev <= hi, " ")
		}
		fmt.Println(b.Delay(5, 0, rand.New(rand.NewPCG(1, 2))))
	}
	// Output:
	// true true true true 1.415498616s
	// true true true true 1.415498616s
}

func ExampleParseRetryAfter() {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	for _, v := range []string{"120", "Wed, 21 Oct 2015 07:28:30 GMT", "Wed, 21 Oct 2015 07:00:00 GMT", "-3", "soon"} {
		d, ok := retryclient.ParseRetryAfter(v, now)
		fmt.Printf("%q: %v %v\n", v, d, ok)
	}
	// Output:
	// "120": 2m0s true
	// "Wed, 21 Oct 2015 07:28:30 GMT": 30s true
	// "Wed, 21 Oct 2015 07:00:00 GMT": 0s true
	// "-3": 0s false
	// "soon": 0s false
}

func ExampleGiveUpError() {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: every attempt is refused

	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(0))
	_, err := retryclient.NewClient(p).Get(url)

	var gu *retryclient.GiveUpError
	if errors.As(err, &gu) {
		fmt.Println(gu.Attempts, gu.Reason, gu.Timeline[0].ErrClass, errors.Is(err, syscall.ECONNREFUSED))
	}
	// Output:
	// 3 max-attempts connection true
}
