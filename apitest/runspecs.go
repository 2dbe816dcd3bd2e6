package apitest

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	_ "unsafe" // for go:linkname

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// suiteT is the *testing.T of the Ginkgo suite running in this process.
// Ginkgo runs one suite per process (parallel specs run in separate
// processes), so one slot per process is enough and never shared.
var suiteT atomic.Pointer[testing.T]

// runs records what each run of the suite in this process ran, to catch what
// Ginkgo drops when go test -count runs it again (see RunSpecs).
var runs struct {
	sync.Mutex
	first, current map[string]ranSpec // by spec (full text and location)
	n              int                // runs started
	seed           int64              // the random seed of the first run
}

// ranSpec is what one spec ran in one run of the suite.
type ranSpec struct {
	passed bool
	nodes  []string // locations of the spec's It and setup nodes that ran
}

// ginkgoSuiteDidRun is Ginkgo's record that RunSpecs has run the suite in this
// process. Ginkgo refuses to run a suite twice ("Ginkgo does not support
// rerunning suites") although RunSpecs restores the suite's tree when it
// returns, ready to run again; its only public reset
// (extensions/globals.Reset) would also drop every registered spec. Clearing
// this flag is what lets go test -count=N run the suite N times.
//
//go:linkname ginkgoSuiteDidRun github.com/onsi/ginkgo/v2/internal/global.SuiteDidRun
var ginkgoSuiteDidRun bool

// RunSpecs records the suite's *testing.T, registers Ginkgo's Fail as
// Gomega's fail handler, and runs the suite with [ginkgo.RunSpecs].
//
// [VirtualTime] needs the recorded *testing.T: testing/synctest bubbles are
// tied to a concrete *testing.T, which GinkgoT() cannot provide. Call it from
// the suite's single Test function in place of ginkgo.RunSpecs, in a file that
// imports Ginkgo (the ginkgo CLI recognises a package as a Ginkgo suite only by
// an import of Ginkgo in its _test.go files; without one, ginkgo -p,
// --json-report and --no-color are silently ignored):
//
//	import (
//		"testing"
//
//		_ "github.com/onsi/ginkgo/v2" // tells the ginkgo CLI this package is a Ginkgo suite
//		"github.com/retrylab/retrylab/apitest"
//	)
//
//	func TestUsers(t *testing.T) {
//		apitest.RunSpecs(t, "Users client")
//	}
//
// Unlike ginkgo.RunSpecs, RunSpecs supports go test -count=N: each repetition
// runs the whole suite again in the same process, as go test does for plain
// tests, with the next random seed unless -ginkgo.seed is given (as
// ginkgo --repeat does; each run prints its seed). Keep specs and setup nodes
// inside containers: Ginkgo keeps only containers and suite nodes for a
// second run, and RunSpecs fails a repetition that lost a node the first run
// ran. In go test's output (-v, -json) each spec with a VirtualTime node
// is a subtest of t that passes, fails or is skipped as the spec was; a spec
// whose subtest go test's -run or -skip excludes is skipped.
func RunSpecs(t *testing.T, description string, args ...any) bool {
	t.Helper()
	gomega.RegisterFailHandler(ginkgo.Fail)
	// A top-level ReportAfterEach lives in Ginkgo's spec tree, which
	// Ginkgo rebuilds from the top-level containers alone for the next
	// run: register it for every run.
	ginkgo.ReportAfterEach(endSpecRun)
	suiteT.Store(t)
	defer suiteT.Store(nil)
	defer hideCount()()
	defer func() { ginkgoSuiteDidRun = false }()
	runs.Lock()
	runs.current = map[string]ranSpec{}
	args = nextSeed(args, runs.n)
	runs.n++
	runs.Unlock()
	passed := ginkgo.RunSpecs(t, description, args...)
	if err := checkRepeatedRun(); err != nil {
		t.Error(err)
		passed = false
	}
	return passed
}

// nextSeed returns the arguments for run n (from 0) of the suite in this
// process: from the second run on, unless -ginkgo.seed was given, with a
// SuiteConfig whose random seed is the first run's plus n, so that each
// repetition runs the specs in another order. Callers hold runs.
func nextSeed(args []any, n int) []any {
	i := slices.IndexFunc(args, func(a any) bool { _, ok := a.(types.SuiteConfig); return ok })
	cfg, _ := ginkgo.GinkgoConfiguration()
	if i >= 0 {
		cfg = args[i].(types.SuiteConfig)
	}
	if n == 0 {
		runs.seed = cfg.RandomSeed
		return args
	}
	seedSet := false
	flag.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "ginkgo.seed" })
	if seedSet {
		return args
	}
	cfg.RandomSeed = runs.seed + int64(n)
	args = slices.Clone(args)
	if i >= 0 {
		args[i] = cfg
	} else {
		args = append(args, cfg)
	}
	return args
}

// recordSpec records what the spec of r ran in the current run.
func recordSpec(r types.SpecReport) {
	var nodes []string
	for _, e := range r.SpecEvents {
		if e.SpecEventType == types.SpecEventNodeStart && e.NodeType.Is(types.NodeTypeIt|types.NodeTypeBeforeEach|types.NodeTypeJustBeforeEach|types.NodeTypeAfterEach|types.NodeTypeJustAfterEach) {
			nodes = append(nodes, e.CodeLocation.String())
		}
	}
	runs.Lock()
	defer runs.Unlock()
	if runs.current != nil {
		runs.current[r.FullText()+" @ "+r.LeafNodeLocation.String()] = ranSpec{passed: r.State.Is(types.SpecStatePassed), nodes: nodes}
	}
}

// checkRepeatedRun compares a repeated run of the suite (go test -count) with
// the first: Ginkgo runs it again from its top-level containers and suite
// nodes only, so an It or a setup node written at the top level of a file
// runs the first time only. That is reported rather than left to pass
// silently.
func checkRepeatedRun() error {
	runs.Lock()
	defer runs.Unlock()
	if runs.first == nil {
		runs.first, runs.current = runs.current, nil
		return nil
	}
	var lost []string
	for key, first := range runs.first {
		again, ok := runs.current[key]
		switch {
		case !ok:
			lost = append(lost, "the spec "+key)
		case first.passed && again.passed:
			for _, n := range first.nodes {
				if !slices.Contains(again.nodes, n) {
					lost = append(lost, "the node at "+n)
				}
			}
		}
	}
	runs.current = nil
	if len(lost) == 0 {
		return nil
	}
	slices.Sort(lost)
	lost = slices.Compact(lost)
	return fmt.Errorf("apitest.RunSpecs: this repetition of the suite (go test -count) did not run %s, which the first run ran: "+
		"Ginkgo runs a suite again from its containers (Describe, Context, When) and suite nodes only, so an It, BeforeEach or "+
		"AfterEach written outside any container runs once; move it into a container", strings.Join(lost, ", "))
}

// hideCount makes go test's -count flag read 1 while Ginkgo checks its
// configuration (it refuses any other value, assuming each repetition would
// find the suite already run), and returns the function that restores it
// before the testing package reads it again, once this test has returned.
func hideCount() (restore func()) {
	f := flag.Lookup("test.count")
	if f == nil || f.Value.String() == "1" {
		return func() {}
	}
	count := f.Value.String()
	_ = f.Value.Set("1")
	return func() { _ = f.Value.Set(count) }
}
