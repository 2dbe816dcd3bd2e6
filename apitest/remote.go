package apitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/retrylab/retrylab/faultinject"
)

// RemoteEnv is the environment variable WithRemoteFromEnv reads: the base
// URL of a shared `retrylab serve`, such as "http://127.0.0.1:8080".
const RemoteEnv = "RETRYLAB_SERVER"

// remoteTimeout bounds each admin call of a remote fixture.
const remoteTimeout = 30 * time.Second

// WithRemote plays the scenario on a shared fault server in another
// process instead of an in-process one: `retrylab serve`, or any
// faultinject server built WithAdmin, at baseURL (such as
// "http://127.0.0.1:8080"). New creates a session of its own on that
// server playing the scenario (faultinject.WithSessions), the fixture's
// client sends faultinject.SessionHeader on every attempt, and Close
// deletes the session, so parallel Ginkgo processes (ginkgo -p) and CI
// shards share one server without seeing each other's scripts or calls.
//
// A remote fixture runs in real time (it cannot be used in a VirtualTime
// node) and cannot be combined with WithTCP, WithHTTPMock or
// WithServerOptions. Every matcher works on it: Journal fetches the
// session's journal from the server at each call (a snapshot built with
// faultinject.JournalOf), and waits are checked with real-time
// tolerances, as for WithTCP. The scenario travels as
// faultinject.EncodeScenario writes it, so its bodies must be UTF-8 text.
// A server that is unreachable, has no admin API, or has reached its
// session limit fails the spec with the server's answer.
func WithRemote(baseURL string) Option {
	return func(c *config) { c.remote, c.remoteSet = baseURL, true }
}

// WithRemoteFromEnv is WithRemote with the URL in the RETRYLAB_SERVER
// environment variable (RemoteEnv) when it is set, and no option when it
// is not: the same suite plays its scenarios in process on a developer's
// machine and on one shared server in CI.
func WithRemoteFromEnv() Option {
	if u := os.Getenv(RemoteEnv); u != "" {
		return WithRemote(u)
	}
	return nil
}

// remoteBackend is a session on a shared server.
type remoteBackend struct {
	admin     *faultinject.AdminClient
	id        string
	name      string // the scenario's name, for a journal that cannot be fetched
	owner     *bubble
	transport *http.Transport

	mu    sync.Mutex
	final *faultinject.Journal // the journal as it was when the fixture closed
}

// newRemoteBackend creates a session playing s on the server at baseURL.
func newRemoteBackend(baseURL string, s *faultinject.Scenario, owner *bubble) (*remoteBackend, error) {
	// The fixture's own transport carries the admin calls too, so Close
	// leaves no connection behind.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	admin, err := faultinject.NewAdminClient(baseURL, &http.Client{Transport: transport, Timeout: remoteTimeout})
	if err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	rb := &remoteBackend{
		admin:     admin,
		id:        fmt.Sprintf("apitest-p%d-%s", ginkgo.GinkgoParallelProcess(), hex.EncodeToString(b[:])),
		name:      s.Name,
		owner:     owner,
		transport: transport,
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	if err := admin.CreateSession(ctx, rb.id, s); err != nil {
		rb.transport.CloseIdleConnections()
		return nil, err
	}
	return rb, nil
}

// Transport returns a transport to the server that names the session on
// every request.
func (b *remoteBackend) Transport() http.RoundTripper {
	return sessionTransport{id: b.id, next: b.transport}
}

// Journal fetches the session's journal, or returns the one kept when the
// fixture closed. A journal that cannot be fetched fails the spec and
// reads as empty.
func (b *remoteBackend) Journal() *faultinject.Journal {
	b.mu.Lock()
	final := b.final
	b.mu.Unlock()
	if final != nil {
		return final
	}
	j, err := b.fetch()
	if err != nil {
		fatal(b.owner, 2, "apitest: "+err.Error())
		return faultinject.JournalOf(b.name, 0, nil)
	}
	return j
}

func (b *remoteBackend) fetch() (*faultinject.Journal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	return b.admin.Journal(ctx, b.id)
}

// Close keeps the session's last journal and deletes the session.
func (b *remoteBackend) Close() {
	defer b.transport.CloseIdleConnections()
	j, err := b.fetch()
	if err != nil {
		j = faultinject.JournalOf(b.name+" (journal unavailable: "+err.Error()+")", 0, nil)
	}
	b.mu.Lock()
	b.final = j
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	if err := b.admin.DeleteSession(ctx, b.id); err != nil {
		fatal(b.owner, 2, "apitest: the fixture's session was not deleted (it expires when idle): "+err.Error())
	}
}

// sessionTransport sends every request in a session.
type sessionTransport struct {
	id   string
	next *http.Transport
}

// RoundTrip sends a copy of req carrying the session header; req itself is
// not modified.
func (t sessionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set(faultinject.SessionHeader, t.id)
	return t.next.RoundTrip(r)
}

// CloseIdleConnections closes the transport's idle connections.
func (t sessionTransport) CloseIdleConnections() { t.next.CloseIdleConnections() }

// Session returns the ID of the session a fixture made WithRemote plays on
// the shared server, and "" for any other fixture.
func (fx *Fixture) Session() string {
	if rb, ok := fx.server.(*remoteBackend); ok {
		return rb.id
	}
	return ""
}
