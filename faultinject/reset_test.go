package faultinject

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
)

// wantResetErr checks the error a client sees for a reset: ECONNRESET over
// TCP and from httpmock, EOF over a pipe (a pipe cannot send RST).
func wantResetErr(t *testing.T, fe frontEnd, err error) {
	t.Helper()
	if fe.kind == "pipe" {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("err = %v, want EOF", err)
		}
		return
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("err = %v, want ECONNRESET", err)
	}
}

func TestReset(t *testing.T) {
	s := mustBuild(t, NewScenario("reset").Route("GET /x", Status(200), Reset(), Status(200)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		resp, _ := mustGet(t, fe.client, fe.url+"/x")
		if fe.kind != "httpmock" && !resp.Close {
			t.Errorf("the response before a reset did not close its connection: %v", resp.Header)
		}
		_, _, err := get(t, fe.client, fe.url+"/x")
		wantResetErr(t, fe, err)
		mustGet(t, fe.client, fe.url+"/x")
		calls := fe.journal.Calls()
		if len(calls) != 3 || calls[1].Action != "reset" || calls[1].Status != 0 {
			t.Fatalf("journal = %s, want respond, reset, respond", fe.journal)
		}
		if fe.kind != "httpmock" && (calls[1].Reused || calls[1].ConnID == calls[0].ConnID) {
			t.Errorf("the reset landed on a reused connection, where net/http replays GETs silently:\n%s", fe.journal)
		}
	})
}

// TestResetOnReusedConnectionIsReplayed pins why the reset note exists:
// without Connection: close before it, a reset on a reused connection is
// replayed by net/http, so the client never sees it.
func TestResetOnReusedConnectionIsReplayed(t *testing.T) {
	s := mustBuild(t, NewScenario("replay").
		Route("GET /warm", Status(200)).
		Route("GET /x", Reset(), Status(200)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		mustGet(t, fe.client, fe.url+"/warm")
		resp, _ := mustGet(t, fe.client, fe.url+"/x")
		calls := fe.journal.Calls()
		if resp.StatusCode != 200 || len(calls) != 3 || calls[1].Action != "reset" || !calls[1].Reused {
			t.Errorf("want the reset on the reused connection replayed silently; got %d and\n%s", resp.StatusCode, fe.journal)
		}
	}, "tcp", "pipe")
}

func TestEmpty(t *testing.T) {
	s := mustBuild(t, NewScenario("empty").Route("GET /x", Empty(), Status(200)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		_, _, err := get(t, fe.client, fe.url+"/x")
		if !errors.Is(err, io.EOF) {
			t.Errorf("err = %v, want EOF", err)
		}
		if resp, _ := mustGet(t, fe.client, fe.url+"/x"); resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d, want 200", resp.StatusCode)
		}
		if c := fe.journal.Calls()[0]; c.Action != "empty" || c.Status != 0 {
			t.Errorf("journal = %s", fe.journal)
		}
	})
}

func TestResetAfterHeaders(t *testing.T) {
	s := mustBuild(t, NewScenario("rah").Route("GET /x", ResetAfterHeaders().Respond(200).Body(`{"id":1}`)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		resp, body, err := get(t, fe.client, fe.url+"/x")
		if resp == nil || resp.StatusCode != 200 || resp.ContentLength != 8 {
			t.Fatalf("response = %v, %v; want 200 headers announcing 8 bytes", resp, err)
		}
		if len(body) != 0 {
			t.Errorf("body = %q, want none", body)
		}
		wantResetErr(t, fe, err)
		if c := lastCall(t, fe.journal); c.Action != "reset-after-headers" || c.Status != 200 {
			t.Errorf("journal = %s", fe.journal)
		}
	})
}

func TestResetMidBody(t *testing.T) {
	s := mustBuild(t, NewScenario("rmb").Route("POST /orders",
		ResetMidBody().Respond(200).Body(`{"order": 7, "status": "created"}`), Status(201)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		resp, err := fe.client.Post(fe.url+"/orders", "application/json", stringsReader(`{"item":1}`))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"order": 7, "st` {
			t.Errorf("response = %d %q, want 200 and half the body", resp.StatusCode, body)
		}
		wantResetErr(t, fe, err)
		c := lastCall(t, fe.journal)
		if c.Action != "reset-mid-body" || c.Status != 200 || c.BodyLen != 10 || c.BodySHA256 != fmt.Sprintf("%x", sha256.Sum256([]byte(`{"item":1}`))) {
			t.Errorf("journal call = %+v", c)
		}
	})
}

func TestMalformed(t *testing.T) {
	s := mustBuild(t, NewScenario("malformed").Route("GET /x", Malformed()))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		_, _, err := get(t, fe.client, fe.url+"/x")
		// net/http reports a malformed status line with an untyped error.
		want := `Get "` + fe.url + `/x": net/http: HTTP/1.x transport connection broken: malformed HTTP status code "???"`
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want malformed HTTP status code", err)
		}
		if c := lastCall(t, fe.journal); c.Action != "malformed" || c.Status != 0 {
			t.Errorf("journal = %s", fe.journal)
		}
	})
}
