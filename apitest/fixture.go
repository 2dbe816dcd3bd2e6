package apitest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// Fixture is a fault server playing a scenario, a retrying client wired to
// it, and a recorder of the client's attempts: everything a spec needs to
// provoke failures and assert what the client did. Make one per spec with
// [New]. A Fixture is safe for concurrent use.
type Fixture struct {
	scenario  *faultinject.Scenario
	server    backend // a *faultinject.Server, or httpmock (WithHTTPMock)
	baseURL   string
	transport *retryclient.Transport
	client    *http.Client
	policy    retryclient.Policy
	owner     *bubble            // the bubble or test that created the fixture; nil under Ginkgo in real time
	tcp       bool               // real time: served over TCP (WithTCP) or by a remote server (WithRemote)
	where     types.CodeLocation // the caller of New, where report entries point

	mu       sync.Mutex
	attempts retryclient.Timeline
	lastErr  error // the error of the last request through Client, nil if it had a response

	closed     atomic.Bool
	standalone bool // made outside any spec or test; closed by the caller
}

// Option configures a Fixture. Options are applied once, by New.
type Option func(*config)

type config struct {
	policy        retryclient.Policy
	tcp           bool
	httpmock      bool
	seed          uint64
	seedSet       bool
	clientOptions []retryclient.Option
	serverOptions []faultinject.Option
	leakCheck     bool
	remote        string // WithRemote: the shared server's base URL
	remoteSet     bool
}

// WithPolicy sets the retry policy (default retryclient.DefaultPolicy()).
func WithPolicy(p retryclient.Policy) Option { return func(c *config) { c.policy = p } }

// WithTCP serves the scenario on a real TCP port of 127.0.0.1 instead of the
// in-memory pipe listener. It runs in real time and cannot be used inside a
// VirtualTime bubble (real sockets never let virtual time advance).
func WithTCP() Option { return func(c *config) { c.tcp = true } }

// WithSeed seeds the client's jitter, so the same seed gives the same
// schedule. The default seed is the scenario's Seed.
func WithSeed(seed uint64) Option {
	return func(c *config) { c.seed, c.seedSet = seed, true }
}

// WithClientOptions passes options to retryclient.New. The fixture's own
// observer and attempt header are applied after them.
func WithClientOptions(opts ...retryclient.Option) Option {
	return func(c *config) { c.clientOptions = append(c.clientOptions, opts...) }
}

// WithServerOptions passes options to the fault server.
func WithServerOptions(opts ...faultinject.Option) Option {
	return func(c *config) { c.serverOptions = append(c.serverOptions, opts...) }
}

// WithLeakCheck makes the fixture's cleanup fail the spec when goroutines
// started while the fixture lived are still running a moment after it closed
// (checked with gomega/gleak). Inside a VirtualTime bubble the check is
// unnecessary and skipped: testing/synctest already fails a bubble that ends
// with goroutines left.
func WithLeakCheck() Option { return func(c *config) { c.leakCheck = true } }

// New starts a fault server playing s and a retry client wired to it, and
// arranges for both to be closed when the current node ends. Call it inside
// the node that uses it, with the context the node received:
//
//	It("retries 503s", apitest.VirtualTime, func(ctx context.Context) {
//		fx := apitest.New(ctx, scenario)
//		...
//	})
//
// In a VirtualTime node the server listens on an in-memory pipe and cleanup
// runs at the end of the node, inside the bubble (see [DeferCleanup]); in a
// real-time Ginkgo node cleanup is registered with Ginkgo's DeferCleanup.
// Plain go test users pass [Context](t), which closes it with t.Cleanup.
// Outside any test (a program, an Example) the caller must Close it. A Fixture made in a BeforeEach cannot be used
// by a VirtualTime It, because each node has its own bubble; the Fixture
// fails the spec with an explanation when that happens.
//
// Invalid input (a nil or invalid scenario, an invalid policy, WithTCP in a
// bubble) fails the spec (or the test) with a message that names it; outside
// any test it panics with that message.
func New(ctx context.Context, s *faultinject.Scenario, opts ...Option) *Fixture {
	cfg := config{policy: retryclient.DefaultPolicy()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	owner := bubbleFrom(ctx)
	if owner == nil && activeBubble.Load() != nil {
		fatal(nil, 1, "apitest.New: called inside an apitest.VirtualTime node with a context that is not the node's; pass the ctx the node body received")
		return nil
	}
	virtual := owner != nil && owner.virtual
	switch {
	case s == nil:
		fatal(owner, 1, "apitest.New: the scenario is nil")
		return nil
	case cfg.tcp && cfg.httpmock:
		fatal(owner, 1, "apitest.New: WithTCP and WithHTTPMock cannot be combined; pick one")
		return nil
	case cfg.remoteSet && (cfg.tcp || cfg.httpmock):
		fatal(owner, 1, "apitest.New: WithRemote cannot be combined with WithTCP or WithHTTPMock; pick one")
		return nil
	case cfg.remoteSet && len(cfg.serverOptions) > 0:
		fatal(owner, 1, "apitest.New: WithServerOptions cannot configure a remote server (WithRemote); configure it where it starts (retrylab serve flags)")
		return nil
	case cfg.remoteSet && virtual:
		fatal(owner, 1, "apitest.New: WithRemote cannot be used inside an apitest.VirtualTime node: a remote server runs in real time; drop VirtualTime or WithRemote")
		return nil
	case cfg.tcp && virtual:
		fatal(owner, 1, "apitest.New: WithTCP cannot be used inside an apitest.VirtualTime node: real sockets never block durably, so virtual time cannot advance; drop WithTCP or VirtualTime")
		return nil
	}
	if err := s.Validate(); err != nil {
		fatal(owner, 1, "apitest.New: invalid scenario: "+err.Error())
		return nil
	}
	if err := cfg.policy.Validate(); err != nil {
		fatal(owner, 1, "apitest.New: invalid policy: "+err.Error())
		return nil
	}

	var snapshot []gleak.Goroutine
	if cfg.leakCheck && !virtual {
		snapshot = gleak.Goroutines()
	}
	fx := &Fixture{scenario: s, policy: cfg.policy, owner: owner, tcp: cfg.tcp || cfg.remoteSet, where: types.NewCodeLocation(1)}
	switch {
	case cfg.remoteSet:
		rb, err := newRemoteBackend(cfg.remote, s, owner)
		if err != nil {
			fatal(owner, 1, "apitest.New: WithRemote: "+err.Error())
			return nil
		}
		fx.server, fx.baseURL = rb, rb.admin.URL()
	case cfg.httpmock:
		fx.server, fx.baseURL = newMockBackend(s, cfg.serverOptions), mockURL
	case cfg.tcp:
		srv := faultinject.NewServer(s, cfg.serverOptions...)
		fx.server, fx.baseURL = srv, srv.URL
	default:
		srv := faultinject.NewPipeServer(s, cfg.serverOptions...)
		fx.server, fx.baseURL = srv, srv.URL
	}
	seed := uint64(s.Seed)
	if cfg.seedSet {
		seed = cfg.seed
	}
	copts := append([]retryclient.Option{}, cfg.clientOptions...)
	copts = append(copts,
		retryclient.WithRand(rand.NewPCG(seed, 0x7265747279)),
		retryclient.WithAttemptHeader(faultinject.AttemptHeader),
		retryclient.WithObserver(fx.record),
	)
	fx.transport = retryclient.New(fx.server.Transport(), cfg.policy, copts...)
	fx.client = &http.Client{Transport: outcomeRecorder{fx}}

	cleanup := func() {
		fx.Close()
		if cfg.leakCheck && !virtual {
			g := gomega.NewGomega(func(message string, _ ...int) {
				fatal(owner, 0, "apitest: goroutines leaked by the fixture:\n"+message)
			})
			g.Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(snapshot))
		}
	}
	if owner == nil && !inGinkgoNode() {
		// Neither a test nor a spec to tie the fixture to: the caller
		// closes it.
		fx.standalone = true
		return fx
	}
	DeferCleanup(ctx, cleanup)
	return fx
}

// record is the client's attempt observer.
func (fx *Fixture) record(a retryclient.Attempt) {
	fx.mu.Lock()
	fx.attempts = append(fx.attempts, a)
	fx.mu.Unlock()
}

// outcomeRecorder remembers how each request through the fixture's client
// ended, including stops between attempts (a cancellation during a backoff)
// that produce no Attempt record.
type outcomeRecorder struct{ fx *Fixture }

func (o outcomeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.fx.transport.RoundTrip(req)
	o.fx.mu.Lock()
	o.fx.lastErr = err
	o.fx.mu.Unlock()
	return resp, err
}

// CloseIdleConnections closes the idle connections of the fixture's client.
func (o outcomeRecorder) CloseIdleConnections() { o.fx.transport.CloseIdleConnections() }

// lastError returns the error of the last request through Client.
func (fx *Fixture) lastError() error {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.lastErr
}

// usable fails the spec when the fixture is used after its node ended or
// from another VirtualTime bubble, and reports whether it may be used.
func (fx *Fixture) usable(what string) bool {
	if fx == nil {
		fatal(nil, 2, "apitest: "+what+" called on a nil *Fixture (did apitest.New fail?)")
		return false
	}
	if fx.closed.Load() {
		fatal(fx.owner, 2, "apitest: "+what+" called on a Fixture that was already closed: its node has ended. "+
			"A Fixture made in a BeforeEach cannot be used by an apitest.VirtualTime It (each node runs in its own bubble); create it in the It")
		return false
	}
	active := activeBubble.Load()
	if active != nil && active != fx.owner {
		fatal(active, 2, "apitest: "+what+" called inside an apitest.VirtualTime node on a Fixture created outside its bubble (in a BeforeEach?); "+
			"objects with channels or timers must be created in the same bubble: call apitest.New inside the It")
		return false
	}
	return true
}

// Client returns the retrying client wired to the fault server.
func (fx *Fixture) Client() *http.Client {
	if !fx.usable("Client") {
		return nil
	}
	return fx.client
}

// Transport returns the retrying Transport of Client, wired to the server.
func (fx *Fixture) Transport() *retryclient.Transport {
	if !fx.usable("Transport") {
		return nil
	}
	return fx.transport
}

// ServerTransport returns a plain transport (no retries) to the fault server,
// for wiring a client under test other than the fixture's own.
func (fx *Fixture) ServerTransport() http.RoundTripper {
	if !fx.usable("ServerTransport") {
		return nil
	}
	return fx.server.Transport()
}

// URL returns the absolute URL of path on the fault server.
func (fx *Fixture) URL(path string) string {
	if !fx.usable("URL") {
		return ""
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return fx.baseURL + path
}

// Get sends a GET for path through the retrying client with ctx, like
// http.Client.Get.
func (fx *Fixture) Get(ctx context.Context, path string) (*http.Response, error) {
	if !fx.usable("Get") {
		return nil, fmt.Errorf("apitest: unusable fixture")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fx.URL(path), nil)
	if err != nil {
		return nil, err
	}
	return fx.client.Do(req)
}

// Journal returns the fault server's journal of calls. For a fixture made
// WithRemote it fetches the session's journal from the server at each call
// (after Close, the journal as it was then): hold on to the result rather
// than calling Journal in a loop.
func (fx *Fixture) Journal() *faultinject.Journal { return fx.server.Journal() }

// Attempts returns the client's attempts so far, in order.
func (fx *Fixture) Attempts() retryclient.Timeline {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return append(retryclient.Timeline(nil), fx.attempts...)
}

// Policy returns the client's policy.
func (fx *Fixture) Policy() retryclient.Policy { return fx.policy }

// Scenario returns the scenario the server plays.
func (fx *Fixture) Scenario() *faultinject.Scenario { return fx.scenario }

// Close closes the server (releasing hung requests first) and the client's
// idle connections. It is called automatically when the node ends; calling
// it again does nothing.
func (fx *Fixture) Close() {
	if fx == nil || !fx.closed.CompareAndSwap(false, true) {
		return
	}
	fx.transport.CloseIdleConnections()
	fx.server.Close()
	if fx.owner != nil && fx.owner.ginkgo || fx.owner == nil && !fx.standalone {
		addReportEntry(fx.owner, "retrylab timeline", fx.where, fx.GomegaString())
	}
}

// GomegaString renders the client's attempt timeline and the server's
// journal, for failure messages and reports.
func (fx *Fixture) GomegaString() string {
	if fx == nil {
		return "<nil *apitest.Fixture>"
	}
	var b strings.Builder
	attempts := fx.Attempts()
	fmt.Fprintf(&b, "client attempts (%d):", len(attempts))
	if len(attempts) > 0 {
		b.WriteString("\n")
		b.WriteString(indent(attempts.String()))
	}
	b.WriteString("\nserver ")
	j := fx.server.Journal().GomegaString()
	head, rest, _ := strings.Cut(j, "\n")
	b.WriteString(head)
	if rest != "" {
		b.WriteString("\n")
		b.WriteString(indent(rest))
	}
	return b.String()
}

// GoString names the fixture without reading its mutable state, so that
// formatting it with %#v (as Gomega does when it tells Eventually's
// arguments apart) is safe while a request is running.
func (fx *Fixture) GoString() string {
	if fx == nil {
		return "(*apitest.Fixture)(nil)"
	}
	return fmt.Sprintf("&apitest.Fixture{scenario: %q}", fx.scenario.Name)
}

// String is GomegaString.
func (fx *Fixture) String() string { return fx.GomegaString() }

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// fatal reports a misuse: through the owning test's T for plain go test,
// through Ginkgo when a spec is running, and otherwise (no test at all) by
// panicking with the message, as httptest.NewServer does when it cannot
// start.
func fatal(owner *bubble, skip int, msg string) {
	switch {
	case owner != nil && !owner.ginkgo:
		owner.t.Helper()
		owner.t.Fatal(msg)
	case owner != nil || inGinkgoNode():
		ginkgo.Fail(msg, skip+1)
	default:
		panic(msg)
	}
}

// inGinkgoNode reports whether a Ginkgo spec is running in this process.
func inGinkgoNode() bool {
	return ginkgo.CurrentSpecReport().LeafNodeType != types.NodeTypeInvalid
}
