package apitest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// sharedServer starts a server with the admin API, as `retrylab serve`
// runs, playing a scenario no fixture uses.
func sharedServer(t *testing.T, opts ...fi.Option) *fi.Server {
	t.Helper()
	srv := fi.NewServer(fi.NewScenario("shared").Route("GET /x", fi.Status(418)).MustBuild(), append([]fi.Option{fi.WithAdmin(false)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

func remoteSessions(t *testing.T, srv *fi.Server) []fi.AdminSession {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/__admin/sessions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list fi.AdminSessions
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Sessions
}

func fastPolicy() retryclient.Policy {
	p := noJitter()
	b := p.Backoff
	b.Initial = time.Millisecond
	return p.WithBackoff(b)
}

// Two fixtures on one shared server, with the same scenario, step their
// scripts independently, and every check reads the fixture's own calls.
func TestWithRemoteSessionsAreIsolated(t *testing.T) {
	srv := sharedServer(t)
	sc := fi.NewScenario("flaky").Route("POST /orders", fi.Status(503).Times(2), fi.Status(201)).MustBuild()
	ctx := apitest.Context(t)
	a := apitest.New(ctx, sc, apitest.WithRemote(srv.URL), apitest.WithPolicy(fastPolicy()))
	b := apitest.New(ctx, sc, apitest.WithRemote(srv.URL), apitest.WithPolicy(fastPolicy()))
	if a.Session() == "" || a.Session() == b.Session() {
		t.Fatalf("sessions %q and %q", a.Session(), b.Session())
	}
	if n := len(remoteSessions(t, srv)); n != 2 {
		t.Fatalf("%d sessions on the server, want 2", n)
	}
	post := func(fx *apitest.Fixture) {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", fx.URL("/orders"), strings.NewReader(`{"n":1}`))
		req.Header.Set("Idempotency-Key", "k-"+fx.Session())
		resp, err := fx.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("%s: status %d, want 201", fx.Session(), resp.StatusCode)
		}
	}
	post(a)
	post(b)
	for _, fx := range []*apitest.Fixture{a, b} {
		for name, err := range map[string]error{
			"attempts":  apitest.CheckAttempts(fx, 3),
			"calls":     apitest.CheckCalls(fx, "POST /orders", 3),
			"same body": apitest.CheckSentSameBody(fx),
			"same key":  apitest.CheckSentSameIdempotencyKey(fx),
			"journal":   apitest.CheckCalls(fx.Journal(), "POST /orders", 3),
		} {
			if err != nil {
				t.Errorf("%s %s: %v", fx.Session(), name, err)
			}
		}
		calls := fx.Journal().Calls()
		if len(calls) != 3 || calls[0].Seq != 1 || calls[2].Header.Get(fi.SessionHeader) != fx.Session() || calls[2].IdempotencyKey != "k-"+fx.Session() {
			t.Errorf("%s: journal\n%v", fx.Session(), fx.Journal())
		}
	}
	if !strings.Contains(a.GomegaString(), `server journal of "flaky": 3 calls`) {
		t.Errorf("timeline:\n%s", a.GomegaString())
	}
	a.Close()
	if n := len(remoteSessions(t, srv)); n != 1 {
		t.Errorf("%d sessions after one fixture closed, want 1", n)
	}
	if err := apitest.CheckCalls(a, "POST /orders", 3); err != nil {
		t.Errorf("a closed fixture's journal: %v", err)
	}
	b.Close()
	if n := len(remoteSessions(t, srv)); n != 0 {
		t.Errorf("%d sessions left, want 0", n)
	}
	if srv.Journal().Len() != 0 {
		t.Errorf("the server's own journal got calls:\n%v", srv.Journal())
	}
}

func TestWithRemoteMisuse(t *testing.T) {
	full := sharedServer(t, fi.WithSessions(1, time.Minute))
	ac, err := fi.NewAdminClient(full.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ac.CreateSession(context.Background(), "other", nil); err != nil {
		t.Fatal(err)
	}
	noAdmin := fi.NewServer(fi.NewScenario("plain").Route("GET /x", fi.Status(200)).MustBuild())
	defer noAdmin.Close()
	sc := fi.NewScenario("x").Route("GET /x", fi.Status(200)).MustBuild()
	for _, tc := range []struct {
		name string
		opts []apitest.Option
		want string
	}{
		{"with TCP", []apitest.Option{apitest.WithRemote(full.URL), apitest.WithTCP()}, "WithRemote cannot be combined with WithTCP or WithHTTPMock"},
		{"with server options", []apitest.Option{apitest.WithRemote(full.URL), apitest.WithServerOptions(fi.WithSecrets())}, "WithServerOptions cannot configure a remote server"},
		{"not a URL", []apitest.Option{apitest.WithRemote("localhost:8080")}, `apitest.New: WithRemote: faultinject: admin URL "localhost:8080": want http://HOST:PORT`},
		{"no admin API", []apitest.Option{apitest.WithRemote(noAdmin.URL)}, "404 Not Found"},
		{"session limit reached", []apitest.Option{apitest.WithRemote(full.URL)}, "429 Too Many Requests: faultinject: session limit reached: 1 sessions are open"},
	} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, tc.want) {
					t.Errorf("%s: panic %q, want %q", tc.name, msg, tc.want)
				}
			}()
			apitest.New(context.Background(), sc, tc.opts...)
		}()
	}
}

func TestWithRemoteFromEnv(t *testing.T) {
	t.Setenv(apitest.RemoteEnv, "")
	if apitest.WithRemoteFromEnv() != nil {
		t.Error("an option without RETRYLAB_SERVER")
	}
	srv := sharedServer(t)
	t.Setenv(apitest.RemoteEnv, srv.URL)
	fx := apitest.New(apitest.Context(t), fi.NewScenario("env").Route("GET /x", fi.Status(204)).MustBuild(), apitest.WithRemoteFromEnv(), apitest.WithLeakCheck())
	resp, err := fx.Get(context.Background(), "/x")
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if n := len(remoteSessions(t, srv)); n != 1 || fx.Session() == "" {
		t.Errorf("%d sessions, session %q", n, fx.Session())
	}
}

// A spec runs in a session of its own on a shared server (here one in this
// process, standing in for `retrylab serve`); the checks read that
// session's calls only.
func ExampleWithRemote() {
	shared := fi.NewServer(fi.NewScenario("idle").MustBuild(), fi.WithAdmin(false))
	defer shared.Close()

	s := fi.NewScenario("flaky").Route("GET /users/{id}", fi.Status(503), fi.Status(200)).MustBuild()
	p := retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(time.Millisecond))
	fx := apitest.New(context.Background(), s, apitest.WithRemote(shared.URL), apitest.WithPolicy(p))
	defer fx.Close()

	resp, err := fx.Get(context.Background(), "/users/1")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, apitest.CheckCalls(fx, "GET /users/{id}", 2))
	fmt.Println("the server's own journal:", shared.Journal().Len(), "calls")
	// Output:
	// 200 <nil>
	// the server's own journal: 0 calls
}
