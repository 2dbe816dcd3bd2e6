package faultinject

import (
	"bytes"
	"net/http"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
)

// TestConcurrentClients: 200 concurrent clients over TCP; the scripts step
// exactly once per request, whatever the interleaving.
func TestConcurrentClients(t *testing.T) {
	const clients, perClient = 200, 6
	s := mustBuild(t, NewScenario("crowd").
		Route("GET /a", Status(503).Times(150), Status(200)).
		Route("POST /b", Status(201), Status(202)).ThenLoop())
	srv := NewServer(s)
	defer srv.Close()
	c := srv.Client()
	var mu sync.Mutex
	seen := map[string]map[int]int{"GET /a": {}, "POST /b": {}}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for j := range perClient {
				var resp *http.Response
				var err error
				route := "GET /a"
				if (i+j)%2 == 0 {
					resp, err = c.Get(srv.URL + "/a")
				} else {
					route = "POST /b"
					resp, err = c.Post(srv.URL+"/b", "text/plain", bytes.NewReader([]byte("x")))
				}
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				seen[route][resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	const half = clients * perClient / 2
	j := srv.Journal()
	if j.Count("GET /a") != half || j.Count("POST /b") != half || j.Len() != 2*half {
		t.Errorf("counts = %v, want %d per route", j.Counts(), half)
	}
	if a := seen["GET /a"]; a[503] != 150 || a[200] != half-150 {
		t.Errorf("GET /a statuses = %v, want exactly 150 503s", a)
	}
	if b := seen["POST /b"]; b[201] != half/2 || b[202] != half/2 {
		t.Errorf("POST /b statuses = %v, want %d of each", b, half/2)
	}
	index := map[string]map[int]bool{}
	for i, call := range j.Calls() {
		if call.Seq != i+1 {
			t.Fatalf("call %d has Seq %d", i+1, call.Seq)
		}
		if index[call.Route] == nil {
			index[call.Route] = map[int]bool{}
		}
		if index[call.Route][call.Index] {
			t.Fatalf("index %d of %s used twice", call.Index, call.Route)
		}
		index[call.Route][call.Index] = true
		if call.Route == "GET /a" && (call.Index <= 150) != (call.Status == 503) {
			t.Fatalf("call %+v: the first 150 calls, and only they, get 503", call)
		}
	}
}

// TestHTTPMockConcurrentCountsAreExact: the httpmock front end steps its
// scripts under a lock (httpmock's own Times counters are not), so 200
// concurrent clients see exactly the scripted answers.
func TestHTTPMockConcurrentCountsAreExact(t *testing.T) {
	s := NewScenario("c").Route("GET /a", Status(503).Times(150), Status(200)).MustBuild()
	mt := httpmock.NewMockTransport()
	j := Register(mt, s)
	c := &http.Client{Transport: mt}
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			for range 3 {
				resp, err := c.Get("http://api.test/a")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				seen[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if seen[503] != 150 || seen[200] != 450 || j.Count("GET /a") != 600 {
		t.Errorf("answers %v, journal count %d; want 150×503, 450×200, 600", seen, j.Count("GET /a"))
	}
}
