package faultinject

import (
	"net/http"
	"reflect"

	"github.com/jarcoal/httpmock"
)

// Register installs the scenario on mt as its no-responder, which matches
// every request with the same net/http.ServeMux patterns as the servers,
// and returns the journal it records into. It never touches
// http.DefaultTransport or httpmock's global state; responders the caller
// registered on mt for particular URLs still take precedence. Wire faults
// cannot happen without a connection, so the responder returns what an
// http.Client over TCP observes; the package documentation lists it. The
// responder is safe for concurrent use.
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
	if err := cfg.checkConfig(); err != nil {
		panic(err.Error())
	}
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
		m := readBody(req, e.keepsBody(req))
		p := e.dispatch(req, m)
		defer p.call.end()
		if p.abandoned {
			return nil, m.bodyErr
		}
		x := &exchange{ctx: req.Context(), r: req, step: p.step, call: p.call, start: p.start}
		x.setUpstream(e, m)
		if x.gone(x.wait(p.step.Delay)) {
			return nil, req.Context().Err()
		}
		return action(p.step).mock(x)
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
