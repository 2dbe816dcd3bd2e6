// Package bubbles runs testing/synctest bubbles from benchmarks, so that
// the wall time of virtual-time scenarios is measured by benchmarks rather
// than asserted in tests.
package bubbles

import (
	"testing"
	"testing/synctest"
)

// Run runs f in a synctest bubble on behalf of benchmark b. synctest.Test
// needs a *testing.T, which a benchmark does not have, so f runs as a
// one-test run of the testing package (its output appears only on
// failure); a failure of f fails b.
func Run(b *testing.B, f func(t *testing.T)) {
	b.Helper()
	tests := []testing.InternalTest{{Name: b.Name(), F: func(t *testing.T) { synctest.Test(t, f) }}}
	if !testing.RunTests(func(string, string) (bool, error) { return true, nil }, tests) {
		b.Fatalf("%s: the scenario failed in its bubble", b.Name())
	}
}
