package faultinject

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A fault is one way of misbehaving, registered by its YAML word. serve plays
// it on a real connection (TCP or pipe server); mock returns what an
// http.Client would observe, for httpmock responders.
type fault interface {
	serve(x *exchange)
	mock(x *exchange) (*http.Response, error)
}

// faults maps the YAML fault words to their implementations. It is filled by
// the init functions of the fault files and never changed afterwards.
var faults = map[string]fault{}

func register(name string, f fault) {
	if _, dup := faults[name]; dup {
		panic("faultinject: fault " + name + " registered twice")
	}
	faults[name] = f
}

// faultNames returns the registered fault words, sorted.
func faultNames() []string {
	names := make([]string, 0, len(faults))
	for n := range faults {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// preByte reports whether a fault ends the exchange before any response byte,
// which net/http's client silently replays on a reused connection.
func preByte(name string) bool {
	f, ok := faults[name]
	if !ok {
		return false
	}
	p, ok := f.(interface{ beforeFirstByte() bool })
	return ok && p.beforeFirstByte()
}

// exchange is one request being answered by a step, in any front end.
type exchange struct {
	ctx     context.Context // the request's context
	closing <-chan struct{} // closed when the server closes (nil for httpmock)
	w       http.ResponseWriter
	r       *http.Request
	step    *Step
	call    *callHandle
	start   time.Time // when the request arrived
	// closeConn asks for "Connection: close" on the response, so the next
	// request (due to meet a fault that ends before any byte) uses a fresh
	// connection.
	closeConn bool
	// hijacked, if set, is told of every hijacked connection, so that
	// closing the server can close it too.
	hijacked func(net.Conn) (release func())
	release  func() // set by hijack; the handler calls it when done
}

// abortReason says why a wait ended.
type abortReason int

const (
	waited abortReason = iota
	clientGone
	serverClosing
)

// wait sleeps d, returning early when the request's context is done or the
// server closes.
func (x *exchange) wait(d time.Duration) abortReason {
	if d <= 0 {
		return waited
	}
	t := time.NewTimer(d)
	defer t.Stop()
	return x.waitFor(t.C)
}

func (x *exchange) waitFor(c <-chan time.Time) abortReason {
	select {
	case <-c:
		return waited
	case <-x.ctx.Done():
		return clientGone
	case <-x.closing:
		return serverClosing
	}
}

// header adds the step's response header to h, with Retry-After and
// Connection: close as configured, and journals the status and Retry-After
// about to be sent.
func (x *exchange) header(h http.Header) (status int) {
	rs := &x.step.Respond
	for k, v := range rs.Header {
		h[k] = append([]string(nil), v...) // a client may modify its copy
	}
	switch {
	case rs.RetryAfterDate != 0:
		h.Set("Retry-After", x.start.Add(rs.RetryAfterDate).UTC().Format(http.TimeFormat))
	case rs.RetryAfterSet:
		secs := (rs.RetryAfter + time.Second - 1) / time.Second
		h.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if x.closeConn {
		h.Set("Connection", "close")
	}
	status = x.step.Respond.Status
	if status == 0 {
		status = http.StatusOK
	}
	x.call.sent(status, h.Get("Retry-After"))
	return status
}

// writeResponse sends the step's response through the ResponseWriter.
func (x *exchange) writeResponse() {
	x.w.WriteHeader(x.header(x.w.Header()))
	x.w.Write(x.step.Respond.Body)
}

// head returns the raw HTTP/1.1 status line and headers of the step's
// response, announcing the full body length, for faults that write to a
// hijacked connection.
func (x *exchange) head() []byte {
	h := http.Header{}
	st := x.header(h)
	h.Set("Content-Length", strconv.Itoa(len(x.step.Respond.Body)))
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", st, http.StatusText(st))
	h.Write(&b)
	b.WriteString("\r\n")
	return []byte(b.String())
}

// hijack takes over the connection; the server closes it if it closes
// while the fault still writes. On failure (the server is closing the
// connection already) it aborts the handler.
func (x *exchange) hijack() (net.Conn, *bufio.ReadWriter) {
	conn, brw, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if x.hijacked != nil {
		x.release = x.hijacked(conn)
	}
	return conn, brw
}

// abort ends the handler without a response; net/http closes the connection.
func abort() {
	panic(http.ErrAbortHandler)
}

// resetConn closes conn so that the peer sees a reset: on TCP, SO_LINGER 0
// makes the kernel send RST; a pipe can only be closed, which the peer reads
// as EOF.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// gone records why a wait ended early and reports whether it did.
func (x *exchange) gone(r abortReason) bool {
	switch r {
	case clientGone:
		x.call.outcome("client gone")
	case serverClosing:
		x.call.outcome("server closed")
	default:
		return false
	}
	return true
}
