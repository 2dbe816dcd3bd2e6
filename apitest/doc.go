// Package apitest wires a fault scenario to a retry client in one line and
// provides Gomega matchers and Ginkgo helpers that assert what the client did.
//
// A suite starts with [RunSpecs] instead of ginkgo.RunSpecs; a spec decorated
// with [VirtualTime] runs inside a testing/synctest bubble, so every wait
// (backoff, Retry-After, attempt timeouts, server delays) takes no wall time:
//
//	import _ "github.com/onsi/ginkgo/v2" // in the suite file: how the ginkgo CLI recognises a suite
//
//	func TestUsers(t *testing.T) { apitest.RunSpecs(t, "users client") }
//
//	var _ = Describe("users client", apitest.VirtualTime, func() {
//		It("rides out transient 503s", func(ctx context.Context) {
//			fx := apitest.New(ctx, faultinject.NewScenario("flaky").
//				Route("GET /users/{id}", faultinject.Status(503).Times(2), faultinject.Status(200)).MustBuild())
//			resp, err := fx.Get(ctx, "/users/1")
//			...
//			Expect(fx).To(apitest.HaveAttempts(3))
//		})
//	})
//
// [New] returns a [Fixture]: a fault server (in memory by default, TCP with
// [WithTCP], httpmock responders with [WithHTTPMock], a session of a shared
// `retrylab serve` with [WithRemote]) playing the scenario, a retrying client with the policy of
// [WithPolicy] wired to it, and a recorder of the client's attempts. The
// matchers ([HaveAttempts], [HaveCalls], [HaveNotRetried], [HaveWaited],
// [HaveWaitedBetween], [HaveBackedOffExponentially], [HaveBackedOffWithin],
// [HaveHonoredRetryAfter], [HaveSentSameBody], [HaveSentSameIdempotencyKey],
// [HaveGivenUpWith]) read a Fixture, a client Timeline or a server Journal;
// every failure message ends with the attempt timeline, and a failed spec
// carries it as a report entry.
//
// # Plain go test
//
// Each matcher is a thin wrapper over a framework-free check that returns an
// error, as fstest.TestFS does: [CheckAttempts], [CheckCalls],
// [CheckNotRetried], [CheckWaited], [CheckWaitedBetween],
// [CheckBackedOffExponentially], [CheckBackedOffWithin],
// [CheckHonoredRetryAfter], [CheckSentSameBody],
// [CheckSentSameIdempotencyKey] and [CheckGivenUpWith]. A check that fails
// returns a [*CheckError] whose text is the matcher's failure message,
// timeline included; [Verify] applies any matcher the same way. Inside
// synctest.Test, with [Context], waits take no wall time:
//
//	func TestUsers(t *testing.T) {
//		synctest.Test(t, func(t *testing.T) {
//			ctx := apitest.Context(t)
//			fx := apitest.New(ctx, scenario)
//			resp, err := fx.Get(ctx, "/users/1")
//			...
//			if err := apitest.CheckAttempts(fx, 3); err != nil {
//				t.Error(err)
//			}
//		})
//	}
//
// # Virtual time: what to know
//
// VirtualTime is a bridge (Ginkgo has no native synctest support) and is
// experimental:
//   - Create fixtures (and anything with timers or channels) inside the node
//     that uses them, with the ctx the node received. Each node has its own
//     bubble, so a Fixture made in a BeforeEach cannot be used by a
//     VirtualTime It; the Fixture fails the spec and says so.
//   - Never use a SpecContext captured elsewhere inside a bubble: it would
//     freeze virtual time or crash the process when Ginkgo cancels it.
//   - SpecTimeout and NodeTimeout are measured in real time.
//   - Register cleanup of the bubble's objects with [DeferCleanup].
//   - Handlers and goroutines must honour their contexts: a goroutine still
//     blocked when the body returns fails the spec as a deadlock, naming it.
//   - Timers that fire at the same virtual instant run in no fixed order.
//   - Each spec with VirtualTime nodes is a subtest that passes, fails or is
//     skipped as the spec did. go test's -run selects among them (the specs
//     it excludes are skipped); -ginkgo.focus selects among all specs.
//   - go test -count=N runs the suite N times; keep specs and setup nodes
//     inside containers, which is all Ginkgo keeps for a second run.
//
// Fixtures share nothing between specs or processes: suites run under
// ginkgo -p unchanged.
package apitest
