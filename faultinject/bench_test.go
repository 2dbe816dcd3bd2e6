package faultinject

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkServer compares a TCP fault server (script stepping and
// journaling every call) with a bare net/http handler sending the same
// response, over the same kind of client, in the same run. Compare the req/s
// metrics of the two sub-benchmarks.
func BenchmarkServer(b *testing.B) {
	body := []byte(`{"id":1}`)
	run := func(b *testing.B, url string, rt http.RoundTripper) {
		c := &http.Client{Transport: rt}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := c.Get(url + "/users/1")
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("bare", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}))
		defer srv.Close()
		rt := &http.Transport{MaxIdleConnsPerHost: 64}
		defer rt.CloseIdleConnections()
		run(b, srv.URL, rt)
	})
	b.Run("faultinject", func(b *testing.B) {
		srv := NewServer(NewScenario("bench").
			Route("GET /users/{id}", Status(200).Header("Content-Type", "application/json").Body(string(body))).
			MustBuild())
		defer srv.Close()
		run(b, srv.URL, srv.Transport())
		if srv.Journal().Len() < b.N {
			b.Fatalf("journal has %d calls, want %d", srv.Journal().Len(), b.N)
		}
	})
}

// BenchmarkDispatch compares what the engine spends on a matched request
// with an unmatched one, whose answer names the nearest route: with a short
// path and with a 100 KB one (which once took 28.6 s under the engine's
// lock); net/http's ServeMux spends time linear in the path on both kinds.
func BenchmarkDispatch(b *testing.B) {
	sc := NewScenario("bench").
		Route("GET /users/{id}", Status(200)).
		Route("DELETE /users/{id}", Status(204)).
		Route("POST /orders", Status(201)).
		MustBuild()
	big := NewScenario("big")
	for i := range MaxRoutes {
		big.Route(fmt.Sprintf("GET /r%d/{id}", i), Status(200))
	}
	bigSc := big.MustBuild()
	for _, tc := range []struct{ name, method, path string }{
		{"matched", "GET", "/users/9"},
		{"unmatched", "DELETE", "/userz/9"},
		{"matched-100KB", "GET", "/users/" + strings.Repeat("x", 100<<10)},
		{"unmatched-100KB", "DELETE", "/users/9/" + strings.Repeat("x", 100<<10)},
		{"matched-10k-routes", "GET", "/r9999/1"},
		{"unmatched-10k-routes", "GET", "/r99999/1"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(sc, AttemptHeader)
			if strings.HasSuffix(tc.name, "-10k-routes") {
				e = newEngine(bigSc, AttemptHeader)
			}
			req := httptest.NewRequest(tc.method, "http://x"+tc.path, nil)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%10000 == 0 {
					e.reset()
				}
				e.dispatch(req, meta{}).call.end()
			}
		})
	}
}
