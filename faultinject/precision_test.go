package faultinject_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/rules"
	"github.com/retrylab/retrylab/retryclient"
)

// BenchmarkRealTimeWaitOvershoot measures real-time precision on TCP
// loopback: how much longer than the client scheduled a wait between two
// attempts looks in the server's journal (from the end of one call to the
// start of the next, as the apitest matchers observe it when they have only
// the journal). Each op is one wait of 10ms; it reports the overshoot's
// median, 99th percentile and maximum, idle and with 4 goroutines loading
// the same server. Run it with enough waits for a p99:
//
//	go test -run '^$' -bench RealTimeWaitOvershoot -benchtime 500x ./faultinject
func BenchmarkRealTimeWaitOvershoot(b *testing.B) {
	const scheduled = 10 * time.Millisecond
	for _, load := range []int{0, 4} {
		b.Run(fmt.Sprintf("load=%d", load), func(b *testing.B) {
			s := faultinject.NewScenario("precision").
				Route("GET /wait", faultinject.Status(503)).
				Route("GET /load", faultinject.Status(200)).
				MustBuild()
			srv := faultinject.NewServer(s) // no journal limit: the load must not push the waits out
			defer srv.Close()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range load {
				wg.Go(func() {
					c := &http.Client{Transport: &http.Transport{}}
					for {
						select {
						case <-stop:
							return
						default:
						}
						if resp, err := c.Get(srv.URL + "/load"); err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}
				})
			}
			defer func() { close(stop); wg.Wait() }()

			var mu sync.Mutex
			var delays []time.Duration // scheduled, in order
			const perRequest = 10
			client := &http.Client{Transport: retryclient.New(&http.Transport{},
				retryclient.DefaultPolicy().WithMaxAttempts(perRequest+1).WithBackoff(retryclient.ConstantBackoff(scheduled)),
				retryclient.WithAttemptHeader(faultinject.AttemptHeader),
				retryclient.WithObserver(func(a retryclient.Attempt) {
					if a.Retry {
						mu.Lock()
						delays = append(delays, a.Delay)
						mu.Unlock()
					}
				}))}
			b.ResetTimer()
			for done := 0; done < b.N; done += perRequest {
				resp, err := client.Get(srv.URL + "/wait")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.StopTimer()
			var calls []faultinject.Call
			for _, c := range srv.Journal().Calls() {
				if c.Path == "/wait" {
					calls = append(calls, c)
				}
			}
			observed, _ := rules.Waits(calls)
			if len(observed) != len(delays) {
				b.Fatalf("%d observed waits, %d scheduled", len(observed), len(delays))
			}
			over := make([]time.Duration, len(observed))
			for i := range observed {
				over[i] = observed[i] - delays[i]
			}
			slices.Sort(over)
			pct := func(p float64) float64 {
				return float64(over[min(len(over)-1, int(p*float64(len(over))))].Microseconds())
			}
			b.ReportMetric(pct(0.5), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
			b.ReportMetric(float64(over[len(over)-1].Microseconds()), "max-µs")
			b.ReportMetric(float64(over[0].Microseconds()), "min-µs")
		})
	}
}
