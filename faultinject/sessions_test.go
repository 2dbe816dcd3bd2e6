package faultinject_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	fi "github.com/retrylab/retrylab/faultinject"
)

// sessionReq sends method path to c's server in session id ("": none).
func sessionReq(t *testing.T, c *http.Client, base, method, path, id, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if id != "" {
		req.Header.Set(fi.SessionHeader, id)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(resp))
	return resp.StatusCode, b.String()
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

const flakyYAML = `name: flaky
routes:
  - route: GET /x
    steps:
      - respond: 503
      - respond: 200
`

func flaky() *fi.Scenario {
	return fi.NewScenario("default").Route("GET /x", fi.Status(500), fi.Status(201)).MustBuild()
}

func TestSessionsAreIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fi.NewPipeServer(flaky(), fi.WithAdmin(false))
		defer srv.Close()
		c, u := srv.Client(), srv.URL
		for _, id := range []string{"a", "b"} {
			if code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/"+id, "", flakyYAML); code != http.StatusCreated {
				t.Fatalf("create %s: %d %s", id, code, body)
			}
		}
		// Interleaved: each session steps its own script.
		for _, step := range []struct {
			id   string
			want int
		}{{"a", 503}, {"b", 503}, {"a", 200}, {"", 500}, {"b", 200}, {"a", 200}, {"", 201}} {
			if code, _ := sessionReq(t, c, u, "GET", "/x", step.id, ""); code != step.want {
				t.Errorf("GET /x in session %q = %d, want %d", step.id, code, step.want)
			}
		}
		var j fi.AdminJournal
		code, body := sessionReq(t, c, u, "GET", "/__admin/sessions/a/journal", "", "")
		if code != 200 || json.Unmarshal([]byte(body), &j) != nil {
			t.Fatalf("journal of a: %d %s", code, body)
		}
		if j.Scenario != "flaky" || len(j.Calls) != 3 || j.Calls[2].Seq != 3 || j.Calls[2].Index != 3 {
			t.Errorf("journal of a = %+v", j)
		}
		// Paged as /__admin/journal is.
		code, body = sessionReq(t, c, u, "GET", "/__admin/sessions/a/journal?since=1&limit=1", "", "")
		j = fi.AdminJournal{}
		if code != 200 || json.Unmarshal([]byte(body), &j) != nil || len(j.Calls) != 1 || j.Calls[0].Seq != 2 || j.Next != 2 || !j.More {
			t.Errorf("page of a's journal: %d %s", code, body)
		}
		if got := srv.Journal().Len(); got != 2 {
			t.Errorf("default journal has %d calls, want 2 (sessions leaked into it)", got)
		}
		// Reset one session: the other keeps its place.
		if code, _ := sessionReq(t, c, u, "POST", "/__admin/sessions/a/reset", "", ""); code != 204 {
			t.Fatalf("reset: %d", code)
		}
		if code, _ := sessionReq(t, c, u, "GET", "/x", "a", ""); code != 503 {
			t.Errorf("after reset, a: %d, want 503", code)
		}
		if code, _ := sessionReq(t, c, u, "GET", "/x", "b", ""); code != 200 {
			t.Errorf("after resetting a, b: %d, want 200", code)
		}
		// An empty body plays the server's scenario; PUT again replaces it.
		if code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/c", "", ""); code != 201 || !strings.Contains(body, `"name": "default"`) {
			t.Errorf("create c with the server's scenario: %d %s", code, body)
		}
		if code, _ := sessionReq(t, c, u, "GET", "/x", "c", ""); code != 500 {
			t.Errorf("c: %d, want 500", code)
		}
		if code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/c", "", flakyYAML); code != 200 {
			t.Errorf("replace c: %d %s", code, body)
		}
		if code, _ := sessionReq(t, c, u, "GET", "/x", "c", ""); code != 503 {
			t.Errorf("replaced c: %d, want 503", code)
		}
		var list fi.AdminSessions
		code, body = sessionReq(t, c, u, "GET", "/__admin/sessions", "", "")
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
			t.Fatalf("list: %d %s", code, body)
		}
		var ids []string
		for _, s := range list.Sessions {
			ids = append(ids, s.ID)
		}
		if !reflect.DeepEqual(ids, []string{"a", "b", "c"}) || list.Max != fi.DefaultMaxSessions || list.Idle != "10m0s" || list.Sessions[0].Calls != 1 {
			t.Errorf("list = %+v", list)
		}
		if code, _ := sessionReq(t, c, u, "DELETE", "/__admin/sessions/a", "", ""); code != 204 {
			t.Errorf("delete: %d", code)
		}
		if code, body := sessionReq(t, c, u, "GET", "/x", "a", ""); code != http.StatusMisdirectedRequest || !strings.Contains(body, `unknown session "a"`) {
			t.Errorf("deleted session: %d %s", code, body)
		}
	})
}

func TestSessionBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fi.NewPipeServer(flaky(), fi.WithAdmin(false), fi.WithSessions(2, time.Minute))
		defer srv.Close()
		c, u := srv.Client(), srv.URL
		long := strings.Repeat("x", fi.MaxSessionID+1)
		for _, tc := range []struct {
			name, method, path, session, body string
			code                              int
			want                              string
		}{
			{"unknown session on a route", "GET", "/x", "nope", "", 421, `faultinject: unknown session "nope": it was never created (PUT /__admin/sessions/nope), was deleted, or expired after 1m0s idle`},
			{"invalid session header", "GET", "/x", "../etc", "", 400, `byte 1 ('.') is not allowed`},
			{"session header too long", "GET", "/x", long, "", 400, "longer than 64"},
			{"unknown session journal", "GET", "/__admin/sessions/nope/journal", "", "", 404, `unknown session "nope"`},
			{"unknown session delete", "DELETE", "/__admin/sessions/nope", "", "", 404, `unknown session "nope"`},
			{"unknown session scenario upload", "PUT", "/__admin/sessions/nope/scenario", "", flakyYAML, 404, `unknown session "nope"`},
			{"invalid id in the admin path", "PUT", "/__admin/sessions/a b", "", "", 400, `session ID "a b"`},
			{"invalid session scenario", "PUT", "/__admin/sessions/s1", "", "routes: [{route: GET /x, steps: [{fault: rest}]}]", 400, `session s1 upload:1:42: unknown fault "rest" (did you mean "reset"?)`},
			{"refuse in a session", "PUT", "/__admin/sessions/s1", "", "routes: [{route: GET /x, steps: [{respond: 200}, {fault: refuse}]}]", 400, `faultinject: scenario "session s1 upload": route "GET /x" step 2: fault "refuse" cannot be played in a session (it acts on dials, which carry no Retrylab-Session header)`},
			{"unknown session endpoint", "GET", "/__admin/sessions/s1/jornal", "", "", 404, "unknown session"},
			{"list is GET only", "POST", "/__admin/sessions", "", "", 405, "method not allowed"},
		} {
			code, body := sessionReq(t, c, u, tc.method, tc.path, tc.session, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) || strings.Count(strings.TrimSpace(body), "\n") > 0 {
				t.Errorf("%s: %d %q, want %d with %q on one line", tc.name, code, body, tc.code, tc.want)
			}
		}
		if srv.Journal().Len() != 0 {
			t.Errorf("a request for an unknown session reached the default session:\n%v", srv.Journal())
		}

		// The limit: two sessions, a third is refused until one goes.
		for _, id := range []string{"s1", "s2"} {
			if code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/"+id, "", ""); code != 201 {
				t.Fatalf("create %s: %d %s", id, code, body)
			}
		}
		if code, body := sessionReq(t, c, u, "GET", "/__admin/sessions/s1/jornal", "", ""); code != 404 || !strings.Contains(body, "unknown admin endpoint /__admin/sessions/s1/jornal") {
			t.Errorf("unknown endpoint of a live session: %d %s", code, body)
		}
		code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/s3", "", "")
		if code != http.StatusTooManyRequests || !strings.Contains(body, "session limit reached: 2 sessions are open") {
			t.Errorf("third session: %d %s", code, body)
		}
		// Replacing a live session's scenario is not a new session.
		if code, _ := sessionReq(t, c, u, "PUT", "/__admin/sessions/s2", "", flakyYAML); code != 200 {
			t.Errorf("replace s2 at the limit: %d", code)
		}
		sessionReq(t, c, u, "DELETE", "/__admin/sessions/s1", "", "")
		if code, _ := sessionReq(t, c, u, "PUT", "/__admin/sessions/s3", "", ""); code != 201 {
			t.Errorf("after a delete: %d", code)
		}
	})
}

// Sessions expire after the idle time, in virtual time; a session serving
// a request does not.
func TestSessionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := fi.NewScenario("hang").Route("GET /x", fi.Status(200)).Route("GET /slow", fi.Status(200).Delay(time.Hour)).MustBuild()
		srv := fi.NewPipeServer(sc, fi.WithAdmin(false), fi.WithSessions(1, time.Minute))
		defer srv.Close()
		c, u := srv.Client(), srv.URL
		sessionReq(t, c, u, "PUT", "/__admin/sessions/old", "", "")
		time.Sleep(59 * time.Second)
		if code, _ := sessionReq(t, c, u, "GET", "/x", "old", ""); code != 200 {
			t.Fatalf("before expiry: %d", code)
		}
		time.Sleep(59 * time.Second) // idle since the request: still alive
		if code, _ := sessionReq(t, c, u, "GET", "/__admin/sessions/old", "", ""); code != 200 {
			t.Fatalf("used 59s ago: %d", code)
		}
		// An hour-long request keeps its session alive.
		if code, _ := sessionReq(t, c, u, "GET", "/slow", "old", ""); code != 200 {
			t.Fatalf("slow: %d", code)
		}
		if code, _ := sessionReq(t, c, u, "GET", "/x", "old", ""); code != 200 {
			t.Fatalf("after an hour-long request: %d", code)
		}
		time.Sleep(time.Minute)
		if code, body := sessionReq(t, c, u, "GET", "/x", "old", ""); code != 421 || !strings.Contains(body, "expired after 1m0s idle") {
			t.Errorf("after a minute idle: %d %s", code, body)
		}
		// The expired session no longer counts against the limit.
		if code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/new", "", ""); code != 201 {
			t.Errorf("new session: %d %s", code, body)
		}
	})
}

// Without the admin API a server has no sessions: a request naming one is
// refused rather than played by the server's scenario.
func TestSessionHeaderWithoutAdmin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fi.NewPipeServer(flaky())
		defer srv.Close()
		code, body := sessionReq(t, srv.Client(), srv.URL, "GET", "/x", "s", "")
		if code != 421 || !strings.Contains(body, "this server has no sessions") || srv.Journal().Len() != 0 {
			t.Errorf("%d %s", code, body)
		}
		if code, _ := sessionReq(t, srv.Client(), srv.URL, "GET", "/x", "", ""); code != 500 {
			t.Errorf("without the header: %d", code)
		}
	})
}

// The session endpoints obey the admin API's guards: loopback Host only and
// no browser Origin.
func TestSessionEndpointsAreGuarded(t *testing.T) {
	srv := fi.NewServer(flaky(), fi.WithAdmin(false))
	defer srv.Close()
	c := &http.Client{}
	for _, tc := range []struct {
		name   string
		header map[string]string
		host   string
		want   string
	}{
		{"origin", map[string]string{"Origin": "https://evil.example"}, "", "Origin header present"},
		{"rebound host", nil, "evil.example", `Host "evil.example"`},
	} {
		req, _ := http.NewRequest("PUT", srv.URL+"/__admin/sessions/x", strings.NewReader(flakyYAML))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if code, body := sessionReq(t, c, srv.URL, "GET", "/__admin/sessions", "", ""); code != 200 || !strings.Contains(body, `"sessions": []`) {
		t.Errorf("a refused request created a session: %d %s", code, body)
	}
}

func TestAdminClient(t *testing.T) {
	srv := fi.NewServer(flaky(), fi.WithAdmin(false), fi.WithJournalLimit(3))
	defer srv.Close()
	ctx := context.Background()
	if _, err := fi.NewAdminClient("ftp://x", nil); err == nil || !strings.Contains(err.Error(), `admin URL "ftp://x"`) {
		t.Errorf("NewAdminClient(ftp) = %v", err)
	}
	ac, err := fi.NewAdminClient(srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := fi.NewScenario("own").Route("GET /x", fi.Status(429).RetryAfter(time.Second), fi.Status(204)).MustBuild()
	if err := ac.CreateSession(ctx, "p1", sc); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{}
	for range 5 {
		sessionReq(t, c, srv.URL, "GET", "/x", "p1", "")
	}
	j, err := ac.Journal(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	calls := j.Calls()
	if j.Dropped() != 2 || len(calls) != 3 || calls[0].Seq != 3 || calls[2].Index != 5 || j.Count("GET /x") != 5 || calls[0].Header.Get(fi.SessionHeader) != "p1" {
		t.Errorf("journal: dropped %d, %v", j.Dropped(), j)
	}
	if got := j.CallsAfter(4, 0); len(got) != 1 || got[0].Seq != 5 {
		t.Errorf("CallsAfter(4) = %v", got)
	}
	if !strings.HasPrefix(j.GomegaString(), `journal of "own": 3 calls (2 older calls dropped)`) {
		t.Errorf("GomegaString:\n%s", j.GomegaString())
	}
	if err := ac.Reset(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if j, _ := ac.Journal(ctx, "p1"); j.Len() != 0 {
		t.Errorf("after reset: %v", j)
	}
	if err := ac.DeleteSession(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	err = ac.DeleteSession(ctx, "p1")
	if err == nil || !strings.Contains(err.Error(), `404 Not Found: faultinject: unknown session "p1"`) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := ac.Journal(ctx, "p1"); err == nil {
		t.Error("journal of a deleted session: no error")
	}
	if j, err := ac.Journal(ctx, ""); err != nil || j.Len() != 0 {
		t.Errorf("default journal: %v %v", j, err)
	}
}

func TestEncodeScenarioRoundTrip(t *testing.T) {
	cases := map[string]*fi.Scenario{"builder": fi.NewScenario("all").Seed(-7).Unmatched(418).
		Route("GET /users/{id}",
			fi.Status(503).Times(2).Header("X-A", "1").Header("X-A", "2"),
			fi.Status(429).RetryAfter(0),
			fi.Status(503).RetryAfterDate(5*time.Second),
			fi.Hang().For(10*time.Second).Respond(200).Body("late"),
			fi.Fault("slow-body").Respond(200).Chunk(3).Every(time.Millisecond).Body(`{"id": "é"}`),
			fi.Status(200).Delay(150*time.Millisecond)).ThenLoop().
		Route("POST /orders", fi.Status(201)).ThenStatus(404).
		Upstream("http://127.0.0.1:9/").
		Route("PUT /docs/{id}", fi.Status(503), fi.Proxy(), fi.ResetMidBody().Upstream()).ThenUpstream().
		When(fi.Match{Headers: map[string]fi.Text{"X-Tenant": fi.Equals("acme")}, JSON: map[string]fi.Text{"a.b": fi.Matches("^x")},
			Query: map[string]fi.Text{"q": fi.Equals("1")}, Body: &fi.Text{Equals: "raw"}}).
		Route("PUT /docs/{id}", fi.Status(200)).
		BulkRoute("POST /bulk", fi.Bulk{Items: "orders", ID: "sku", Fail: map[string][]int{"b": {503, 429}}}).
		Chaos("GET /users/{id}", 0.25, fi.Reset()).
		Chaos("", 1, fi.Status(500)).MustBuild()}
	files, _ := filepath.Glob("../fixtures/scenarios/*.yaml")
	for _, f := range files {
		sc, err := fi.LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[f] = sc
	}
	if len(cases) < 10 {
		t.Fatalf("only %d scenarios to encode", len(cases))
	}
	for name, sc := range cases {
		doc, err := fi.EncodeScenario(sc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := fi.ParseScenario("encoded", doc)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, doc)
		}
		back.Source, sc.Source = "", ""
		if !reflect.DeepEqual(back, sc) {
			t.Errorf("%s: round trip differs:\n got %+v\nwant %+v\n%s", name, back, sc, doc)
		}
	}
	bin := fi.NewScenario("bin").Route("GET /", fi.Status(200).Body("\xff")).MustBuild()
	if _, err := fi.EncodeScenario(bin); err == nil || err.Error() != `faultinject: EncodeScenario: route "GET /" step 1: the body is not UTF-8 text` {
		t.Errorf("binary body: %v", err)
	}
}

// Each session draws chaos from its own source, seeded by its scenario:
// interleaved with another session's requests, it makes the same decisions
// as that session.
func TestSessionsHaveTheirOwnChaosSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fi.NewPipeServer(flaky(), fi.WithAdmin(false))
		defer srv.Close()
		c, u := srv.Client(), srv.URL
		chaos := "seed: 7\nroutes: [{route: GET /x, steps: [{respond: 200}]}]\nchaos: [{probability: 0.5, respond: 500}]\n"
		for _, id := range []string{"a", "b"} {
			if code, body := sessionReq(t, c, u, "PUT", "/__admin/sessions/"+id, "", chaos); code != 201 {
				t.Fatalf("create %s: %d %s", id, code, body)
			}
		}
		var a, b []int
		for range 20 {
			code, _ := sessionReq(t, c, u, "GET", "/x", "a", "")
			a = append(a, code)
			code, _ = sessionReq(t, c, u, "GET", "/x", "b", "")
			b = append(b, code)
		}
		if !reflect.DeepEqual(a, b) || !slices.Contains(a, 500) || !slices.Contains(a, 200) {
			t.Errorf("session a %v, session b %v: want the same mix of 200 and 500", a, b)
		}
	})
}
