package retryclient

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

// TestTransportOnLoopbackReusesOneConnectionAndLeaksNothing runs in real
// time over TCP loopback: Retry-After 0 keeps it free of sleeps.
func TestTransportOnLoopbackReusesOneConnectionAndLeaksNothing(t *testing.T) {
	g := gomega.NewWithT(t)
	before := gleak.Goroutines()

	var calls, conns atomic.Int32
	big := strings.Repeat("z", 16<<10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()

	tr := &http.Transport{}
	var c collector
	client := &http.Client{Transport: New(tr, DefaultPolicy(), WithObserver(c.observe))}
	resp, err := client.Get(srv.URL + "/")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(resp.Body.Close()).To(gomega.Succeed())
	g.Expect(string(body)).To(gomega.Equal("ok"))
	g.Expect(c.Timeline()).To(gomega.HaveLen(3))
	g.Expect(calls.Load()).To(gomega.BeEquivalentTo(3))
	g.Expect(conns.Load()).To(gomega.BeEquivalentTo(1), "discarded 503 bodies must be drained and closed so the connection is reused")

	client.CloseIdleConnections()
	srv.Close()
	g.Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(before))
}
