package faultinject

import (
	"errors"
	"net"
	"sync"
	"time"
)

// The TCP servers (NewServer, Listen) defend against clients that hold
// connections without sending requests; pipe servers, reachable only from
// the process itself, do not need to.
const (
	// DefaultReadHeaderTimeout is how long a TCP server waits for a request's
	// header (request line and header lines) before it closes the connection:
	// a client sending its header a byte at a time (slowloris) cannot hold a
	// connection longer. It does not bound request bodies or anything the
	// script does: a scripted hang, delay or slow body runs after the header
	// has arrived, and a TCP server sets no write timeout.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long a TCP server keeps an idle keep-alive
	// connection open waiting for its next request, and how long it waits
	// for the next bytes of a request body: a client that stops sending in
	// the middle of an upload is let go (the call is journaled as
	// abandoned). A slow upload that keeps moving is not cut.
	DefaultIdleTimeout = 2 * time.Minute
)

// WithConnTimeouts sets how long a TCP server waits for a request's header
// (default DefaultReadHeaderTimeout) and for the next request on an idle
// connection or the next bytes of a request body (default
// DefaultIdleTimeout). A duration <= 0 keeps the default. Neither bounds a
// scripted hang, delay or slow body.
func WithConnTimeouts(readHeader, idle time.Duration) Option {
	return func(c *config) {
		if readHeader > 0 {
			c.readHeaderTimeout = readHeader
		}
		if idle > 0 {
			c.idleTimeout = idle
		}
	}
}

// WithMaxConns caps the connections a TCP server holds open at n. When a
// new connection arrives at the cap, the server closes the oldest
// connection that is not inside a request (one idle between requests or
// still sending its header), so connections that never finish a header
// cannot lock out other clients; if every connection is inside a request
// (a scripted hang, say), the new one waits in the listen queue until one
// ends. The default is three quarters of the process's open-file limit
// (RLIMIT_NOFILE), at least 64, leaving descriptors for the rest of the
// process; n <= 0 keeps the default.
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = n
		}
	}
}

// defaultMaxConns is three quarters of the open-file limit, at least 64.
func defaultMaxConns() int {
	return max(64, openFileLimit()*3/4)
}

// guardedListener caps the connections a TCP server holds open, closing the
// oldest connection outside a request to make room for a new one.
type guardedListener struct {
	net.Listener
	max int

	mu      sync.Mutex
	changed *sync.Cond // a connection closed or left a request
	conns   map[net.Conn]*guarded
	closed  bool
	seq     uint64
}

// guarded is the state of one open connection.
type guarded struct {
	seq  uint64 // arrival order
	busy int    // handlers running on it
}

func newGuardedListener(ln net.Listener, max int) *guardedListener {
	g := &guardedListener{Listener: ln, max: max, conns: map[net.Conn]*guarded{}}
	g.changed = sync.NewCond(&g.mu)
	return g
}

// Accept accepts a connection once there is room for it, making room by
// closing the oldest connection outside a request.
func (g *guardedListener) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.conns) >= g.max && !g.closed {
		if !g.evictLocked() {
			g.changed.Wait()
		}
	}
	if g.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	g.seq++
	g.conns[c] = &guarded{seq: g.seq}
	return c, nil
}

// evictLocked closes the oldest connection no handler is running on and
// reports whether there was one.
func (g *guardedListener) evictLocked() bool {
	var oldest net.Conn
	var seq uint64
	for c, st := range g.conns {
		if st.busy == 0 && (oldest == nil || st.seq < seq) {
			oldest, seq = c, st.seq
		}
	}
	if oldest == nil {
		return false
	}
	delete(g.conns, oldest)
	oldest.Close()
	return true
}

// enter and leave bracket a handler running on c.
func (g *guardedListener) enter(c net.Conn) {
	g.mu.Lock()
	if st := g.conns[c]; st != nil {
		st.busy++
	}
	g.mu.Unlock()
}

func (g *guardedListener) leave(c net.Conn) {
	g.mu.Lock()
	if st := g.conns[c]; st != nil {
		st.busy--
	}
	g.mu.Unlock()
	g.changed.Broadcast()
}

// gone forgets c, closed or hijacked (a hijacked connection belongs to a
// fault, which closes it before its handler returns).
func (g *guardedListener) gone(c net.Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	g.changed.Broadcast()
}

// Close closes the listener and releases an Accept waiting for room.
func (g *guardedListener) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.changed.Broadcast()
	err := g.Listener.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// open returns the number of connections held open.
func (g *guardedListener) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}
