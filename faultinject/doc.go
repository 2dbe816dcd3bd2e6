// Package faultinject is an HTTP server that misbehaves exactly as a scenario
// scripts it (503s, 429 with Retry-After, hangs, resets, malformed replies,
// slow bodies, refused dials) and journals every call it receives, so a test
// can assert what a client's retry policy really did.
//
// # Scenarios
//
// A Scenario has routes, matched as net/http.ServeMux patterns ("GET
// /users/{id}"). Each route plays a script of steps in order; a step serves
// Times requests (default 1), waits Delay, then responds or plays a fault.
// Once the script is exhausted the route repeats its last step (the
// default), loops, or answers a fixed status. Requests that no route matches
// get Scenario.Unmatched (default 404) with a text body naming the nearest
// route. Chaos entries replace the script's step, with a probability, by
// another step; the decisions come from a source seeded with Scenario.Seed,
// so the same seed and the same request order give the same run. A request
// chaos takes does not advance the script.
//
// Scenarios are built in Go with NewScenario and the step builders (Status,
// Hang, Reset, ...) or read from YAML with ParseScenario and LoadScenario;
// both express the same things:
//
//	name: flaky-users
//	seed: 42
//	unmatched: 404
//	routes:
//	  - route: GET /users/{id}
//	    steps:
//	      - respond: 503
//	        times: 2
//	      - respond: 429
//	        retry-after: 2s          # Retry-After: 2
//	      - respond: 503
//	        retry-after-date: 5s     # Retry-After: <IMF-fixdate 5s after arrival>
//	      - fault: hang
//	      - fault: reset
//	      - respond: 200
//	        delay: 150ms
//	        headers: {Content-Type: application/json}
//	        body: '{"id": 1}'         # or body-file: users-1.json, relative to the file
//	    after: repeat-last           # or loop, upstream, or a status such as 404
//	chaos:
//	  - route: GET /users/{id}       # omit to apply to every route
//	    probability: 0.1
//	    fault: reset
//
// Beyond scripts: a route may add conditions (when:, see Match) and share
// its pattern with other routes; a route may be a bulk endpoint with
// per-item failures (bulk:, see Bulk); and a scenario may name a real
// service (upstream:) that steps with upstream: true, and after: upstream,
// forward to (proxy mode, see WithUpstream; Recorder writes a scenario from
// real traffic):
//
//	upstream: https://orders.staging.example
//	routes:
//	  - route: POST /orders
//	    when: {headers: {X-Tenant: acme}, json: {priority: high}}
//	    steps:
//	      - respond: 503
//	      - upstream: true
//	        fault: reset-mid-body    # on the real response
//	    after: upstream
//	  - route: POST /orders
//	    steps:
//	      - upstream: true
//	  - route: POST /orders/bulk
//	    bulk: {items: orders, fail: {b: [503, 503]}}
//
// Decoding is strict: unknown fields and words, bare numbers where a duration
// ("250ms") is expected, and invalid values are errors of the form
// "file:line:col: unknown fault "rest" (did you mean "reset"?)"; see
// ScenarioError. A step sends a final status, 200..599 (a 1xx status is
// refused), and header names and values must be valid HTTP fields (no CR,
// LF or other control bytes).
//
// A body-file path is relative to the scenario's file: for LoadScenario and
// ParseScenario, on the operating system's files; for LoadScenarioFS, inside
// the fs.FS the scenario came from, so a scenario embedded with go:embed
// (as the fixtures package's are) loads from any working directory.
//
// # Limits
//
// Scenario files and admin uploads may come from anyone, so decoding is
// linear in the input and bounded: MaxScenarioSize bytes (1 MiB for an
// upload), MaxScenarioDepth levels of YAML nesting (checked by a linear
// pre-scan before the YAML parser, whose memory grows with the square of the
// depth), MaxRoutes routes, MaxSteps steps, MaxChaos chaos entries and
// MaxBodyFileSize bytes per body-file. Input beyond a limit is an error
// naming file:line:col where it was crossed; Validate applies the counts to
// scenarios built in Go too. ParseScenarioContext and LoadScenarioContext
// stop when their context is done. A request no route matches costs about
// what a matched one does: the nearest-route hint compares at most 128
// characters and does bounded work, outside the engine's lock.
//
// # Front ends
//
// One engine plays a scenario behind three front ends:
//
//   - NewServer serves it over TCP on 127.0.0.1, in real time, for any
//     client, in any language.
//   - NewPipeServer serves it over an in-memory listener built on net.Pipe:
//     the real net/http server and client code, no sockets. Created and
//     closed inside a testing/synctest bubble, it runs on the bubble's
//     virtual clock: scripted delays, hangs and client timeouts of minutes
//     take microseconds. It is reachable only through its Client and
//     Transport.
//   - Register installs it as the no-responder of an httpmock.MockTransport
//     (one responder, routing with the servers' ServeMux), without touching http.DefaultTransport or httpmock's globals. It
//     refuses a MockTransport that already has a no-responder unless
//     WithNoResponder keeps it. Put the retrying client above the mock
//     (retryclient.New(mt, p)); apitest.WithHTTPMock does it for a Fixture.
//
// Stepping is done under one lock, so concurrent clients see each step served
// exactly Times times. Handlers respect the request's context, and Close
// releases hangs and delays before waiting for every handler and connection
// goroutine to finish.
//
// # Actions, and what a client observes
//
// Errors are described as net/http's client reports them; classify them with
// errors.Is and errors.As, never by their text.
//
//   - respond (a step without fault): the status, headers and body. With
//     retry-after, a delta-seconds Retry-After header (rounded up to whole
//     seconds); with retry-after-date, an IMF-fixdate the given duration after
//     the request arrived.
//   - delay (any step): the action starts after the delay; a client timeout
//     shorter than the delay is a timeout (a net.Error whose Timeout is true).
//   - hang: no response until the client gives up, which it sees as its own
//     timeout or cancellation (context.DeadlineExceeded, a net.Error with
//     Timeout). With for, the step's response is sent after that long.
//     When the server closes, the connection is closed without a response
//     (io.EOF over TCP and pipe). In httpmock, the responder returns the
//     request context's error.
//   - reset: the connection is reset before any response byte. TCP: the
//     server closes with SO_LINGER 0, so the kernel sends RST and the client
//     gets an error wrapping syscall.ECONNRESET. Pipe: net.Pipe cannot send
//     RST, so closing it is the closest thing; the client gets io.EOF.
//     httpmock: a *net.OpError wrapping ECONNRESET, as over TCP.
//   - reset-after-headers: the status line and headers of the step's response
//     (announcing its full Content-Length), then a reset. Client.Do succeeds;
//     reading the body fails with ECONNRESET (TCP, httpmock) or
//     io.ErrUnexpectedEOF (pipe).
//   - reset-mid-body: as reset-after-headers, but after the first half of
//     the body; it needs respond and a body of at least 2 bytes.
//   - empty: the connection is closed (FIN) without a byte; the client gets
//     io.EOF in all front ends.
//   - malformed: the status line "HTTP/1.1 ??? faultinject malformed", then
//     the connection closes. The client gets net/http's untyped error
//     `net/http: HTTP/1.x transport connection broken: malformed HTTP status
//     code "???"`; httpmock returns the same text.
//   - slow-body: headers at once, then the body chunk bytes (default 16) at a
//     time with a pause of every (default 100ms) between chunks; it needs
//     respond. A client timeout while reading is a net.Error with Timeout.
//   - refuse: the next times dials fail as a refused connection would: a
//     *net.OpError with Op "dial" wrapping syscall.ECONNREFUSED. Dials
//     happen before any request, so the engine arms a refuse step as soon as
//     it becomes current (at start, or right after the request before it,
//     whose response then carries Connection: close so the client must dial
//     again); refused dials are journaled as calls of the route with Action
//     "refuse" and no method. The last step refused under repeat-last
//     refuses every later dial. Refusal is played by the server's own
//     Transport (and Client): a client with its own transport dialing the
//     TCP server's address is not refused, since the listener keeps
//     accepting; a request that reaches a refuse step that way is closed
//     without a byte. In httpmock every request counts as a dial.
//
// # Adding a fault
//
// A fault is one file and its test; no other file changes. The file (say
// teapot.go, for the YAML word "teapot") holds a type with the two methods
// of the package's fault interface, serve (play it on a real connection of
// the TCP or pipe server) and mock (return what an http.Client would
// observe, for httpmock), and an init that registers it:
//
//	func init() { register("teapot", teapot{}) }
//
// The registry is filled by these init functions and never changes
// afterwards. Both methods receive an exchange, whose helpers (exchange.go)
// are all a fault needs: wait, header, writeResponse, head, hijack,
// mockResponse, resetConn, brokenBody, errConnReset, errRefused. A fault
// declares what else it is by implementing optional interfaces (fault.go):
//
//   - paramFault: it has parameters of its own, YAML keys beside fault:
//     (hang's for, slow-body's chunk and every). It lists them, decodes
//     each from YAML with internal/decode (so errors name file:line:col),
//     and says whether a step sets any; the scenario decoder routes its keys
//     to it, and a step with another fault that sets them is refused.
//   - stepChecker: it needs something of its step (a response, a body) and
//     says what is missing.
//   - preByteFault: it ends the exchange before any response byte, so the
//     engine closes the connection of the response before it.
//   - dialFault: it acts on dials, not requests (refuse), so the engine arms
//     it when its step becomes current and chaos cannot use it.
//
// A Go shortcut (like Hang) in builder.go is a convenience, not a
// requirement: Fault("teapot") builds the step.
//
// # Resets, empty replies and net/http's silent replays
//
// net/http's Transport re-sends a request by itself, without telling its
// caller, when a reused keep-alive connection fails before any response byte
// and the request is replayable (an idempotent method with a rewindable or no
// body, or one with an Idempotency-Key header). A reset or empty step that
// lands on a reused connection is therefore never seen by the client's retry
// policy: the journal shows the fault followed by the same request again.
//
// To keep these faults visible, the engine adds "Connection: close" to the
// response sent just before a reset or empty step of the same route, so the
// fault meets a fresh connection. This covers sequential clients of one
// route. It cannot cover a fault reached through another route's kept-alive
// connection, a script that starts with such a fault after other traffic,
// chaos faults (which are not known in advance), or clients that keep
// several idle connections. Call.Reused tells when a fault met a reused
// connection, and an attempt header (see WithAttemptHeader) tells a policy
// retry from a transport replay. Faults that send bytes first
// (reset-after-headers, reset-mid-body, malformed) are never replayed.
//
// # Journal
//
// Every call is journaled: sequence number, route and per-route index,
// start and end, method, path, request header (Idempotency-Key and the
// attempt header surfaced), body length and SHA-256 (the body itself is not
// kept), connection id and reuse, action, status and Retry-After sent, and
// how an interrupted action ended. Journal.GomegaString prints the timeline
// Gomega shows in failure messages.
//
// A request whose body was cut off (the client gave up mid-upload, or the
// connection broke) is journaled with Action "abandoned" (Call.Abandoned):
// it plays no step, so the script is where it was, and gets no answer.
//
// The journal keeps no credentials and bounded headers: Authorization,
// Proxy-Authorization, Cookie and Set-Cookie values read Redacted unless
// WithSecrets; the path, the Idempotency-Key and each header value are cut
// to MaxJournalValue bytes, and header lines past MaxJournalHeader bytes per
// call are left out (Call.Truncated). WithJournalLimit makes it a ring of
// the most recent calls (Journal.Dropped counts the rest; Journal.CallsAfter
// pages through it).
//
// # Hostile clients
//
// A TCP server closes connections whose request header does not arrive
// within DefaultReadHeaderTimeout, that idle longer than DefaultIdleTimeout
// between requests, or whose request body stalls as long, and caps its open
// connections (WithMaxConns), closing the oldest connection outside a
// request to make room. It sets no overall read or write timeout, so nothing
// a script does (a hang, a delay, a slow body) and no upload that keeps
// moving is cut short.
//
// # Sessions
//
// A server built WithAdmin (such as `retrylab serve`) hosts sessions: many
// isolated runs of scenarios on one server, for test processes that share
// it. A request carrying SessionHeader ("Retrylab-Session: ID") is played by
// session ID's own step counters, chaos source and journal, and optionally
// its own scenario; requests without it play the server's scenario. The
// admin API creates, resets, reads and deletes sessions under
// /__admin/sessions/ (see WithSessions for the endpoints, the bounds and the
// answers to unknown sessions), and AdminClient drives it from Go.
package faultinject
