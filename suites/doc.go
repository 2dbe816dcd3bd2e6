// Package suites holds reusable Ginkgo suites that check the retry behaviour
// of any *http.Client against fault scenarios.
//
// [RetryConformance] registers one virtual-time spec per rule of [Rules]:
// universal rules every client must keep (no retry of a non-transient 4xx,
// 501 or 505; no retry of a POST or PATCH without an Idempotency-Key; a
// wait before every retry; byte-identical bodies and keys; discarded
// responses closed; an immediate stop on cancellation; a prompt return
// after the last attempt) and the rules a [Promise] declares (attempt
// counts, the backoff envelope, Retry-After in seconds and as a date, and
// its cap, keyed POST retries, attempt timeouts).
//
// A Promise states what a real client documents, so a correct client is
// never blamed for a choice it made: the statuses it retries
// (Promise.RetriedStatuses; the RFC-transient set by default), its schedule
// as a retryclient.Backoff (Promise.Backoff: every jitter shape of
// retryclient, among them cenkalti/backoff's randomization factor, additive
// jitter and a floor), Retry-After in seconds only
// (Promise.RetryAfterSecondsOnly). Schedules and Retry-After are read by
// retryclient's own code (retryclient.Backoff.Bounds,
// retryclient.ParseRetryAfter), so the checks and the client cannot
// disagree.
// [RetryChaos] checks the same invariants on seeded random fault sequences
// and prints the seed of a failure with the command that replays it.
//
// A client in another language is a [Subject] with an [Exec]: a command
// that makes one request through the client, with the request in RETRYLAB_
// environment variables (see [ExecSubject]). The same rules run against it
// over real TCP in real time, judged by the server's journal ([CheckAll],
// [RetryConformanceExec], and the retrylab conform command); a rule the
// server cannot observe from outside the process is reported as not
// checkable ([NotCheckableError]), never as kept. [ParsePromise] reads a
// Promise from a YAML or JSON file.
//
// The client under test is built by [Subject].Client on a transport that
// reaches an in-memory fault server, so the suites need nothing but the
// client: retryclient, go-retryablehttp, resty or a hand-written loop.
// Rules are framework-free (Rule.Check returns an error), so plain go test
// can run them inside synctest.Test, passing t.Context() (see [Rule] for
// which contexts are safe). The suite must be started with
// apitest.RunSpecs, in a file that imports Ginkgo (a blank import will do) so
// that the ginkgo CLI recognises the package as a Ginkgo suite:
//
//	import (
//		"testing"
//
//		_ "github.com/onsi/ginkgo/v2" // tells the ginkgo CLI this package is a Ginkgo suite
//		"github.com/retrylab/retrylab/apitest"
//	)
//
//	func TestClient(t *testing.T) { apitest.RunSpecs(t, "client") }
package suites
