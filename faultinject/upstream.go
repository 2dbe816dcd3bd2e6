package faultinject

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Proxy mode: a step with Upstream set (YAML "upstream: true"), and a route
// whose script ends with After.Mode AfterUpstream ("after: upstream"),
// forward the request to the real service the scenario (Scenario.Upstream)
// or the server (WithUpstream) names, and relay its response: "503, 503,
// then the real service". The call is journaled like any other, with the
// upstream's status. A fault on such a step that takes a response
// (reset-after-headers, reset-mid-body, slow-body, hang with for) plays on
// the upstream's real response instead of the step's own.
//
// Relayed responses are streamed, never held whole, with hop-by-hop headers
// removed as net/http/httputil's ReverseProxy does. An upstream that
// refuses, fails or does not answer within DefaultUpstreamTimeout gets the
// client a 502 (or 504) naming the problem, journaled as such. Request
// bodies are forwarded up to MaxUpstreamBody bytes (a larger one is
// answered 413), and a body fault reads at most MaxUpstreamBody bytes of
// the upstream's response (a longer one is answered 502).

// MaxUpstreamBody bounds the request body forwarded upstream and the
// upstream response body a fault plays on: 8 MiB.
const MaxUpstreamBody = 8 << 20

// DefaultUpstreamTimeout is how long the upstream has to send its response
// headers before the client gets a 504.
const DefaultUpstreamTimeout = 30 * time.Second

// WithUpstream sets the upstream proxy steps forward to, in place of the
// scenario's Upstream. It must be an absolute http or https URL: NewServer,
// NewPipeServer and Register panic on another, and Listen returns an error.
func WithUpstream(rawURL string) Option {
	return func(c *config) { c.upstream = rawURL }
}

// WithUpstreamTimeout sets how long the upstream has to send its response
// headers before the client gets a 504 (default DefaultUpstreamTimeout).
func WithUpstreamTimeout(d time.Duration) Option {
	return func(c *config) { c.upstreamTimeout = d }
}

// checkConfig reports what is wrong with the options' upstream, or nil.
func (c config) checkConfig() error {
	if c.upstream != "" {
		if m := checkUpstream(c.upstream); m != "" {
			return errors.New("faultinject: WithUpstream: " + m)
		}
	}
	if c.upstreamTimeout < 0 {
		return fmt.Errorf("faultinject: WithUpstreamTimeout: %v must not be negative", c.upstreamTimeout)
	}
	return nil
}

// checkUpstream reports what is wrong with an upstream URL, or "".
func checkUpstream(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("upstream %q is not a URL: %v", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("upstream %q must be an http or https URL", raw)
	case u.Host == "":
		return fmt.Sprintf("upstream %q has no host", raw)
	}
	return ""
}

// upstream forwards requests to one real service.
type upstream struct {
	url   *url.URL
	rt    http.RoundTripper
	proxy *httputil.ReverseProxy
}

// newUpstream returns the upstream for raw, or nil for "".
func newUpstream(raw string, timeout time.Duration) (*upstream, error) {
	if raw == "" {
		return nil, nil
	}
	if m := checkUpstream(raw); m != "" {
		return nil, errors.New("faultinject: " + m)
	}
	u, _ := url.Parse(raw)
	rt := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: cmp.Or(timeout, DefaultUpstreamTimeout),
		MaxIdleConnsPerHost:   16,
	}
	up := &upstream{url: u, rt: rt}
	up.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport:     rt,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status, msg := upstreamError(err)
			http.Error(w, msg, status)
		},
	}
	return up, nil
}

// upstreamError maps a failed upstream exchange to the client's status and
// message: 504 for a timeout, 502 otherwise.
func upstreamError(err error) (int, string) {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout, "faultinject: upstream did not answer in time: " + err.Error()
	}
	return http.StatusBadGateway, "faultinject: upstream failed: " + err.Error()
}

// forwardRequest is r as the upstream gets it, with body.
func (up *upstream) forwardRequest(r *http.Request, body []byte) *http.Request {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = up.url.Scheme, up.url.Host
	out.URL.Path = singleJoin(up.url.Path, r.URL.Path)
	out.Host = up.url.Host
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	removeHopByHop(out.Header)
	return out
}

func singleJoin(a, b string) string {
	switch {
	case a == "" || a == "/":
		return b
	case a[len(a)-1] == '/' && len(b) > 0 && b[0] == '/':
		return a + b[1:]
	case a[len(a)-1] != '/' && (len(b) == 0 || b[0] != '/'):
		return a + "/" + b
	}
	return a + b
}

// hopByHop are the headers a proxy does not forward (RFC 9110 7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopByHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range splitComma(f) {
			h.Del(name)
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if f := trimSpace(s[start:i]); f != "" {
				out = append(out, f)
			}
			start = i + 1
		}
	}
	return out
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// fetch sends the request upstream and reads the whole response (at most
// MaxUpstreamBody bytes), for a fault to play on. It returns the response
// as a step response, or the error answer to send instead.
func (up *upstream) fetch(x *exchange) (Response, *Step) {
	resp, err := up.rt.RoundTrip(up.forwardRequest(x.r, x.body))
	if err != nil {
		status, msg := upstreamError(err)
		return Response{}, errorStep(status, msg)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxUpstreamBody+1))
	switch {
	case err != nil:
		status, msg := upstreamError(err)
		return Response{}, errorStep(status, msg)
	case len(body) > MaxUpstreamBody:
		return Response{}, errorStep(http.StatusBadGateway, "faultinject: upstream body larger than "+strconv.Itoa(MaxUpstreamBody)+" bytes, too large for fault "+x.step.Fault)
	}
	h := resp.Header.Clone()
	removeHopByHop(h)
	h.Del("Content-Length")
	return Response{Status: resp.StatusCode, Header: h, Body: body}, nil
}

// errorStep is a plain-text answer with status.
func errorStep(status int, msg string) *Step {
	return &Step{Respond: Response{Status: status, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(msg + "\n")}}
}

// relay is the action of a proxy step without a fault: the upstream's
// response, streamed.
type relay struct{}

func (relay) serve(x *exchange) {
	up := x.upstream
	if up == nil {
		x.step = errorStep(http.StatusBadGateway, "faultinject: no upstream is set (Scenario.Upstream, WithUpstream or serve --upstream)")
		x.writeResponse()
		return
	}
	if x.bodyTooLarge {
		x.step = errorStep(http.StatusRequestEntityTooLarge, "faultinject: request body larger than "+strconv.Itoa(MaxUpstreamBody)+" bytes, too large to forward")
		x.writeResponse()
		return
	}
	rw := &statusRecorder{ResponseWriter: x.w}
	r := x.r.Clone(x.ctx)
	r.Body = io.NopCloser(bytes.NewReader(x.body))
	r.ContentLength = int64(len(x.body))
	up.proxy.ServeHTTP(rw, r)
	x.call.sent(rw.status, rw.Header().Get("Retry-After"))
}

func (relay) mock(x *exchange) (*http.Response, error) {
	up := x.upstream
	switch {
	case up == nil:
		x.step = errorStep(http.StatusBadGateway, "faultinject: no upstream is set (Scenario.Upstream or WithUpstream)")
		return respond{}.mock(x)
	case x.bodyTooLarge:
		x.step = errorStep(http.StatusRequestEntityTooLarge, "faultinject: request body larger than "+strconv.Itoa(MaxUpstreamBody)+" bytes, too large to forward")
		return respond{}.mock(x)
	}
	resp, err := up.rt.RoundTrip(up.forwardRequest(x.r, x.body))
	if err != nil {
		status, msg := upstreamError(err)
		x.step = errorStep(status, msg)
		return respond{}.mock(x)
	}
	removeHopByHop(resp.Header)
	x.call.sent(resp.StatusCode, resp.Header.Get("Retry-After"))
	resp.Request = x.r
	return resp, nil
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// onUpstream plays fault f on the upstream's real response: it fetches
// it into the step's response, then lets f play as usual.
type onUpstream struct{ f fault }

func (o onUpstream) prepare(x *exchange) bool {
	if x.upstream == nil {
		x.step = errorStep(http.StatusBadGateway, "faultinject: no upstream is set (Scenario.Upstream, WithUpstream or serve --upstream)")
		return false
	}
	if x.bodyTooLarge {
		x.step = errorStep(http.StatusRequestEntityTooLarge, "faultinject: request body larger than "+strconv.Itoa(MaxUpstreamBody)+" bytes, too large to forward")
		return false
	}
	resp, errStep := x.upstream.fetch(x)
	if errStep != nil {
		x.step = errStep
		return false
	}
	st := *x.step
	st.Respond = resp
	x.step = &st
	return true
}

func (o onUpstream) serve(x *exchange) {
	if !o.prepare(x) {
		x.writeResponse()
		return
	}
	o.f.serve(x)
}

func (o onUpstream) mock(x *exchange) (*http.Response, error) {
	if !o.prepare(x) {
		return respond{}.mock(x)
	}
	return o.f.mock(x)
}

// checkUpstreamStep checks a proxy step: no response of its own, and only
// a fault that plays on a response.
func checkUpstreamStep(st *Step, chaos bool) string {
	r := st.Respond
	if r.Status != 0 || len(r.Body) > 0 || len(r.Header) > 0 || r.RetryAfterSet || r.RetryAfterDate != 0 {
		return "upstream takes the response from the upstream; drop respond, headers, body and retry-after"
	}
	if st.Fault == "" {
		return ""
	}
	f, ok := faults[st.Fault].(upstreamFault)
	if !ok {
		if _, known := faults[st.Fault]; !known {
			return checkFault(st, chaos)
		}
		return fmt.Sprintf("fault %q sends no response, so it cannot play on the upstream's: use it without upstream", st.Fault)
	}
	return f.checkUpstream(st)
}

// setUpstream gives the exchange what a proxy step needs: the engine's
// upstream and the request body.
func (x *exchange) setUpstream(e *engine, m meta) {
	x.upstream = e.upstream
	x.body = m.body
	x.bodyTooLarge = len(m.body) > MaxUpstreamBody
}

// upstreams shares one upstream (and its connections) per URL among the
// engines of a server: its scenario, reloads and sessions.
type upstreams struct {
	mu      sync.Mutex
	timeout time.Duration
	m       map[string]*upstream
}

// get returns the upstream for raw ("" gives nil); raw was checked.
func (u *upstreams) get(raw string) *upstream {
	if raw == "" {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if up, ok := u.m[raw]; ok {
		return up
	}
	up, err := newUpstream(raw, u.timeout)
	if err != nil {
		return nil
	}
	if u.m == nil {
		u.m = map[string]*upstream{}
	}
	u.m[raw] = up
	return up
}

// close closes the idle connections of every upstream.
func (u *upstreams) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, up := range u.m {
		up.rt.(*http.Transport).CloseIdleConnections()
	}
}
