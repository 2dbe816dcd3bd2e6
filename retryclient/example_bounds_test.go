package retryclient_test

import (
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// Bounds is what a checker of observed waits asks: here cenkalti/backoff's
// defaults (500ms ×1.5, randomization factor 0.5) and retry-go's (100ms
// doubling, plus up to 100ms of additive jitter).
func ExampleBackoff_Bounds() {
	cenkalti := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 500 * time.Millisecond, Multiplier: 1.5,
		Max: time.Minute, Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5}
	retryGo := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * time.Millisecond, Multiplier: 2,
		Jitter: retryclient.JitterAdditive, MaxJitter: 100 * time.Millisecond}
	for n := 1; n <= 3; n++ {
		clo, chi := cenkalti.Bounds(n, 0)
		rlo, rhi := retryGo.Bounds(n, 0)
		fmt.Printf("wait %d: cenkalti [%v, %v], retry-go [%v, %v]\n", n, clo, chi, rlo, rhi)
	}
	// Output:
	// wait 1: cenkalti [250ms, 750ms], retry-go [100ms, 200ms]
	// wait 2: cenkalti [375ms, 1.125s], retry-go [200ms, 300ms]
	// wait 3: cenkalti [562.5ms, 1.6875s], retry-go [400ms, 500ms]
}
