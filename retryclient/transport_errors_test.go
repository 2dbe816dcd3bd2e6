package retryclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	fi "github.com/retrylab/retrylab/faultinject"
)

// failingDialer returns err from every dial and counts them.
type failingDialer struct {
	err   error
	dials atomic.Int32
}

func (d *failingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	return nil, d.err
}

func TestTransportPermanentDialErrorsAreNotRetried(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		policy Policy
		class  ErrorClass
		dials  int32
		reason Reason
	}{
		{"dns not found", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}},
			noJitter(), ClassDNS, 1, ReasonNotRetryableError},
		{"dns not found, RetryDNSErrors", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}},
			noJitter().WithRetryDNSErrors(true), ClassDNS, 3, ReasonMaxAttempts},
		{"dns temporary", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}},
			noJitter(), ClassConnection, 3, ReasonMaxAttempts},
		// Regression: "invalid port" was retried as a connection error.
		{"invalid port", &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "invalid port", Addr: "127.0.0.1:99999"}},
			noJitter(), ClassOther, 1, ReasonNotRetryableError},
		{"tls certificate", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
			noJitter(), ClassTLS, 1, ReasonNotRetryableError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &failingDialer{err: tc.err}
				tr := &http.Transport{DialContext: d.DialContext}
				defer tr.CloseIdleConnections()
				_, _, _, err := get(t, New(tr, tc.policy), "http://api.test/")
				var gu *GiveUpError
				if !errors.As(err, &gu) {
					t.Fatalf("err = %v, want GiveUpError", err)
				}
				if d.dials.Load() != tc.dials || gu.Reason != tc.reason || gu.Timeline[len(gu.Timeline)-1].ErrClass != tc.class {
					t.Errorf("%d dials, reason %s, class %s; want %d, %s, %s\n%s", d.dials.Load(), gu.Reason,
						gu.Timeline[len(gu.Timeline)-1].ErrClass, tc.dials, tc.reason, tc.class, gu.Timeline)
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("errors.Is(err, dial error) = false: %v", err)
				}
			})
		})
	}
}

func TestTransportHTTPClientTimeoutIsFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, fi.Hang(), status(200))
		s := srv.Journal()
		client := &http.Client{Transport: New(srv.Transport(), noJitter().WithAttemptTimeout(time.Minute)), Timeout: 3 * time.Second}
		start := time.Now()
		_, err := client.Get(srv.URL + "/")
		// http.Client may flatten the error behind its timeout into text, so
		// only the message is sure to show the GiveUpError.
		if err == nil || !strings.Contains(err.Error(), "gave up after 1 attempt") || !strings.Contains(err.Error(), "(canceled)") ||
			time.Since(start) != 3*time.Second {
			t.Errorf("err %v after %v, want a canceled give-up at 3s", err, time.Since(start))
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("err %v is not a timeout net.Error", err)
		}
		if len(s.Calls()) != 1 {
			t.Errorf("%d calls, want 1", len(s.Calls()))
		}
	})
}

func TestTransportGetBodyFailureStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(200))
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/", strings.NewReader("v"))
		boom := errors.New("body source gone")
		req.GetBody = func() (io.ReadCloser, error) { return nil, boom }
		_, _, _, err := send(t, New(srv.Transport(), noJitter()), req)
		var gu *GiveUpError
		if !errors.As(err, &gu) || gu.Reason != ReasonBodyNotReplayable || !errors.Is(err, boom) || gu.LastStatus != 503 || gu.Attempts != 1 {
			t.Errorf("err = %#v, want body-not-replayable after 1 attempt", err)
		}
	})
}

func TestTransportRedactsPasswordsInAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(200))
		var c collector
		_, _, _, _ = get(t, New(srv.Transport(), noJitter(), WithObserver(c.observe)), strings.Replace(srv.URL, "://", "://user:secret@", 1)+"/x")
		if u := c.Timeline()[0].URL; strings.Contains(u, "secret") {
			t.Errorf("URL %q leaks the password", u)
		}
	})
}

type idleCloser struct {
	http.RoundTripper
	closed int
}

func (c *idleCloser) CloseIdleConnections() { c.closed++ }

func TestTransportForwardsCloseIdleConnections(t *testing.T) {
	ic := &idleCloser{RoundTripper: http.DefaultTransport}
	New(ic, DefaultPolicy()).CloseIdleConnections()
	if ic.closed != 1 {
		t.Errorf("CloseIdleConnections reached next %d times, want 1", ic.closed)
	}
	New(roundTripFunc(nil), DefaultPolicy()).CloseIdleConnections() // no such method: no panic
	if New(nil, DefaultPolicy()).base() != http.DefaultTransport {
		t.Error("New(nil, …) does not use http.DefaultTransport")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewCopiesRetryStatuses(t *testing.T) {
	p := DefaultPolicy().WithRetryStatuses(503)
	rt := New(nil, p)
	p.RetryStatuses[0] = 404
	if got := rt.Policy().RetryStatuses; len(got) != 1 || got[0] != 503 {
		t.Errorf("Transport policy statuses %v changed with the caller's slice", got)
	}
}

// Regression: a TLS alert from the server ("remote error: tls: protocol
// version not supported") was classified other instead of tls. Real TLS
// over loopback; nothing sleeps.
func TestTransportTLSAlertFromServerIsClassTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.MaxVersion = tls.VersionTLS12
	defer tr.CloseIdleConnections()
	_, _, _, err := get(t, New(tr, noJitter()), srv.URL+"/")
	var gu *GiveUpError
	if !errors.As(err, &gu) || gu.Attempts != 1 || gu.Reason != ReasonNotRetryableError || gu.Timeline[0].ErrClass != ClassTLS {
		t.Fatalf("err = %v, want one attempt classified tls", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		t.Errorf("err = %v, want it to come from a remote TLS alert", err)
	}
}

// Regression: a request with a nil Header panicked (assignment to a nil
// map) when the Transport stamped an attempt header or an Idempotency-Key.
func TestTransportNilRequestHeaderDoesNotPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveSteps(t, status(503), status(200))
		s := srv.Journal()
		rt := New(srv.Transport(), noJitter(), WithAttemptHeader(DefaultAttemptHeader), WithIdempotencyKeys())
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("x"))
		req.Header = nil
		resp, _, _, err := send(t, rt, req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v, want 200 after a retry", resp, err)
		}
		if c := s.Calls(); len(c) != 2 || c[1].Attempt != 2 || c[0].IdempotencyKey == "" || c[0].IdempotencyKey != c[1].IdempotencyKey {
			t.Errorf("calls %+v, want 2 with attempt header and one key", c)
		}
		if req.Header != nil {
			t.Errorf("caller's nil Header became %v", req.Header)
		}
	})
}

// Regression: a wrapped RoundTripper returning (nil, nil) made RoundTrip
// panic; it is now a non-retried error.
func TestTransportNilResponseAndNilErrorFromNext(t *testing.T) {
	var calls int
	next := roundTripFunc(func(*http.Request) (*http.Response, error) { calls++; return nil, nil })
	_, _, _, err := get(t, New(next, noJitter()), "http://api.test/")
	var gu *GiveUpError
	if !errors.As(err, &gu) || gu.Reason != ReasonNotRetryableError || calls != 1 ||
		!errors.Is(err, errNilResponse) || !strings.Contains(err.Error(), "retryclient: the wrapped RoundTripper returned a nil response and a nil error") {
		t.Errorf("err = %v after %d calls, want one non-retried attempt with the nil-response error", err, calls)
	}
}
