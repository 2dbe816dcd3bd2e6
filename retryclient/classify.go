package retryclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/net/http2"
)

// ErrorClass is the kind of failure of an attempt that produced no response.
// It is a plain value, safe to copy and share.
type ErrorClass string

// The error classes. [Classify] maps an error to one of them.
const (
	// ClassNone means there was no error.
	ClassNone ErrorClass = ""
	// ClassConnection is a transient transport failure: connection refused
	// or reset, the peer closing before a response (EOF), a broken pipe, a
	// temporary or timed-out DNS lookup, an HTTP/2 stream reset with
	// REFUSED_STREAM, INTERNAL_ERROR or CANCEL. Retried, but like every
	// retry only for idempotent methods or requests with an Idempotency-Key:
	// only REFUSED_STREAM (RFC 9113 §8.7) guarantees the server did not
	// process the request.
	ClassConnection ErrorClass = "connection"
	// ClassTimeout is an attempt that ran out of time: the Transport's
	// per-attempt timeout, or a timeout reported by the underlying transport
	// as a net.Error. Retried.
	ClassTimeout ErrorClass = "timeout"
	// ClassCanceled is the caller's cancellation or the caller's own
	// deadline. Final: never retried.
	ClassCanceled ErrorClass = "canceled"
	// ClassDNS is a host name that does not resolve. Not retried unless
	// [Policy.RetryDNSErrors] is set.
	ClassDNS ErrorClass = "dns"
	// ClassTLS is a TLS certificate or handshake failure, including an alert
	// received from the server. Never retried.
	ClassTLS ErrorClass = "tls"
	// ClassBodyTooLarge is a request body that could not be buffered for
	// replay (see [ErrBodyTooLarge]). Never retried.
	ClassBodyTooLarge ErrorClass = "body-too-large"
	// ClassOther is any other error, for example a malformed response or
	// an invalid address or network ([*net.AddrError],
	// [net.UnknownNetworkError], [net.InvalidAddrError], [*net.ParseError]).
	// Not retried.
	ClassOther ErrorClass = "other"
	// ClassTransient is an error marked with [Transient] (or [RetryAfter]),
	// or so classified by a [WithClassifier] function. Retried.
	ClassTransient ErrorClass = "transient"
	// ClassPermanent is an error marked with [Permanent], or so classified
	// by a [WithClassifier] function. Never retried.
	ClassPermanent ErrorClass = "permanent"
)

// Classify maps an attempt's error to its class using errors.Is/As,
// net.Error and syscall errors; it never looks at error strings. An error
// marked with [Transient], [RetryAfter] or [Permanent] (anywhere in its
// chain) has the marker's class.
//
// Classify alone cannot tell whose deadline expired: it reports
// context.DeadlineExceeded as [ClassTimeout] and context.Canceled as
// [ClassCanceled]. The [Transport] knows the contexts and reports an expired
// caller deadline as [ClassCanceled] (final) and an expired per-attempt
// timeout as [ClassTimeout] (retried).
func Classify(err error) ErrorClass {
	if err == nil {
		return ClassNone
	}
	var m *markedError
	if errors.As(err, &m) {
		return m.class
	}
	if errors.Is(err, ErrBodyTooLarge) {
		return ClassBodyTooLarge
	}
	if errors.Is(err, context.Canceled) {
		return ClassCanceled
	}
	// TLS before generic net.Error checks: certificate errors can arrive
	// inside *net.OpError or *url.Error.
	var (
		certVerify *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		sysRoots   x509.SystemRootsError
		record     tls.RecordHeaderError
		alert      tls.AlertError
		echReject  *tls.ECHRejectionError
	)
	if errors.As(err, &certVerify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &sysRoots) || errors.As(err, &record) ||
		errors.As(err, &alert) || errors.As(err, &echReject) {
		return ClassTLS
	}
	// crypto/tls reports an alert from the peer as a *net.OpError with Op
	// "remote error" (and one it sent as "local error"), around an
	// unexported alert type.
	var tlsOp *net.OpError
	if errors.As(err, &tlsOp) && (tlsOp.Op == "remote error" || tlsOp.Op == "local error") {
		return ClassTLS
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout || dnsErr.IsTemporary {
			return ClassConnection
		}
		return ClassDNS
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ClassTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		return ClassConnection
	}
	// An HTTP/2 stream reset by the server. net/http's bundled HTTP/2
	// error converts to x/net's StreamError through its As method.
	var streamErr http2.StreamError
	if errors.As(err, &streamErr) {
		switch streamErr.Code {
		case http2.ErrCodeRefusedStream, http2.ErrCodeInternal, http2.ErrCodeCancel:
			return ClassConnection
		}
		return ClassOther
	}
	// Permanent dial failures: a bad address or network will not get better.
	var (
		addrErr    *net.AddrError
		unknownNet net.UnknownNetworkError
		invalidAdr net.InvalidAddrError
		parseErr   *net.ParseError
	)
	if errors.As(err, &addrErr) || errors.As(err, &unknownNet) || errors.As(err, &invalidAdr) || errors.As(err, &parseErr) {
		return ClassOther
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return ClassConnection
	}
	return ClassOther
}

// retryable reports whether errors of class c may be retried under p.
func (p Policy) retryableClass(c ErrorClass) bool {
	switch c {
	case ClassConnection, ClassTimeout, ClassTransient:
		return true
	case ClassDNS:
		return p.RetryDNSErrors
	}
	return false
}
