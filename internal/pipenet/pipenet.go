// Package pipenet is an in-memory network: a net.Listener whose
// connections are the server ends of net.Pipe pairs. Unlike loopback
// sockets, pipes block durably, so a server on a pipenet Listener runs
// inside a testing/synctest bubble, on its virtual clock.
package pipenet

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Listener is an in-memory net.Listener: Dial hands the server end of a new
// net.Pipe to Accept and returns the client end. It is safe for concurrent
// use.
type Listener struct {
	addr  addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	dials atomic.Int64
}

// New returns a Listener whose Addr reports name (for example
// "faultinject.invalid:80").
func New(name string) *Listener {
	return &Listener{addr: addr(name), conns: make(chan net.Conn), done: make(chan struct{})}
}

type addr string

func (addr) Network() string  { return "pipe" }
func (a addr) String() string { return string(a) }

// Accept waits for the next Dial and returns its server end; after Close it
// returns an error wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "pipe", Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops Accept and makes every later Dial fail. It never fails.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the name given to New.
func (l *Listener) Addr() net.Addr { return l.addr }

// Dial returns the client end of a new pipe whose server end Accept
// returns. It waits for Accept, ctx, or Close; after Close it fails like a
// refused TCP connection (ECONNREFUSED). Its signature fits
// http.Transport.DialContext.
func (l *Listener) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		l.dials.Add(1)
		return client, nil
	case <-ctx.Done():
		server.Close()
		client.Close()
		return nil, ctx.Err()
	case <-l.done:
		server.Close()
		client.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Addr: l.addr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
}

// Dials returns how many connections Dial has made.
func (l *Listener) Dials() int64 { return l.dials.Load() }
