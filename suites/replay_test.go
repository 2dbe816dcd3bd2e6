package suites_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestChaosFailurePrintsAReplayThatWorks runs testdata/chaosreplay, whose
// client retries a 400, takes the replay command from a failing sequence,
// and runs it: exactly that sequence runs again.
func TestChaosFailurePrintsAReplayThatWorks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate test binary")
	}
	out, err := exec.Command("go", "test", "-count=1", "-tags", "retrylab_testdata", "./testdata/chaosreplay", "-args", "-ginkgo.no-color").CombinedOutput()
	if err == nil {
		t.Fatalf("a client that retries 400 passed 30 chaos sequences:\n%s", out)
	}
	re := regexp.MustCompile(`replay this sequence alone with:\n\s+RETRYLAB_CHAOS_SEED=(\d+) go test \. -ginkgo\.focus "([^"]+)"`)
	m := re.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no replay line in the output:\n%s", out)
	}
	seed, focus := m[1], strings.ReplaceAll(m[2], `\\`, `\`)
	if !strings.Contains(focus, `\(v2\)`) {
		t.Errorf("the focus %q does not quote the suite name's regexp characters", focus)
	}

	cmd := exec.Command("go", "test", "-count=1", "-tags", "retrylab_testdata", ".", "-args", "-ginkgo.no-color", "-ginkgo.focus", focus)
	cmd.Dir = "testdata/chaosreplay"
	cmd.Env = append(os.Environ(), "RETRYLAB_CHAOS_SEED="+seed)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Ran 1 of 1 Specs") || !strings.Contains(string(out), "sequence "+seed) {
		t.Errorf("the replay did not run exactly the failing sequence %s:\n%s", seed, out)
	}

	cmd = exec.Command("go", "test", "-count=1", "-tags", "retrylab_testdata", ".", "-args", "-ginkgo.no-color")
	cmd.Dir = "testdata/chaosreplay"
	cmd.Env = append(os.Environ(), "RETRYLAB_CHAOS_SEED=abc")
	out, _ = cmd.CombinedOutput()
	if !strings.Contains(string(out), `suites.RetryChaos: RETRYLAB_CHAOS_SEED="abc" is not a seed (a whole number)`) {
		t.Errorf("a bad seed was not reported:\n%s", out)
	}
}
