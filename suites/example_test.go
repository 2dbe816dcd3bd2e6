package suites_test

import (
	"context"
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// Rules lists what RetryConformance checks; the universal rules apply to
// every client, the others when the Promise declares what they check.
func ExampleRules() {
	for _, r := range suites.Rules() {
		kind := "promised"
		if r.Universal {
			kind = "universal"
		}
		fmt.Printf("%-9s %s\n", kind, r.Name)
	}
	// Output:
	// universal does not retry a non-transient 4xx
	// universal does not retry 501 or 505
	// universal does not retry a POST or PATCH without an Idempotency-Key
	// universal waits before every retry
	// universal sends the same body and Idempotency-Key on every attempt
	// universal closes the bodies of the responses it discards
	// universal stops at once when the caller cancels
	// universal returns promptly after its last attempt
	// promised  never makes more attempts than promised
	// promised  makes the promised attempts on transient failures
	// promised  keeps its waits inside the promised envelope
	// promised  honours Retry-After in seconds
	// promised  honours Retry-After as an HTTP-date
	// promised  never sleeps beyond its Retry-After cap
	// promised  retries a POST that carries an Idempotency-Key
	// promised  abandons a hung attempt at its attempt timeout
}

// A Promise can state a schedule in retryclient's terms; the documented
// fields describe the same exponential schedule.
func ExamplePromise_Schedule() {
	resty := suites.Promise{
		MaxAttempts: 4,
		Backoff: retryclient.Backoff{Initial: 100 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second,
			Jitter: retryclient.JitterEqual, Min: 100 * time.Millisecond},
		RetriedStatuses: []int{429, 500, 502, 503, 504},
	}
	b, _ := resty.Schedule()
	for n := 1; n <= 3; n++ {
		lo, hi := b.Bounds(n, 0)
		fmt.Printf("wait %d in [%v, %v]\n", n, lo, hi)
	}
	fmt.Println(resty.Validate())
	// Output:
	// wait 1 in [100ms, 100ms]
	// wait 2 in [100ms, 200ms]
	// wait 3 in [200ms, 400ms]
	// <nil>
}

// A client in another language is checked through a command that makes
// one request, described by RETRYLAB_ environment variables, and exits;
// CheckAll runs the rules over real TCP in real time, from plain go test
// or any program.
func ExampleExecSubject() {
	subject := suites.ExecSubject("python3 examples/conform/python-requests/client.py", suites.Promise{
		MaxAttempts:     4,
		RetriedStatuses: []int{429, 500, 502, 503, 504},
		RetryAfter:      true,
	})
	for _, r := range suites.CheckAll(context.Background(), subject, suites.Rules(), 2) {
		fmt.Printf("%-13s %s\n", r.Verdict, r.Rule.Name)
		if r.Verdict == suites.Broken {
			fmt.Println(r.Reason) // the rule, the scenario and the server's timeline
		}
	}
}
