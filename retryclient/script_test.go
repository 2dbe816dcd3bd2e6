package retryclient

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	fi "github.com/retrylab/retrylab/faultinject"
)

// serveSteps starts a faultinject pipe server, in the synctest bubble of t
// and closed with it, whose one route "/" answers any method and path with
// steps in order, repeating the last. Its journal records what the server
// saw. Tests that need an answer faultinject cannot script use a script.
func serveSteps(t *testing.T, steps ...fi.StepBuilder) *fi.Server {
	t.Helper()
	srv := fi.NewPipeServer(fi.NewScenario(t.Name()).Route("/", steps...).MustBuild())
	t.Cleanup(srv.Close)
	return srv
}

// status answers with code and its status text as body, as respond does.
func status(code int) fi.StepBuilder { return fi.Status(code).Body(http.StatusText(code)) }

// step answers one request of a script.
type step func(w http.ResponseWriter, r *http.Request)

// respond answers with status and its status text as body.
func respond(status int) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}
}

// script is a handler for custom answers (see serveSteps): it serves its
// steps in order, repeating the last, and records calls as a faultinject
// journal would.
type script struct {
	mu    sync.Mutex
	steps []step
	calls []fi.Call
}

func newScript(steps ...step) *script { return &script{steps: steps} }

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	s.mu.Lock()
	n := len(s.calls)
	c := fi.Call{
		Seq: n + 1, Start: time.Now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(),
		IdempotencyKey: r.Header.Get(IdempotencyKeyHeader), BodyLen: int64(len(body)), BodySHA256: hex.EncodeToString(sum[:]),
	}
	c.Attempt, _ = strconv.Atoi(r.Header.Get(DefaultAttemptHeader))
	s.calls = append(s.calls, c)
	st := s.steps[min(n, len(s.steps)-1)]
	s.mu.Unlock()
	st(w, r)
}

func (s *script) Calls() []fi.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fi.Call(nil), s.calls...)
}

// gaps returns the time between the starts of consecutive calls.
func gaps(calls []fi.Call) []time.Duration {
	var g []time.Duration
	for i := 1; i < len(calls); i++ {
		g = append(g, calls[i].Start.Sub(calls[i-1].Start))
	}
	return g
}

// collector gathers Attempt records from WithObserver.
type collector struct {
	mu sync.Mutex
	tl Timeline
}

func (c *collector) observe(a Attempt) {
	c.mu.Lock()
	c.tl = append(c.tl, a)
	c.mu.Unlock()
}

func (c *collector) Timeline() Timeline {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(Timeline(nil), c.tl...)
}
