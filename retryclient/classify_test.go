package retryclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"golang.org/x/net/http2"
)

// timeoutErr is a net.Error that reports a timeout.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	dialRefused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	readReset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	cases := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"nil", nil, ClassNone},
		{"connection refused", dialRefused, ClassConnection},
		{"connection refused in url.Error", &url.Error{Op: "Get", URL: "http://x", Err: dialRefused}, ClassConnection},
		{"connection reset", readReset, ClassConnection},
		{"bare ECONNRESET", syscall.ECONNRESET, ClassConnection},
		{"broken pipe", &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, ClassConnection},
		{"EOF before response", io.EOF, ClassConnection},
		{"wrapped EOF", fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", io.EOF), ClassConnection},
		{"unexpected EOF", io.ErrUnexpectedEOF, ClassConnection},
		{"closed pipe", io.ErrClosedPipe, ClassConnection},
		{"other dial failure", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route")}, ClassConnection},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, ClassDNS},
		{"dns in OpError and url.Error", &url.Error{Op: "Get", URL: "http://nope.invalid", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}}, ClassDNS},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", IsTemporary: true}, ClassConnection},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", IsTimeout: true}, ClassConnection},
		{"tls unknown authority", &url.Error{Op: "Get", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, ClassTLS},
		{"x509 hostname", x509.HostnameError{Host: "example.com", Certificate: &x509.Certificate{}}, ClassTLS},
		{"x509 expired", x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}, ClassTLS},
		{"tls record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, ClassTLS},
		{"tls alert", fmt.Errorf("remote error: %w", tls.AlertError(42)), ClassTLS},
		{"context canceled", context.Canceled, ClassCanceled},
		{"wrapped canceled", &url.Error{Op: "Get", Err: context.Canceled}, ClassCanceled},
		{"deadline exceeded", context.DeadlineExceeded, ClassTimeout},
		{"net.Error timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, ClassTimeout},
		{"os deadline", os.ErrDeadlineExceeded, ClassTimeout},
		{"body too large", fmt.Errorf("%w: more", ErrBodyTooLarge), ClassBodyTooLarge},
		// Regression: permanent dial errors fell into the catch-all dial case
		// and were retried.
		{"invalid port is permanent", &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "invalid port", Addr: "127.0.0.1:99999"}}, ClassOther},
		{"unknown network is permanent", &net.OpError{Op: "dial", Net: "tcpx", Err: net.UnknownNetworkError("tcpx")}, ClassOther},
		{"invalid address is permanent", &net.OpError{Op: "dial", Err: net.InvalidAddrError("bad")}, ClassOther},
		// Regression: a TLS alert from the server ("remote error: tls:
		// handshake failure") was classified other.
		{"tls alert from the peer", &url.Error{Op: "Get", Err: &net.OpError{Op: "remote error", Err: remoteAlert{}}}, ClassTLS},
		{"malformed response", errors.New(`malformed HTTP status code "x"`), ClassOther},
		{"text that looks like a reset is not one", errors.New("connection reset by peer"), ClassOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// Regression: HTTP/2 stream resets were ClassOther (never retried) while
// the HTTP/1 equivalent (EOF) was retried.
func TestClassifyHTTP2StreamErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"refused stream", http2.StreamError{StreamID: 1, Code: http2.ErrCodeRefusedStream}, ClassConnection},
		{"internal error, wrapped", &url.Error{Op: "Get", Err: http2.StreamError{StreamID: 3, Code: http2.ErrCodeInternal}}, ClassConnection},
		{"cancel", http2.StreamError{StreamID: 1, Code: http2.ErrCodeCancel}, ClassConnection},
		{"protocol error", http2.StreamError{StreamID: 1, Code: http2.ErrCodeProtocol}, ClassOther},
		{"text that looks like a stream error is not one", errors.New("stream error: stream ID 1; INTERNAL_ERROR; received from peer"), ClassOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// remoteAlert stands in for crypto/tls's unexported alert type.
type remoteAlert struct{}

func (remoteAlert) Error() string { return "tls: handshake failure" }
