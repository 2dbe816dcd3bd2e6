package faultinject

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file holds what the fault files share: the exchange a fault plays
// on, and the helpers to answer it on a connection (header, head, hijack,
// resetConn, abort) or as an httpmock response (mockResponse, brokenBody,
// errConnReset, errRefused). Fault files use these and fault.go; they never
// use each other.

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
	// upstream is where proxy steps forward the request (nil: none set);
	// body is the request body, kept for them, and bodyTooLarge says it
	// was longer than MaxUpstreamBody.
	upstream     *upstream
	body         []byte
	bodyTooLarge bool
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

// errRefused is the error of a refused dial, as the net package reports one.
func errRefused(network, addr string) error {
	var raddr net.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		raddr = net.TCPAddrFromAddrPort(ap)
	}
	return &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}
