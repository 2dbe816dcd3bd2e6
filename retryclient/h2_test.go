package retryclient

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// Regression: an HTTP/2 stream reset (the server handler aborting, which
// the client sees as "stream error: stream ID 1; INTERNAL_ERROR; received
// from peer") was classified other and not retried, while the HTTP/1
// equivalent was. It runs in real time over TLS loopback with zero delays.
func TestTransportRetriesHTTP2StreamReset(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "ok "+r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	p := DefaultPolicy().WithBackoff(ConstantBackoff(0))

	t.Run("GET is retried", func(t *testing.T) {
		calls.Store(0)
		var c collector
		client := &http.Client{Transport: New(srv.Client().Transport, p, WithObserver(c.observe))}
		resp, err := client.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok HTTP/2.0" {
			t.Errorf("body %q, want ok over HTTP/2", body)
		}
		tl := c.Timeline()
		wantReasons(t, tl, ReasonConnError, ReasonSuccess)
		if tl[0].ErrClass != ClassConnection {
			t.Errorf("class %q, want connection (%v)", tl[0].ErrClass, tl[0].Err)
		}
	})
	t.Run("POST without key is not retried", func(t *testing.T) {
		calls.Store(0)
		client := &http.Client{Transport: New(srv.Client().Transport, p)}
		_, err := client.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
		var gu *GiveUpError
		if !errors.As(err, &gu) || gu.Reason != ReasonNotIdempotent || gu.Timeline[0].ErrClass != ClassConnection {
			t.Errorf("err = %v, want a method-not-idempotent give-up on a connection-class error", err)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
}
