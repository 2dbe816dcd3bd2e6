package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/retrylab/retrylab/faultinject"
)

// TestServeSessionFlags: serve hosts sessions, at most --max-sessions of
// them, each playing its own script.
func TestServeSessionFlags(t *testing.T) {
	url := serveInProcess(t, "--max-sessions", "1", "--session-idle", "1h")
	ac, err := faultinject.NewAdminClient(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := ac.CreateSession(ctx, "shard-1", nil); err != nil {
		t.Fatal(err)
	}
	err = ac.CreateSession(ctx, "shard-2", nil)
	if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests: faultinject: session limit reached: 1 sessions are open") {
		t.Errorf("second session: %v", err)
	}
	// The session plays transient-503 from its start, whatever the
	// server's own script has done.
	get := func(session string) int {
		req, _ := http.NewRequest("GET", url+"/items/1", nil)
		if session != "" {
			req.Header.Set(faultinject.SessionHeader, session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{get(""), get(""), get(""), get("shard-1"), get("shard-1"), get("shard-1")}
	if want := []int{503, 503, 200, 503, 503, 200}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	j, err := ac.Journal(ctx, "shard-1")
	if err != nil || j.Len() != 3 {
		t.Errorf("session journal: %v %v", j, err)
	}
	resp, err := http.Get(url + "/__admin/sessions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"max": 1`) || !strings.Contains(string(body), `"idle": "1h0m0s"`) || !strings.Contains(string(body), `"id": "shard-1"`) {
		t.Errorf("sessions: %s", body)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-sessions", "0"}, "--max-sessions 0: must be 1 or more"},
		{[]string{"--session-idle", "0s"}, "--session-idle 0s: must be more than 0s"},
	} {
		err := cmdServe(context.Background(), append([]string{"--scenario", "default"}, c.args...), io.Discard, io.Discard)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
