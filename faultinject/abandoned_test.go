package faultinject_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	. "github.com/onsi/gomega"

	"github.com/retrylab/retrylab/apitest"
	"github.com/retrylab/retrylab/faultinject"
)

// TestAbandonedUploadIsNotACall: regression, a request whose body was cut
// off (the client timed out mid-upload) was dispatched anyway: it consumed
// a script step, was journaled with a status the client never received and
// a truncated body length, and HaveSentSameBody then blamed a correct
// client ("call #1 sent 14336 bytes … call #2 sent 65536").
func TestAbandonedUploadIsNotACall(t *testing.T) {
	g := NewWithT(t)
	s := faultinject.NewScenario("upload").Route("POST /upload", faultinject.Status(503), faultinject.Status(201)).MustBuild()
	srv := faultinject.NewServer(s)
	defer srv.Close()
	body := bytes.Repeat([]byte("x"), 65536)

	// Attempt 1 sends its headers and 14336 bytes of the 65536 announced,
	// then gives up.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	g.Expect(err).NotTo(HaveOccurred())
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nIdempotency-Key: k1\r\nRetrylab-Attempt: 1\r\n\r\n", len(body))
	conn.Write(body[:14336])
	conn.Close()
	g.Eventually(srv.Journal().Len).Should(Equal(1))

	// Attempts 2 and 3 send the whole body: the script starts at its first
	// step, which the abandoned attempt did not consume.
	for attempt := 2; attempt <= 3; attempt++ {
		req, _ := http.NewRequest("POST", srv.URL+"/upload", bytes.NewReader(body))
		req.Header.Set("Idempotency-Key", "k1")
		req.Header.Set(faultinject.AttemptHeader, fmt.Sprint(attempt))
		resp, err := srv.Client().Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		if attempt == 2 {
			g.Expect(resp.StatusCode).To(Equal(503), "the first full upload meets the first step")
		}
	}
	calls := srv.Journal().Calls()
	g.Expect(calls).To(HaveLen(3))
	a := calls[0]
	g.Expect(a.Abandoned()).To(BeTrue(), "%s", srv.Journal())
	g.Expect(a.Action).To(Equal(faultinject.ActionAbandoned))
	g.Expect(a.Status).To(Equal(0), "no answer was sent")
	g.Expect(a.BodyLen).To(BeNumerically("==", 14336))
	g.Expect(a.Route).To(Equal("POST /upload"))
	g.Expect(a.Outcome).To(HavePrefix("body cut off after 14336 bytes: "))
	g.Expect(calls[1].Status).To(Equal(503))
	g.Expect(calls[2].Status).To(Equal(201))
	g.Expect(srv.Journal().String()).To(ContainSubstring("attempt 1 key k1 conn 1 → abandoned (body cut off after 14336 bytes"))
	g.Expect(srv.Journal()).To(apitest.HaveSentSameBody())
	g.Expect(srv.Journal()).To(apitest.HaveSentSameIdempotencyKey())
	g.Expect(srv.Journal()).To(apitest.HaveCalls("POST /upload", 3), "the abandoned attempt was made and counts")

	// A body that differs in a complete call still fails the check.
	req, _ := http.NewRequest("POST", srv.URL+"/upload", strings.NewReader("other"))
	req.Header.Set(faultinject.AttemptHeader, "4")
	resp, err := srv.Client().Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(srv.Journal()).NotTo(apitest.HaveSentSameBody())
}

// failingBody yields n bytes, then fails as a client's body does when its
// source breaks.
type failingBody struct{ n int }

func (b *failingBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, errors.New("source broke")
	}
	k := min(len(p), b.n)
	b.n -= k
	return k, nil
}

// TestAbandonedUploadHTTPMock: the httpmock responders journal a body that
// fails to read as abandoned, consume no step and return the error.
func TestAbandonedUploadHTTPMock(t *testing.T) {
	s := faultinject.NewScenario("upload").Route("POST /upload", faultinject.Status(503), faultinject.Status(201)).MustBuild()
	mt := httpmock.NewMockTransport()
	j := faultinject.Register(mt, s)
	c := &http.Client{Transport: mt, Timeout: 10 * time.Second}
	if _, err := c.Post("http://api.test/upload", "text/plain", io.NopCloser(&failingBody{n: 100})); err == nil {
		t.Fatal("a failing body gave no error")
	}
	resp, err := c.Post("http://api.test/upload", "text/plain", strings.NewReader("whole"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls := j.Calls()
	if len(calls) != 2 || !calls[0].Abandoned() || calls[0].BodyLen != 100 || resp.StatusCode != 503 {
		t.Errorf("status %d, journal:\n%s", resp.StatusCode, j)
	}
}
