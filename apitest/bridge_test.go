package apitest_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// TestVirtualTimeReportsFailures runs testdata/bridge, a suite whose specs
// fail on purpose inside VirtualTime bubbles, and checks that each failure
// becomes a readable spec failure rather than a crash of the process.
func TestVirtualTimeReportsFailures(t *testing.T) {
	skipUnlessPlainGoTest(t)
	run := bridgeRun(t)
	text := run.output
	if run.err == nil {
		t.Fatalf("the bridge suite passed, but eleven of its specs fail on purpose:\n%s", text)
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
		regexp.MustCompile(`Ran 12 of 13 Specs.*\n.*FAIL! -- 1 Passed \| 11 Failed \| 0 Pending \| 1 Skipped`),
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
	found := false
	for _, spec := range run.report.SpecReports {
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

// skipUnlessPlainGoTest skips tests that build and run other test binaries
// under -short, and in the processes of ginkgo -p, which would each run them
// again (go test runs them once).
func skipUnlessPlainGoTest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs separate test binaries")
	}
	if f := flag.Lookup("ginkgo.parallel.total"); f != nil && f.Value.String() != "1" {
		t.Skip("builds and runs separate test binaries: once, under go test, is enough")
	}
}

// testdataTag is the build tag of the suites under testdata, which fail on
// purpose and must not run under go test ./... or ginkgo -r.
const testdataTag = "retrylab_testdata"

// goTestRun is the outcome of a go test -json run of a test binary.
type goTestRun struct {
	output  string            // the text the tests printed
	actions map[string]string // each test's (and subtest's) last action: pass, fail or skip
	passes  map[string]int    // how many times each test passed
	report  types.Report      // Ginkgo's JSON report, when one was asked for
	err     error
}

// goTestJSON runs go test -json with args (a package, flags, then -args and
// the test binary's flags) and collects what it reports; with a report path
// it reads Ginkgo's JSON report from there.
func goTestJSON(t *testing.T, report string, args ...string) goTestRun {
	t.Helper()
	out, err := exec.Command("go", append([]string{"test", "-json"}, args...)...).Output()
	run := goTestRun{actions: map[string]string{}, passes: map[string]int{}, err: err}
	var text strings.Builder
	for line := range strings.Lines(string(out)) {
		var e struct{ Action, Test, Output string }
		if json.Unmarshal([]byte(line), &e) != nil {
			text.WriteString(line)
			continue
		}
		text.WriteString(e.Output)
		switch e.Action {
		case "pass", "fail", "skip":
			if e.Test != "" {
				run.actions[e.Test] = e.Action
			}
			if e.Action == "pass" {
				run.passes[e.Test]++
			}
		}
	}
	if ee, ok := err.(*exec.ExitError); ok {
		text.Write(ee.Stderr)
	}
	run.output = text.String()
	if report != "" {
		data, rerr := os.ReadFile(report)
		if rerr != nil {
			t.Fatalf("no Ginkgo report: %v\n%s", rerr, run.output)
		}
		var suites []types.Report
		if err := json.Unmarshal(data, &suites); err != nil || len(suites) != 1 {
			t.Fatalf("Ginkgo's JSON report: %v (%d suites)", err, len(suites))
		}
		run.report = suites[0]
	}
	return run
}

var (
	bridgeOnce sync.Once
	bridge     goTestRun
)

// bridgeRun runs the whole bridge suite once per test binary.
func bridgeRun(t *testing.T) goTestRun {
	t.Helper()
	bridgeOnce.Do(func() {
		report := filepath.Join(os.TempDir(), fmt.Sprintf("retrylab-bridge-%d.json", os.Getpid()))
		defer os.Remove(report)
		bridge = goTestJSON(t, report, "-count=1", "-tags", testdataTag, "./testdata/bridge",
			"-args", "-ginkgo.no-color", "-ginkgo.json-report="+report)
	})
	return bridge
}

// TestSubtestOfAFailedSpecFails: under go test -json and -v, the subtest of a
// VirtualTime spec used to pass whatever the spec did; it passes, fails or is
// skipped as its spec was, one subtest per spec.
func TestSubtestOfAFailedSpecFails(t *testing.T) {
	skipUnlessPlainGoTest(t)
	run := bridgeRun(t)
	for test, want := range map[string]string{
		"TestBridge/failures_expect-fails": "fail",
		"TestBridge/failures_deadlocks":    "fail",
		"TestBridge/failures_panics":       "fail",
		"TestBridge/failures_passes":       "pass",
		"TestBridge/outcomes_skips":        "skip",
		// The bubble passed, a real-time node of the same spec failed.
		"TestBridge/outcomes_fails_after_its_bubble": "fail",
		// Two VirtualTime nodes (BeforeEach and It), one spec, one subtest.
		"TestBridge/misuse_a_Fixture_made_in_a_VirtualTime_BeforeEach_used_in_another_bubble": "fail",
	} {
		if got := run.actions[test]; got != want {
			t.Errorf("go test -json reported %s as %q, want %q", test, got, want)
		}
	}
	if _, ok := run.actions["TestBridge/misuse_a_Fixture_made_in_a_VirtualTime_BeforeEach_used_in_another_bubble#01"]; ok {
		t.Error("a spec with two VirtualTime nodes ran as two subtests")
	}
	if !strings.Contains(run.output, "the spec was skipped at") || !strings.Contains(run.output, "skipped on purpose") {
		t.Error("the skipped subtest does not say why")
	}
	if t.Failed() {
		t.Logf("go test -json actions: %v", run.actions)
	}
}

// TestGoTestRunSkipsTheSpecsItExcludes: running one spec the way an IDE does
// (go test -run 'TestX/sub') used to fail every other VirtualTime spec; they
// are skipped, with the reason in the report.
func TestGoTestRunSkipsTheSpecsItExcludes(t *testing.T) {
	skipUnlessPlainGoTest(t)
	report := filepath.Join(t.TempDir(), "report.json")
	run := goTestJSON(t, report, "-count=1", "-tags", testdataTag, "-run", "^TestBridge$/^failures_passes$", "./testdata/bridge",
		"-args", "-ginkgo.no-color", "-ginkgo.json-report="+report)
	if run.err != nil {
		t.Fatalf("running one passing spec with -run failed: %v\n%s", run.err, run.output)
	}
	if run.actions["TestBridge/failures_passes"] != "pass" || len(run.actions) != 2 {
		t.Errorf("want only TestBridge and its selected subtest to run, got %v", run.actions)
	}
	passed, skipped := 0, 0
	for _, spec := range run.report.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			continue
		}
		switch spec.State {
		case types.SpecStatePassed:
			passed++
		case types.SpecStateSkipped:
			skipped++
			if !strings.Contains(spec.Failure.Message, "go test's -run or -skip excludes this spec's subtest") {
				t.Errorf("spec %q skipped without the reason: %q", spec.FullText(), spec.Failure.Message)
			}
		default:
			t.Errorf("spec %q is %s, want skipped", spec.FullText(), spec.State)
		}
	}
	if passed != 1 || skipped != 12 {
		t.Errorf("%d passed and %d skipped, want 1 and 12", passed, skipped)
	}
}

// TestGoTestRunStillRunsAVirtualTimeBeforeSuite: a BeforeSuite has no spec
// to be skipped with; when -run excludes its subtest it runs all the same, in
// a bubble of the suite's *testing.T, so the selected spec has its setup.
func TestGoTestRunStillRunsAVirtualTimeBeforeSuite(t *testing.T) {
	skipUnlessPlainGoTest(t)
	run := goTestJSON(t, "", "-count=1", "-tags", testdataTag, "-run", "^TestRepeat$/^repeated_runs_in_virtual_time$", "./testdata/repeat",
		"-args", "-ginkgo.no-color")
	if run.err != nil || run.actions["TestRepeat/repeated_runs_in_virtual_time"] != "pass" {
		t.Fatalf("the selected spec did not pass (%v, %v):\n%s", run.err, run.actions, run.output)
	}
	if _, ok := run.actions["TestRepeat/BeforeSuite"]; ok {
		t.Errorf("the BeforeSuite ran as a subtest -run excludes: %v", run.actions)
	}
}

// TestReportEntriesUseTheWallClockAndTheSpecsLocation: the timeline report
// entry of a VirtualTime spec used to be stamped with the fake clock
// (2000-01-01) and located in apitest/fixture.go.
func TestReportEntriesUseTheWallClockAndTheSpecsLocation(t *testing.T) {
	skipUnlessPlainGoTest(t)
	start := time.Now()
	run := bridgeRun(t)
	src, err := os.ReadFile("testdata/bridge/bridge_test.go")
	if err != nil {
		t.Fatal(err)
	}
	newLine := 0
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, `apitest.New(ctx, fi.NewScenario("reported")`) {
			newLine = i + 1
		}
	}
	entries := 0
	for _, spec := range run.report.SpecReports {
		for _, e := range spec.ReportEntries {
			// Fixtures made in real time too point at their apitest.New.
			if e.Name == "retrylab timeline" && filepath.Base(e.Location.FileName) != "bridge_test.go" {
				t.Errorf("spec %q: the entry is located at %s, not in the spec's file", spec.FullText(), e.Location)
			}
		}
		if spec.LeafNodeText != "fails with a fixture" {
			continue
		}
		for _, e := range spec.ReportEntries {
			if e.Name != "retrylab timeline" {
				continue
			}
			entries++
			if filepath.Base(e.Location.FileName) != "bridge_test.go" || e.Location.LineNumber != newLine {
				t.Errorf("the entry is located at %s, want the apitest.New call at bridge_test.go:%d", e.Location, newLine)
			}
			// The bubble's fake clock reads 2000-01-01; the wall clock
			// is when this test ran (a day's margin for clock steps).
			if e.Time.Before(start.Add(-24*time.Hour)) || e.Time.After(time.Now().Add(24*time.Hour)) {
				t.Errorf("the entry is stamped %s, not with the wall clock", e.Time)
			}
			if !strings.Contains(e.StringRepresentation(), "(offsets are virtual time; this entry was added at +") {
				t.Errorf("the entry does not say its offsets are virtual time:\n%s", e.StringRepresentation())
			}
		}
	}
	if entries == 0 {
		t.Fatal("no retrylab timeline entry in the report")
	}
}

// TestGoTestCountRepeatsTheSuite: go test -count=N used to exit at once in a
// Ginkgo package ("Ginkgo does not support go test -count"); it runs the
// suite N times, each spec again, each time with its subtest.
func TestGoTestCountRepeatsTheSuite(t *testing.T) {
	skipUnlessPlainGoTest(t)
	run := goTestJSON(t, "", "-count=3", "-tags", testdataTag, "./testdata/repeat", "-args", "-ginkgo.no-color")
	if run.err != nil {
		t.Fatalf("go test -count=3: %v\n%s", run.err, run.output)
	}
	if n := run.passes["TestRepeat"]; n != 3 {
		t.Errorf("TestRepeat passed %d times, want 3", n)
	}
	if n := run.passes["TestRepeat/repeated_runs_in_virtual_time"]; n != 3 {
		t.Errorf("the VirtualTime spec's subtest passed %d times, want 3", n)
	}
	if n := run.passes["TestRepeat/BeforeSuite"]; n != 3 {
		t.Errorf("the VirtualTime BeforeSuite's subtest passed %d times, want 3", n)
	}
	if n := strings.Count(run.output, "Ran 2 of 2 Specs"); n != 3 {
		t.Errorf("the suite ran its 2 specs %d times, want 3:\n%s", n, run.output)
	}
	// Like ginkgo --repeat, each repetition gets its own seed.
	seeds := map[string]bool{}
	for _, m := range regexp.MustCompile(`Random Seed: (\d+)`).FindAllStringSubmatch(run.output, -1) {
		seeds[m[1]] = true
	}
	if len(seeds) != 3 {
		t.Errorf("the 3 runs used %d distinct random seeds, want 3: %v", len(seeds), seeds)
	}
}

// TestGoTestCountNamesTopLevelNodesThatGinkgoDrops: Ginkgo runs a suite again
// from its containers only, so a BeforeEach outside any container runs in
// the first repetition only; RunSpecs fails the repetition and names it
// instead of letting it pass without its setup.
func TestGoTestCountNamesTopLevelNodesThatGinkgoDrops(t *testing.T) {
	skipUnlessPlainGoTest(t)
	run := goTestJSON(t, "", "-count=2", "-tags", testdataTag+",retrylab_toplevel", "./testdata/repeat", "-args", "-ginkgo.no-color")
	if run.err == nil {
		t.Fatalf("the second run without its top-level BeforeEach passed:\n%s", run.output)
	}
	want := regexp.MustCompile(`apitest.RunSpecs: this repetition of the suite \(go test -count\) did not run the node at \S+toplevel_test.go:9, which the first run ran: .* move it into a container`)
	if !want.MatchString(run.output) {
		t.Errorf("the output does not name the dropped node:\n%s", run.output)
	}
	if run.passes["TestRepeat"] != 1 {
		t.Errorf("want the first run to pass and the second to fail, got %d passes", run.passes["TestRepeat"])
	}
}

// TestGinkgoRecursiveSkipsTestdataSuites: ginkgo -r (which, unlike go test
// ./..., descends into testdata) used to run the suites that fail on purpose.
// Every package under a testdata directory of the module must compile to
// no tests without their build tag.
func TestGinkgoRecursiveSkipsTestdataSuites(t *testing.T) {
	skipUnlessPlainGoTest(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			rel, _ := filepath.Rel(root, path)
			dirs = append(dirs, "./"+rel)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(dirs, "./apitest/testdata") || !slices.Contains(dirs, "./suites/testdata") {
		t.Fatalf("testdata directories found: %v", dirs)
	}
	cmd := exec.Command("go", append([]string{"run", "github.com/onsi/ginkgo/v2/ginkgo@v2.34.0", "-r", "--no-color"}, dirs...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "Ran ") || strings.Contains(string(out), "=== RUN") {
		t.Errorf("ginkgo -r ran tests under testdata (%v):\n%s", err, out)
	}
	for _, suite := range []string{"apitest/testdata/bridge", "apitest/testdata/repeat", "suites/testdata/chaosreplay"} {
		if !strings.Contains(string(out), "Skipping ./"+suite+" (no test files)") {
			t.Errorf("ginkgo -r did not skip %s:\n%s", suite, out)
		}
	}
}
