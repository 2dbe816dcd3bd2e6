package apitest

import (
	"net/http"

	"github.com/jarcoal/httpmock"

	"github.com/retrylab/retrylab/faultinject"
)

// WithHTTPMock plays the scenario through httpmock responders on a fresh
// httpmock.MockTransport (faultinject.Register) instead of a pipe server:
// no listener, no connections, for teams whose suites already use httpmock.
// The fixture's retrying client sits above the mock, so retries, the
// journal and every matcher work as with a server; wire faults return what
// a client over TCP observes (see the faultinject documentation). Nothing
// global is touched (http.DefaultTransport stays as it is), so it is safe
// under ginkgo -p and works in and out of VirtualTime. MockTransport
// returns the transport, to add responders for other URLs. It cannot be
// combined with WithTCP.
func WithHTTPMock() Option { return func(c *config) { c.httpmock = true } }

// backend is what a Fixture plays its scenario on: a *faultinject.Server or
// an httpmock transport.
type backend interface {
	Transport() http.RoundTripper
	Journal() *faultinject.Journal
	Close()
}

// mockBackend is a scenario registered on an httpmock.MockTransport.
type mockBackend struct {
	mt      *httpmock.MockTransport
	journal *faultinject.Journal
}

// mockURL is the base URL of a fixture made WithHTTPMock: any host reaches
// the mock, this one reads as a placeholder in timelines.
const mockURL = "http://httpmock.invalid"

func newMockBackend(s *faultinject.Scenario, opts []faultinject.Option) *mockBackend {
	mt := httpmock.NewMockTransport()
	return &mockBackend{mt: mt, journal: faultinject.Register(mt, s, opts...)}
}

func (m *mockBackend) Transport() http.RoundTripper  { return m.mt }
func (m *mockBackend) Journal() *faultinject.Journal { return m.journal }
func (m *mockBackend) Close()                        {}

// MockTransport returns the httpmock.MockTransport of a fixture made
// WithHTTPMock, on which more responders (for other URLs) may be
// registered; it returns nil for a fixture served over a pipe or TCP.
func (fx *Fixture) MockTransport() *httpmock.MockTransport {
	if !fx.usable("MockTransport") {
		return nil
	}
	if m, ok := fx.server.(*mockBackend); ok {
		return m.mt
	}
	return nil
}
