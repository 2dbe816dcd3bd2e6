package suites

import (
	"context"
	"fmt"

	"github.com/onsi/ginkgo/v2"

	"github.com/retrylab/retrylab/apitest"
)

// RetryConformance registers a Ginkgo container that checks the retry
// behaviour of the client built by subject against every rule of [Rules]:
// the universal ones always, the others when the subject's Promise declares
// what they check (the rest are reported as skipped). Each rule runs as one
// spec in virtual time (apitest.VirtualTime), so the suite must be started
// with apitest.RunSpecs. Use it at the top level of a test file:
//
//	var _ = suites.RetryConformance("my client", func() suites.Subject {
//		return suites.Subject{
//			Client: func(base http.RoundTripper) *http.Client {
//				return &http.Client{Transport: retryclient.New(base, retryclient.DefaultPolicy())}
//			},
//			Promise: suites.Promise{MaxAttempts: 3, RetryAfter: true, RetryAfterCap: time.Minute},
//		}
//	})
//
// A failing spec names the rule and the scenario and prints the server's
// timeline of the calls the client made.
func RetryConformance(name string, subject func() Subject) bool {
	return ginkgo.Describe("retry conformance: "+name, func() {
		for _, rule := range Rules() {
			ginkgo.It(rule.Name, apitest.VirtualTime, func(ctx context.Context) {
				s := subject()
				if s.Client == nil {
					ginkgo.Fail("suites.RetryConformance: the Subject has no Client function")
				}
				if !rule.Applies(s.Promise) {
					ginkgo.Skip(fmt.Sprintf("the Promise does not declare what %q checks", rule.Name))
				}
				if err := rule.Check(ctx, s); err != nil {
					ginkgo.Fail(err.Error())
				}
			})
		}
	})
}

// RetryConformanceExec registers a Ginkgo container that checks an external
// client (a Subject with an [Exec]: a command in any language, see
// [ExecSubject]) against every rule of [Rules], over real TCP in real time:
// one spec per rule, skipped when the Promise does not declare what the rule
// checks or when the rule cannot be observed from outside the process
// (the skip says why). It needs no virtual time, so apitest.RunSpecs and
// ginkgo's RunSpecs both work:
//
//	var _ = suites.RetryConformanceExec("python requests", func() suites.Subject {
//		return suites.ExecSubject("python3 client.py", suites.Promise{MaxAttempts: 4, RetryAfter: true})
//	})
func RetryConformanceExec(name string, subject func() Subject) bool {
	return ginkgo.Describe("retry conformance: "+name, func() {
		for _, rule := range Rules() {
			ginkgo.It(rule.Name, func(ctx ginkgo.SpecContext) {
				s := subject()
				if s.Exec == nil {
					ginkgo.Fail("suites.RetryConformanceExec: the Subject has no Exec command")
				}
				r := CheckAll(ctx, s, []Rule{rule}, 1)[0]
				switch r.Verdict {
				case NotPromised, NotCheckable:
					ginkgo.Skip(string(r.Verdict) + ": " + r.Reason)
				case Broken, NotRun:
					ginkgo.Fail(r.Reason)
				}
			})
		}
	})
}
