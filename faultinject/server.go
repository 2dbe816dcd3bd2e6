package faultinject

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/retrylab/retrylab/internal/pipenet"
)

// Option configures a Server or Register.
type Option func(*config)

type config struct {
	attemptHeader   string
	logger          *slog.Logger
	admin           bool               // serve the admin API under adminPrefix
	adminRemote     bool               // answer admin requests from non-loopback clients
	keepSecrets     bool               // journal credentials verbatim
	journalLimit    int                // most calls the journal holds; 0: no limit
	noResponder     httpmock.Responder // Register: for requests no route matches
	upstream        string             // WithUpstream: where proxy steps forward
	upstreamTimeout time.Duration      // WithUpstreamTimeout
	upstreams       *upstreams         // shared by the engines made with this config
	maxSessions     int                // WithSessions; 0: DefaultMaxSessions
	sessionIdle     time.Duration      // WithSessions; 0: DefaultSessionIdle
	// TCP servers only:
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	maxConns          int // 0: defaultMaxConns
}

func newConfig(opts []Option) config {
	c := config{attemptHeader: AttemptHeader, readHeaderTimeout: DefaultReadHeaderTimeout, idleTimeout: DefaultIdleTimeout}
	for _, o := range opts {
		o(&c)
	}
	c.upstreams = &upstreams{timeout: c.upstreamTimeout}
	return c
}

// WithAttemptHeader names the request header whose integer value the journal
// records as Call.Attempt (default AttemptHeader).
func WithAttemptHeader(name string) Option {
	return func(c *config) { c.attemptHeader = name }
}

// WithLogger sends the net/http server's error log to l at level Warn. By
// default it is discarded: the faults provoke errors on purpose.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithSecrets keeps the values of Authorization, Proxy-Authorization,
// Cookie and Set-Cookie in the journal. By default the journal replaces them
// by Redacted, so that neither the admin API nor a failure message shows a
// credential.
func WithSecrets() Option {
	return func(c *config) { c.keepSecrets = true }
}

// WithJournalLimit keeps at most n calls in the journal, dropping the oldest
// (Journal.Dropped counts them), so a long-running server's journal stays
// bounded. n <= 0 means no limit, the default of NewServer, NewPipeServer,
// Listen and Register; `retrylab serve` keeps 100,000 by default. Each call
// holds at most MaxJournalHeader bytes of header, so a full journal of n
// calls takes about n × (500 B + the header kept).
func WithJournalLimit(n int) Option {
	return func(c *config) { c.journalLimit = max(n, 0) }
}

// Server is an HTTP server that plays a Scenario, over TCP loopback
// (NewServer) or over an in-memory pipe listener (NewPipeServer). Its methods
// are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, such as "http://127.0.0.1:41234",
	// with no trailing slash. A pipe server's URL is only reachable through
	// Client and Transport.
	URL string

	eng       atomic.Pointer[engine] // replaced by Load
	cfg       config
	pipe      bool // an in-memory pipe server
	srv       *http.Server
	transport *http.Transport
	closing   chan struct{}
	serveDone chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	hijacked  map[net.Conn]struct{} // hijacked connections not yet released
	active    sync.WaitGroup        // connections not yet closed or hijacked, and handlers
	connIDs   atomic.Uint64
	guard     *guardedListener // caps a TCP server's connections; nil for pipes
	sessions  *sessionTable    // WithAdmin; nil without the admin API
}

// PipeURL is the URL of every pipe server. Requests reach a pipe server only
// through its Client or Transport, whatever host they name.
const PipeURL = "http://faultinject.invalid"

// NewServer starts a server playing s on a TCP port of 127.0.0.1, like
// httptest.NewServer; it runs in real time. The caller must Close it.
// NewServer panics if s does not validate or no port can be opened.
func NewServer(s *Scenario, opts ...Option) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			panic("faultinject: failed to listen on a port: " + err.Error())
		}
	}
	return newTCPServer(s, ln, opts)
}

// newTCPServer serves s on the TCP listener ln, with a transport whose
// dialer plays the refuse fault, under the connection timeouts and cap
// (WithConnTimeouts, WithMaxConns).
func newTCPServer(s *Scenario, ln net.Listener, opts []Option) *Server {
	srv := newServer(s, ln, opts, true)
	var d net.Dialer
	srv.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if srv.eng.Load().refuseDial() {
			return nil, errRefused(network, addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return srv
}

// NewPipeServer starts a server playing s on an in-memory listener built on
// net.Pipe: real net/http on both sides, no sockets, and every goroutine
// started here ends in Close, so a pipe server created and closed inside a
// testing/synctest bubble runs on the bubble's virtual clock. Requests reach
// it only through Client or Transport. The caller must Close it.
// NewPipeServer panics if s does not validate.
func NewPipeServer(s *Scenario, opts ...Option) *Server {
	ln := pipenet.New("faultinject.invalid:80")
	srv := newServer(s, ln, opts, false)
	srv.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if srv.eng.Load().refuseDial() {
			return nil, errRefused(network, addr)
		}
		return ln.Dial(ctx, network, addr)
	}
	return srv
}

type connKey struct{}

// connInfo identifies a server connection and counts its requests.
type connInfo struct {
	id     uint64
	conn   net.Conn
	served atomic.Int64
}

// newServer starts serving s on ln; tcp adds the defences against hostile
// clients (header and idle timeouts, a connection cap).
func newServer(s *Scenario, ln net.Listener, opts []Option, tcp bool) *Server {
	cfg := newConfig(opts)
	if err := cfg.checkConfig(); err != nil {
		ln.Close()
		panic(err.Error())
	}
	srv := &Server{
		cfg:       cfg,
		closing:   make(chan struct{}),
		serveDone: make(chan struct{}),
		transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	// URL and pipe are set before the first request can arrive: the admin
	// API's guards read them, and a client in another process gives the
	// race detector no ordering.
	srv.URL, srv.pipe = PipeURL, !tcp
	if tcp {
		srv.URL = "http://" + ln.Addr().String()
	}
	srv.eng.Store(newConfiguredEngine(s, cfg))
	if cfg.admin {
		srv.sessions = newSessionTable(cfg)
	}
	errLog := log.New(io.Discard, "", 0)
	if cfg.logger != nil {
		errLog = slog.NewLogLogger(cfg.logger.Handler(), slog.LevelWarn)
	}
	srv.srv = &http.Server{
		Handler:  http.HandlerFunc(srv.serve),
		ErrorLog: errLog,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connInfo{id: srv.connIDs.Add(1), conn: c})
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				srv.active.Add(1)
			case http.StateClosed, http.StateHijacked:
				if srv.guard != nil {
					srv.guard.gone(c)
				}
				srv.active.Done()
			}
		},
	}
	if tcp {
		srv.srv.ReadHeaderTimeout = cfg.readHeaderTimeout
		srv.srv.IdleTimeout = cfg.idleTimeout
		maxConns := cfg.maxConns
		if maxConns <= 0 {
			maxConns = defaultMaxConns()
		}
		srv.guard = newGuardedListener(ln, maxConns)
		ln = srv.guard
	}
	go func() {
		defer close(srv.serveDone)
		srv.srv.Serve(ln)
	}()
	return srv
}

// serve is the handler of every request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// The connection holds a count of active while its handler runs, so this
	// Add never races with Close's Wait; it keeps Close waiting for handlers
	// of hijacked connections.
	s.active.Add(1)
	defer s.active.Done()
	ci, _ := r.Context().Value(connKey{}).(*connInfo)
	if s.guard != nil && ci != nil {
		// A connection inside a request is never closed to make room.
		s.guard.enter(ci.conn)
		defer s.guard.leave(ci.conn)
	}
	if s.cfg.admin && strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	eng, done := s.engineFor(w, r)
	if eng == nil {
		return
	}
	defer done()
	var m meta
	keep := eng.keepsBody(r)
	if s.guard != nil && r.Body != nil && r.Body != http.NoBody {
		// A TCP client must keep its upload moving: each read of the body
		// may wait up to the idle timeout. The deadline is lifted once the
		// body is in, so nothing the script does is cut short.
		rc := http.NewResponseController(w)
		r.Body = &progressBody{ReadCloser: r.Body, rc: rc, idle: s.cfg.idleTimeout}
		m = readBody(r, keep)
		rc.SetReadDeadline(time.Time{})
	} else {
		m = readBody(r, keep)
	}
	if ci != nil {
		m.connID = ci.id
		m.reused = ci.served.Add(1) > 1
	}
	p := eng.dispatch(r, m)
	defer p.call.end()
	if p.abandoned {
		abort() // the body was cut off: nobody waits for an answer
	}
	x := &exchange{
		ctx:       r.Context(),
		closing:   s.closing,
		w:         w,
		r:         r,
		step:      p.step,
		call:      p.call,
		start:     p.start,
		closeConn: p.closeConn,
		hijacked:  s.trackHijacked,
	}
	x.setUpstream(eng, m)
	defer func() {
		if x.release != nil {
			x.release()
		}
	}()
	if x.gone(x.wait(p.step.Delay)) {
		abort()
	}
	action(p.step).serve(x)
}

// progressBody sets the connection's read deadline before each read of a
// request body, so that a client that stops sending mid-body is let go.
type progressBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (b *progressBody) Read(p []byte) (int, error) {
	b.rc.SetReadDeadline(time.Now().Add(b.idle))
	return b.ReadCloser.Read(p)
}

// trackHijacked records a hijacked connection until release is called; if
// the server is closing, it closes it at once.
func (s *Server) trackHijacked(c net.Conn) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		c.Close()
	default:
	}
	if s.hijacked == nil {
		s.hijacked = map[net.Conn]struct{}{}
	}
	s.hijacked[c] = struct{}{}
	return func() {
		s.mu.Lock()
		delete(s.hijacked, c)
		s.mu.Unlock()
	}
}

// Client returns a new http.Client that reaches the server through
// Transport. For a pipe server it is the way in.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.transport}
}

// Transport returns the *http.Transport wired to the server, shared by the
// clients Client returns; do not modify it. Its dialer plays the refuse fault: armed refusals
// fail dials with ECONNREFUSED, as a real refusal does.
func (s *Server) Transport() http.RoundTripper {
	return s.transport
}

// Journal returns the journal of the calls the server received.
func (s *Server) Journal() *Journal {
	return s.eng.Load().journal
}

// Reset restarts every route's script and the chaos source, and empties the
// journal. Requests in flight finish as decided before the reset.
func (s *Server) Reset() {
	s.eng.Load().reset()
}

// Close releases every hang and delay in progress (their connections are
// closed without a response), shuts the listener and the connections down,
// and blocks until every handler and connection goroutine has finished.
// Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closing)
		for c := range s.hijacked {
			c.Close() // unblocks a fault writing to a client that does not read
		}
		s.mu.Unlock()
		s.srv.Close()
		<-s.serveDone
		s.active.Wait()
		s.transport.CloseIdleConnections()
		s.cfg.upstreams.close()
	})
}
