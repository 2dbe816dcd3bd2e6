package faultinject

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

// TestCloseLeavesNoGoroutines closes servers with requests hanging, delayed
// and dribbling; no goroutine of theirs survives.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	g := NewWithT(t)
	before := gleak.Goroutines()
	s := mustBuild(t, NewScenario("busy").
		Route("GET /hang", Hang()).
		Route("GET /delay", Status(200).Delay(time.Hour)).
		Route("GET /slow", SlowBody().Respond(200).Body(strings.Repeat("x", 100)).Chunk(1).Every(time.Second)))
	for _, newServer := range []func(*Scenario, ...Option) *Server{NewServer, NewPipeServer} {
		srv := newServer(s)
		done := make(chan struct{})
		for _, path := range []string{"/hang", "/delay", "/slow"} {
			go func() {
				defer func() { done <- struct{}{} }()
				resp, err := srv.Client().Get(srv.URL + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		g.Eventually(srv.Journal().Len).Should(Equal(3))
		srv.Close()
		srv.Close() // Close is idempotent
		for range 3 {
			<-done
		}
		for _, c := range srv.Journal().Calls() {
			g.Expect(c.Outcome).To(Equal("server closed"), c.Path)
		}
	}
	g.Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(before))
}

func TestServerReset(t *testing.T) {
	s := mustBuild(t, NewScenario("reset").Route("GET /x", Status(503), Status(200)))
	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(s)
		defer srv.Close()
		for range 2 {
			if resp, _ := mustGet(t, srv.Client(), srv.URL+"/x"); resp.StatusCode != 503 {
				t.Errorf("status = %d, want the script's first step", resp.StatusCode)
			}
			mustGet(t, srv.Client(), srv.URL+"/x")
			srv.Reset()
			if n := srv.Journal().Len(); n != 0 {
				t.Errorf("journal has %d calls after Reset", n)
			}
		}
	})
}

// TestPipeLargeBodies: net.Pipe is unbuffered; megabyte bodies in both
// directions, and faults that stop reading or writing half way, must not
// deadlock.
func TestPipeLargeBodies(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	s := mustBuild(t, NewScenario("big").
		Route("POST /echo", Status(200).Body(big)).
		Route("POST /reset", ResetMidBody().Respond(200).Body(big)).
		Route("POST /hang", Hang()).
		Route("POST /empty", Empty()))
	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(s)
		defer srv.Close()
		c := srv.Client()
		c.Timeout = time.Minute
		for _, path := range []string{"/echo", "/reset", "/hang", "/empty", "/unmatched", "/echo"} {
			resp, err := c.Post(srv.URL+path, "text/plain", bytes.NewReader([]byte(big)))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		for _, call := range srv.Journal().Calls() {
			if call.BodyLen != int64(len(big)) {
				t.Errorf("%s: body length %d, want %d", call.Path, call.BodyLen, len(big))
			}
		}
		if n := srv.Journal().Len(); n != 6 {
			t.Errorf("journal has %d calls, want 6", n)
		}
	})
}

// TestCloseWithUnreadBody: Close does not wait for a client that never
// reads a body a hijacking fault is still writing.
func TestCloseWithUnreadBody(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	s := mustBuild(t, NewScenario("unread").
		Route("GET /rmb", ResetMidBody().Respond(200).Body(big)).
		Route("GET /big", Status(200).Body(big)))
	for _, newServer := range []func(*Scenario, ...Option) *Server{NewServer, NewPipeServer} {
		srv := newServer(s)
		var bodies []io.Closer
		for _, path := range []string{"/rmb", "/big"} {
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, resp.Body) // never read
		}
		srv.Close()
		for _, b := range bodies {
			b.Close()
		}
	}
}

func TestPipeServerNotReachableOtherwise(t *testing.T) {
	s := mustBuild(t, NewScenario("p").Route("GET /x", Status(200)))
	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(s)
		srv.Close()
		if _, err := srv.Client().Get(srv.URL + "/x"); err == nil {
			t.Error("a closed pipe server answered")
		}
	})
}
