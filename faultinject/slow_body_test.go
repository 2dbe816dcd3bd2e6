package faultinject

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func TestSlowBody(t *testing.T) {
	body := strings.Repeat("x", 40)
	s := mustBuild(t, NewScenario("slow").Route("GET /x", SlowBody().Respond(200).Body(body).Chunk(10).Every(20*time.Millisecond)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		start := time.Now()
		resp, got := mustGet(t, fe.client, fe.url+"/x")
		took := time.Since(start)
		if resp.StatusCode != 200 || string(got) != body {
			t.Errorf("response = %d %q", resp.StatusCode, got)
		}
		if fe.virtual && took != 60*time.Millisecond || took < 60*time.Millisecond {
			t.Errorf("took %v, want 3 pauses of 20ms", took)
		}
		if c := lastCall(t, fe.journal); c.Action != "slow-body" || c.Status != 200 {
			t.Errorf("journal = %s", fe.journal)
		}
	})
}

func TestSlowBodyTimeout(t *testing.T) {
	s := mustBuild(t, NewScenario("slow").Route("GET /x", SlowBody().Respond(200).Body(strings.Repeat("x", 100)).Chunk(10).Every(time.Second)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		c := fe.client
		c.Timeout = fe.scale(2500 * time.Millisecond)
		resp, got, err := get(t, c, fe.url+"/x")
		var ne net.Error
		if resp == nil || resp.StatusCode != 200 || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("got %v, %v; want 200 then a timeout reading the body", resp, err)
		}
		if fe.virtual && len(got) != 30 {
			t.Errorf("read %d bytes before the timeout, want 30", len(got))
		}
	})
}
