package suites_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/retrylab/retrylab/suites"
)

// TestLeakingClientWithBackgroundContext: a client that never closes the
// responses it discards, checked inside synctest.Test with
// context.Background(), gets its rule violation (regression: the leaked
// connections stayed blocked and the bubble panicked with "deadlock: main
// bubble goroutine has exited but blocked goroutines remain", crashing the
// test binary).
func TestLeakingClientWithBackgroundContext(t *testing.T) {
	s := loopSubject(loop{leaksBodies: true})
	for _, rule := range suites.Rules() {
		if rule.Name != "closes the bodies of the responses it discards" {
			continue
		}
		synctest.Test(t, func(t *testing.T) {
			err := rule.Check(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), "responses were never closed") {
				t.Errorf("got %v, want the rule's violation", err)
			}
		})
	}
	failed := 0
	for seed := uint64(1); seed <= 20; seed++ {
		synctest.Test(t, func(t *testing.T) {
			if err := suites.CheckChaos(context.Background(), s, seed); err != nil && strings.Contains(err.Error(), "never closed") {
				failed++
			}
		})
	}
	if failed == 0 {
		t.Error("no chaos sequence of 20 caught the leak")
	}
}
