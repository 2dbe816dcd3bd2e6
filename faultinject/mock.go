package faultinject

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"syscall"

	"github.com/jarcoal/httpmock"
)

// Register installs the scenario on mt as httpmock responders (one per route
// with a method, plus the no-responder, which routes every request through
// the same net/http.ServeMux matching as the servers) and returns the journal
// they record into. It never touches http.DefaultTransport or httpmock's
// global state. Wire faults cannot happen without a connection, so their
// responders return what an http.Client over TCP observes; the package
// documentation lists them. The responders are safe for concurrent use.
//
// Register needs mt's no-responder. If mt already has one, Register panics
// rather than silently replace it: pass it with WithNoResponder to keep it
// for the requests no route of the scenario matches, or use a fresh
// MockTransport. Register also panics if s does not validate.
//
// Put the retries above mt, never below: retryclient.New(mt, policy), or a
// client built on http.DefaultTransport after httpmock.Activate.
// httpmock.ActivateNonDefault on a retrying *http.Client replaces its
// Transport and so removes the retries.
func Register(mt *httpmock.MockTransport, s *Scenario, opts ...Option) *Journal {
	cfg := newConfig(opts)
	if cfg.noResponder == nil && hasNoResponder(mt) {
		panic("faultinject: Register: the MockTransport already has a no-responder, which Register would replace; " +
			"pass it with faultinject.WithNoResponder to keep it for requests no route matches, or use a fresh MockTransport")
	}
	e := newConfiguredEngine(s, cfg)
	responder := func(req *http.Request) (*http.Response, error) {
		if cfg.noResponder != nil {
			if _, pattern := e.mux.Handler(req); pattern == "" {
				return cfg.noResponder(req)
			}
		}
		if e.refuseDial() {
			return nil, errRefused("tcp", req.URL.Host)
		}
		m := readBody(req)
		p := e.dispatch(req, m)
		defer p.call.end()
		if p.abandoned {
			return nil, m.bodyErr
		}
		x := &exchange{ctx: req.Context(), r: req, step: p.step, call: p.call, start: p.start}
		if x.gone(x.wait(p.step.Delay)) {
			return nil, req.Context().Err()
		}
		return action(p.step).mock(x)
	}
	for _, r := range s.Routes {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			continue // method-less or host patterns: the no-responder handles them
		}
		mt.RegisterRegexpResponder(method, patternRegexp(path), responder)
	}
	mt.RegisterNoResponder(responder)
	return e.journal
}

// WithNoResponder makes Register hand the requests that no route of the
// scenario matches to r (typically the no-responder the MockTransport had,
// such as httpmock.ConnectionFailure or a responder for other hosts)
// instead of answering them with the scenario's unmatched status. They are
// not journaled and consume no refusal. Servers ignore it.
func WithNoResponder(r httpmock.Responder) Option {
	return func(c *config) { c.noResponder = r }
}

// hasNoResponder reports whether mt has a no-responder. httpmock offers no
// getter, so it looks at the unexported field (httpmock v1.4.2); a test pins
// it, so an httpmock upgrade that renames the field fails loudly.
func hasNoResponder(mt *httpmock.MockTransport) bool {
	f := reflect.ValueOf(mt).Elem().FieldByName("noResponder")
	return f.IsValid() && f.Kind() == reflect.Func && !f.IsNil()
}

// patternRegexp returns a regular expression matching the URLs a ServeMux
// path pattern matches (wildcards as single segments, {x...} and a trailing
// slash as any rest, {$} as the end).
func patternRegexp(path string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?:[a-z]+://[^/]*)?`)
	segs := strings.Split(path[1:], "/")
	end := `(?:\?.*)?$`
	for i, s := range segs {
		switch {
		case s == "{$}":
			b.WriteString("/")
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
			b.WriteString("/.*")
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			b.WriteString("/[^/?]+")
		case s == "" && i == len(segs)-1:
			b.WriteString("/.*")
		default:
			b.WriteString("/" + regexp.QuoteMeta(s))
		}
	}
	b.WriteString(end)
	return regexp.MustCompile(b.String())
}

// mockResponse returns the step's response with the given body, as an
// http.Client would receive it.
func (x *exchange) mockResponse(body io.ReadCloser) *http.Response {
	h := http.Header{}
	st := x.header(h)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", st, http.StatusText(st)),
		StatusCode:    st,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: int64(len(x.step.Respond.Body)),
		Request:       x.r,
	}
}

// errConnReset is the error of a read on a connection the peer reset, as the
// net package reports one.
func errConnReset() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// brokenBody yields rest, then fails as a reset connection does.
type brokenBody struct{ rest []byte }

func (b *brokenBody) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		return 0, errConnReset()
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

func (b *brokenBody) Close() error { return nil }
