package suites_test

import (
	"testing"
	"testing/synctest"

	"github.com/retrylab/retrylab/suites"
)

var _ = suites.RetryChaos("retryclient default policy", retryclientSubject)

// chaosFailures runs n sequences against s and returns the seeds that
// broke an invariant.
func chaosFailures(t *testing.T, s suites.Subject, n int) []uint64 {
	var failed []uint64
	for seed := uint64(1); seed <= uint64(n); seed++ {
		synctest.Test(t, func(t *testing.T) {
			if err := suites.CheckChaos(t.Context(), s, seed); err != nil {
				failed = append(failed, seed)
				if len(failed) == 1 {
					t.Logf("first failure: %v", err)
				}
			}
		})
	}
	return failed
}

func TestChaosPassesCorrectClients(t *testing.T) {
	for name, s := range map[string]suites.Subject{
		"retryclient":       retryclientSubject(),
		"hand-written loop": loopSubject(loop{}),
	} {
		if failed := chaosFailures(t, s, 200); len(failed) > 0 {
			t.Errorf("%s: %d of 200 sequences failed, seeds %v", name, len(failed), failed)
		}
	}
}

func TestChaosCatchesBrokenClients(t *testing.T) {
	for name, l := range map[string]loop{
		"retries 400":          {retries400: true},
		"one attempt too many": {oneTooMany: true},
		"no backoff":           {noBackoff: true},
		"loses the body":       {losesBody: true},
		"drops the key":        {dropsKey: true},
		"retries unkeyed POST": {retriesUnkeyed: true},
		"ignores Retry-After":  {ignoresRetry: true},
		"leaks bodies":         {leaksBodies: true},
	} {
		if failed := chaosFailures(t, loopSubject(l), 200); len(failed) == 0 {
			t.Errorf("%s: no sequence of 200 caught it", name)
		}
	}
}
