package faultinject

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestHang(t *testing.T) {
	s := mustBuild(t, NewScenario("hang").Route("GET /x", Hang(), Status(200)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		c := fe.client
		c.Timeout = fe.scale(10 * time.Second)
		start := time.Now()
		_, err := c.Get(fe.url + "/x")
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if took := time.Since(start); fe.virtual && took != 10*time.Second || took < c.Timeout {
			t.Errorf("gave up after %v, want %v", took, c.Timeout)
		}
		fe.settle(t, func() bool { return !lastCall(t, fe.journal).End.IsZero() })
		call := lastCall(t, fe.journal)
		if call.Action != "hang" || call.Status != 0 || call.Outcome != "client gone" {
			t.Errorf("journal call = %+v, want a hang ended by the client", call)
		}
		if resp, _ := mustGet(t, fe.client, fe.url+"/x"); resp.StatusCode != 200 {
			t.Errorf("after the hang: %d, want 200", resp.StatusCode)
		}
	})
}

func TestHangFor(t *testing.T) {
	s := mustBuild(t, NewScenario("hang-for").Route("GET /x", Hang().For(300*time.Millisecond).Respond(504).Body("late")))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		start := time.Now()
		resp, body := mustGet(t, fe.client, fe.url+"/x")
		took := time.Since(start)
		if resp.StatusCode != 504 || string(body) != "late" {
			t.Errorf("response = %d %q, want 504 late", resp.StatusCode, body)
		}
		if fe.virtual && took != 300*time.Millisecond || took < 300*time.Millisecond {
			t.Errorf("took %v, want 300ms", took)
		}
		if c := lastCall(t, fe.journal); c.Action != "hang" || c.Status != 504 || c.Outcome != "" {
			t.Errorf("journal call = %+v, want hang then 504", c)
		}
	})
}

// TestHangReleasedByClose: Close ends a hang at once; the client sees the
// connection closed without a response.
func TestHangReleasedByClose(t *testing.T) {
	s := mustBuild(t, NewScenario("hang-close").Route("GET /x", Hang()))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		errc := make(chan error, 1)
		go func() {
			resp, err := fe.client.Get(fe.url + "/x")
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		fe.settle(t, func() bool { return fe.journal.Len() == 1 })
		start := time.Now()
		fe.close()
		err := <-errc
		if !errors.Is(err, io.EOF) {
			t.Fatalf("err = %v, want EOF", err)
		}
		if took := time.Since(start); took > 2*time.Second || fe.virtual && took != 0 {
			t.Errorf("Close took %v to release the hang", took)
		}
		if c := lastCall(t, fe.journal); c.Outcome != "server closed" || c.End.IsZero() {
			t.Errorf("journal call = %+v, want a hang ended by Close", c)
		}
	}, "tcp", "pipe")
}
