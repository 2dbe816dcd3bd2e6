package retryclient

import (
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// call is what the test server saw of one request.
type call struct {
	At       time.Time
	Method   string
	Path     string
	Key      string
	Attempt  string
	BodySum  [32]byte
	BodyLen  int
	Header   http.Header
	Canceled bool
}

// step answers one request.
type step func(w http.ResponseWriter, r *http.Request)

func respond(status int, headers ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}
}

// hang blocks until the client goes away or the server closes.
func hang() step {
	return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
}

// reset closes the connection without a response.
func reset() step {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	}
}

// script serves its steps in order, repeating the last, and records calls.
type script struct {
	mu    sync.Mutex
	steps []step
	calls []call
}

func newScript(steps ...step) *script { return &script{steps: steps} }

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, call{
		At: time.Now(), Method: r.Method, Path: r.URL.Path,
		Key: r.Header.Get(IdempotencyKeyHeader), Attempt: r.Header.Get(DefaultAttemptHeader),
		BodySum: sha256.Sum256(body), BodyLen: len(body), Header: r.Header.Clone(),
	})
	st := s.steps[min(n, len(s.steps)-1)]
	s.mu.Unlock()
	st(w, r)
}

func (s *script) Calls() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// gaps returns the time between consecutive calls.
func gaps(calls []call) []time.Duration {
	var g []time.Duration
	for i := 1; i < len(calls); i++ {
		g = append(g, calls[i].At.Sub(calls[i-1].At))
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

func itoa(n int) string { return strconv.Itoa(n) }
