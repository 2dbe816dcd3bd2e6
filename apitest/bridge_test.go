package apitest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// TestVirtualTimeReportsFailures runs testdata/bridge, a suite whose specs
// fail on purpose inside VirtualTime bubbles, and checks that each failure
// becomes a readable spec failure rather than a crash of the process.
func TestVirtualTimeReportsFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate test binary")
	}
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command("go", "test", "-count=1", "-v", "./testdata/bridge", "-args", "-ginkgo.no-color", "-ginkgo.json-report="+report)
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err == nil {
		t.Fatalf("the bridge suite passed, but ten of its specs fail on purpose:\n%s", text)
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
		regexp.MustCompile(`Ran 11 of 11 Specs.*\n.*FAIL! -- 1 Passed \| 10 Failed`),
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

	// A failed spec carries the attempt timeline as a report entry, so it
	// reaches JSON and JUnit reports.
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var suites []types.Report
	if err := json.Unmarshal(data, &suites); err != nil || len(suites) != 1 {
		t.Fatalf("JSON report: %v (%d suites)", err, len(suites))
	}
	found := false
	for _, spec := range suites[0].SpecReports {
		if spec.LeafNodeText != "fails with a fixture" {
			continue
		}
		for _, e := range spec.ReportEntries {
			if e.Name == "retrylab timeline" && strings.Contains(e.StringRepresentation(), "GET /x → 200 · done (success)") {
				found = true
			}
		}
		if !spec.Failed() {
			t.Error("the spec with a fixture did not fail")
		}
	}
	if !found {
		t.Error(`no "retrylab timeline" report entry with the attempts on the failed spec`)
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
