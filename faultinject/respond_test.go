package faultinject

import (
	"net/http"
	"testing"
	"time"
)

func TestRespond(t *testing.T) {
	s := mustBuild(t, NewScenario("respond").
		Route("GET /users/{id}",
			Status(429).RetryAfter(1500*time.Millisecond).Header("X-Test", "a"),
			Status(503).RetryAfterDate(5*time.Second),
			Status(200).Header("Content-Type", "application/json").Body(`{"id":1}`)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		resp, _ := mustGet(t, fe.client, fe.url+"/users/1")
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-Test") != "a" {
			t.Errorf("first response = %d %v, want 429 with Retry-After 2 and X-Test a", resp.StatusCode, resp.Header)
		}
		resp, _ = mustGet(t, fe.client, fe.url+"/users/1")
		c := lastCall(t, fe.journal)
		date, err := http.ParseTime(resp.Header.Get("Retry-After"))
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("second response = %d Retry-After %q (%v), want 503 with a date", resp.StatusCode, resp.Header.Get("Retry-After"), err)
		}
		if want := c.Start.Add(5 * time.Second).Truncate(time.Second); !date.Equal(want) {
			t.Errorf("Retry-After date = %v, want %v", date, want)
		}
		if c.RetryAfter != resp.Header.Get("Retry-After") {
			t.Errorf("journal Retry-After = %q, want %q", c.RetryAfter, resp.Header.Get("Retry-After"))
		}
		for range 2 { // repeat-last
			resp, body := mustGet(t, fe.client, fe.url+"/users/1")
			if resp.StatusCode != 200 || string(body) != `{"id":1}` || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("response = %d %q %v, want 200 {\"id\":1} as JSON", resp.StatusCode, body, resp.Header)
			}
		}
		calls := fe.journal.Calls()
		want := []struct {
			status int
			ra     string
		}{{429, "2"}, {503, calls[1].RetryAfter}, {200, ""}, {200, ""}}
		if len(calls) != len(want) {
			t.Fatalf("journal has %d calls, want %d:\n%s", len(calls), len(want), fe.journal)
		}
		for i, w := range want {
			c := calls[i]
			if c.Seq != i+1 || c.Index != i+1 || c.Route != "GET /users/{id}" || c.Action != "respond" || c.Status != w.status || c.RetryAfter != w.ra || c.Method != "GET" || c.Path != "/users/1" {
				t.Errorf("call %d = %+v, want status %d Retry-After %q", i+1, c, w.status, w.ra)
			}
		}
	})
}

func TestRespondDelay(t *testing.T) {
	s := mustBuild(t, NewScenario("delay").Route("GET /slow", Status(200).Delay(150*time.Millisecond)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		start := time.Now()
		mustGet(t, fe.client, fe.url+"/slow")
		took := time.Since(start)
		if fe.virtual && took != 150*time.Millisecond || !fe.virtual && took < 150*time.Millisecond {
			t.Errorf("request took %v, want 150ms (exactly in virtual time)", took)
		}
		c := lastCall(t, fe.journal)
		if d := c.End.Sub(c.Start); fe.virtual && d != 150*time.Millisecond || d < 150*time.Millisecond {
			t.Errorf("journal End-Start = %v, want 150ms", d)
		}
	})
}

func TestUnmatched(t *testing.T) {
	s := mustBuild(t, NewScenario("unmatched").Unmatched(418).
		Route("GET /users/{id}", Status(200)).
		Route("POST /orders", Status(201)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		resp, body := mustGet(t, fe.client, fe.url+"/userz/7")
		if resp.StatusCode != 418 {
			t.Errorf("status = %d, want 418", resp.StatusCode)
		}
		if want := "faultinject: no route matches GET /userz/7; nearest route: GET /users/{id}\n"; string(body) != want {
			t.Errorf("body = %q, want %q", body, want)
		}
		resp, body = mustGet(t, fe.client, fe.url+"/orders")
		if want := "faultinject: no route matches GET /orders; nearest route: POST /orders\n"; resp.StatusCode != 418 || string(body) != want {
			t.Errorf("GET /orders = %d %q, want 418 %q", resp.StatusCode, body, want)
		}
		c := lastCall(t, fe.journal)
		if c.Route != "" || c.Action != "unmatched" || c.Status != 418 || fe.journal.Count("") != 2 || fe.journal.Count("GET /users/{id}") != 0 {
			t.Errorf("journal = %s, want two unmatched calls", fe.journal)
		}
	})
}
