package faultinject

import (
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

// frontEnd is one of the three ways a scenario is served, as a test sees it.
type frontEnd struct {
	kind    string // "tcp", "pipe" or "httpmock"
	virtual bool   // runs in a synctest bubble
	url     string
	client  *http.Client
	journal *Journal
	close   func() // closes a server; nil for httpmock
}

// scale returns d in virtual time and d/100 in real time, so TCP tests stay
// fast while virtual ones use realistic durations.
func (fe frontEnd) scale(d time.Duration) time.Duration {
	if fe.virtual {
		return d
	}
	return d / 100
}

// settle waits until the server side has caught up with what the client
// did: synctest.Wait in a bubble, a poll of cond in real time.
func (fe frontEnd) settle(t *testing.T, cond func() bool) {
	t.Helper()
	if fe.virtual {
		synctest.Wait()
		if !cond() {
			t.Fatalf("server did not settle:\n%s", fe.journal.GomegaString())
		}
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("server did not settle in 5s:\n%s", fe.journal.GomegaString())
		}
		time.Sleep(time.Millisecond)
	}
}

// forEachFrontEnd runs test against s served over TCP (real time), over the
// pipe listener and as httpmock responders (both in a synctest bubble).
func forEachFrontEnd(t *testing.T, s *Scenario, test func(t *testing.T, fe frontEnd), kinds ...string) {
	if len(kinds) == 0 {
		kinds = []string{"tcp", "pipe", "httpmock"}
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			switch kind {
			case "tcp":
				srv := NewServer(s)
				defer srv.Close()
				test(t, frontEnd{kind: kind, url: srv.URL, client: srv.Client(), journal: srv.Journal(), close: srv.Close})
			case "pipe":
				synctest.Test(t, func(t *testing.T) {
					srv := NewPipeServer(s)
					defer srv.Close()
					test(t, frontEnd{kind: kind, virtual: true, url: srv.URL, client: srv.Client(), journal: srv.Journal(), close: srv.Close})
				})
			case "httpmock":
				synctest.Test(t, func(t *testing.T) {
					mt := httpmock.NewMockTransport()
					j := Register(mt, s)
					test(t, frontEnd{kind: kind, virtual: true, url: "http://api.test", client: &http.Client{Transport: mt}, journal: j})
				})
			}
		})
	}
}

// get performs a GET and returns the response with its body read.
func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustGet is get failing the test on error.
func mustGet(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := get(t, c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, body
}

func mustBuild(t testing.TB, b *ScenarioBuilder) *Scenario {
	t.Helper()
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lastCall returns the last call of the journal.
func lastCall(t *testing.T, j *Journal) Call {
	t.Helper()
	calls := j.Calls()
	if len(calls) == 0 {
		t.Fatal("journal is empty")
	}
	return calls[len(calls)-1]
}
