package retryclient_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/retrylab/retrylab/retryclient"
)

// The success path: one GET answered 200 by a loopback server, through a
// bare http.Transport, through retryclient wrapping the same kind of
// transport, and through go-retryablehttp. The differences are the cost of
// the retry layer when nothing fails.

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":1,"name":"ada"}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func newBareTransport(b *testing.B) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}

func runGets(b *testing.B, client *http.Client, url string) {
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkSuccessPath(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		srv := benchServer(b)
		runGets(b, &http.Client{Transport: newBareTransport(b)}, srv.URL+"/users/1")
	})
	b.Run("retryclient", func(b *testing.B) {
		srv := benchServer(b)
		rt := retryclient.New(newBareTransport(b), retryclient.DefaultPolicy())
		runGets(b, &http.Client{Transport: rt}, srv.URL+"/users/1")
	})
	b.Run("retryclient-attempt-timeout", func(b *testing.B) {
		srv := benchServer(b)
		rt := retryclient.New(newBareTransport(b), retryclient.DefaultPolicy().WithAttemptTimeout(10e9))
		runGets(b, &http.Client{Transport: rt}, srv.URL+"/users/1")
	})
	b.Run("go-retryablehttp", func(b *testing.B) {
		srv := benchServer(b)
		rc := retryablehttp.NewClient()
		rc.Logger = nil
		rc.RetryMax = 2
		rc.HTTPClient = &http.Client{Transport: newBareTransport(b)}
		runGets(b, rc.StandardClient(), srv.URL+"/users/1")
	})
}

// stubTransport answers 200 without any I/O, which isolates the cost of the
// layers above it.
type stubTransport struct{}

func (stubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

func BenchmarkLayerOverhead(b *testing.B) {
	const url = "http://stub.test/users/1"
	b.Run("bare", func(b *testing.B) {
		runGets(b, &http.Client{Transport: stubTransport{}}, url)
	})
	b.Run("retryclient", func(b *testing.B) {
		runGets(b, &http.Client{Transport: retryclient.New(stubTransport{}, retryclient.DefaultPolicy())}, url)
	})
	b.Run("retryclient-observed", func(b *testing.B) {
		rt := retryclient.New(stubTransport{}, retryclient.DefaultPolicy(),
			retryclient.WithObserver(func(retryclient.Attempt) {}),
			retryclient.WithAttemptHeader(retryclient.DefaultAttemptHeader))
		runGets(b, &http.Client{Transport: rt}, url)
	})
	// The limiters when they do not limit: a RetryLimiter on a success,
	// an AdaptiveLimiter before any throttle. Compare with "retryclient".
	b.Run("retryclient-limiters", func(b *testing.B) {
		rt := retryclient.New(stubTransport{}, retryclient.DefaultPolicy(),
			retryclient.WithRetryLimiter(retryclient.NewRetryLimiter(8)),
			retryclient.WithAdaptiveLimiter(retryclient.NewAdaptiveLimiter()))
		runGets(b, &http.Client{Transport: rt}, url)
	})
	b.Run("go-retryablehttp", func(b *testing.B) {
		rc := retryablehttp.NewClient()
		rc.Logger = nil
		rc.RetryMax = 2
		rc.HTTPClient = &http.Client{Transport: stubTransport{}}
		runGets(b, rc.StandardClient(), url)
	})
}
