package retryclient

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestAdaptiveLimiterServesWaitersInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewAdaptiveLimiter()
		l.Observe(time.Now(), true) // a throttle with nothing measured: 0.5 req/s, an empty bucket
		start := time.Now()
		var (
			mu     sync.Mutex
			passed = map[string]time.Duration{}
			wg     sync.WaitGroup
		)
		ctx2, cancel2 := context.WithCancel(t.Context())
		for i, name := range []string{"first", "second", "third"} {
			ctx := t.Context()
			if name == "second" {
				ctx = ctx2
			}
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond) // arrive in order
				if err := l.wait(ctx, nil); err != nil {
					return
				}
				mu.Lock()
				passed[name] = time.Since(start)
				mu.Unlock()
			})
		}
		time.AfterFunc(time.Second, cancel2) // the second gives up while waiting
		wg.Wait()
		want := map[string]time.Duration{"first": 2 * time.Second, "third": 4 * time.Second}
		if len(passed) != 2 || passed["first"] != want["first"] || passed["third"] != want["third"] {
			t.Errorf("requests passed at %v; want %v (one token every 2s, in order, the canceled one skipped)", passed, want)
		}
		if len(l.waiters) != 0 {
			t.Errorf("%d waiters left", len(l.waiters))
		}
	})
}
