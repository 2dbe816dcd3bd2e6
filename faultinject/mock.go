package faultinject

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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
// Register panics if s does not validate.
func Register(mt *httpmock.MockTransport, s *Scenario, opts ...Option) *Journal {
	cfg := newConfig(opts)
	e := newConfiguredEngine(s, cfg)
	responder := func(req *http.Request) (*http.Response, error) {
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
