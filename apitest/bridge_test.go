package apitest_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestVirtualTimeReportsFailures runs testdata/bridge, a suite whose specs
// fail on purpose inside VirtualTime bubbles, and checks that each failure
// becomes a readable spec failure rather than a crash of the process.
func TestVirtualTimeReportsFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate test binary")
	}
	cmd := exec.Command("go", "test", "-count=1", "-v", "./testdata/bridge", "-args", "-ginkgo.no-color")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err == nil {
		t.Fatalf("the bridge suite passed, but nine of its specs fail on purpose:\n%s", text)
	}
	for _, want := range []*regexp.Regexp{
		// A failed Expect fails its spec with Gomega's message.
		regexp.MustCompile(`\[FAILED\] one is not two`),
		// A deadlock names the blocked goroutine and where it is blocked.
		regexp.MustCompile(`(?s)\[FAILED\] apitest.VirtualTime: the spec's bubble failed: deadlock: all goroutines in bubble are blocked.*Blocked goroutines:.*bridge_test.go:\d+`),
		// A failure through the bubble's *testing.T fails the spec.
		regexp.MustCompile(`\[FAILED\] apitest.VirtualTime: the spec's bubble failed its \*testing.T`),
		// A panic is reported as a panicked spec.
		regexp.MustCompile(`(?s)\[PANICKED\].*boom inside the bubble`),
		// Misuse of a Fixture across nodes or bubbles is named.
		regexp.MustCompile(`\[FAILED\] apitest: Client called inside an apitest.VirtualTime node on a Fixture created outside its bubble`),
		regexp.MustCompile(`\[FAILED\] apitest: URL called on a Fixture that was already closed: its node has ended`),
		regexp.MustCompile(`\[FAILED\] apitest.New: called inside an apitest.VirtualTime node with a context that is not the node's`),
		regexp.MustCompile(`\[FAILED\] apitest.New: WithTCP cannot be used inside an apitest.VirtualTime node`),
		// A failed Expect in a cleanup fails the spec, inside the bubble.
		regexp.MustCompile(`\[FAILED\] a failing cleanup`),
		// The suite kept running after all of them.
		regexp.MustCompile(`Ran 10 of 10 Specs.*\n.*FAIL! -- 1 Passed \| 9 Failed`),
	} {
		if !want.MatchString(text) {
			t.Errorf("bridge suite output does not match %q", want)
		}
	}
	if strings.Contains(text, "fatal error") || strings.Contains(text, "panic: ") && !strings.Contains(text, "boom") {
		t.Errorf("the bridge suite crashed instead of failing specs:\n%s", text)
	}
	if t.Failed() {
		t.Logf("bridge suite output:\n%s", text)
	}
}

// TestVirtualTimeRefusesToRunWhenRunExcludesIt: a spec whose subtest -run
// excludes fails instead of silently running in real time.
func TestVirtualTimeRefusesToRunWhenRunExcludesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate test binary")
	}
	out, err := exec.Command("go", "test", "-count=1", "-run", "TestBridge/nomatch", "./testdata/bridge",
		"-args", "-ginkgo.no-color", "-ginkgo.focus", "passes").CombinedOutput()
	if err == nil {
		t.Fatalf("the excluded spec passed:\n%s", out)
	}
	if !strings.Contains(string(out), "apitest.VirtualTime: the spec's subtest \"TestBridge/failures passes\" did not run") {
		t.Errorf("no explanation in the output:\n%s", out)
	}
}
