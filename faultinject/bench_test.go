package faultinject

import (
	"io"
	"net/http"
	"net/http/httptest"
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
