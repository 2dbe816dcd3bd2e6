package bubbles_test

import (
	"testing"
	"time"

	"github.com/retrylab/retrylab/internal/bubbles"
)

func TestRunRunsTheFunctionInABubble(t *testing.T) {
	var slept time.Duration
	var runs int
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			bubbles.Run(b, func(t *testing.T) {
				runs++
				start := time.Now()
				time.Sleep(time.Hour)
				slept = time.Since(start)
			})
		}
	})
	if res.N == 0 || runs == 0 {
		t.Fatalf("the benchmark ran %d iterations and f %d times; want both above 0", res.N, runs)
	}
	if slept != time.Hour {
		t.Errorf("an hour's sleep measured %v; want exactly an hour of virtual time", slept)
	}
	if res.T > time.Minute {
		t.Errorf("%d hour-long sleeps took %v of wall time; want virtual time", res.N, res.T)
	}
}
