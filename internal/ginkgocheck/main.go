// Command ginkgocheck checks a JSON report written by the ginkgo CLI
// (--json-report) against the suite packages that were meant to run: each
// must appear in it, must have run with the expected number of parallel
// processes, and must have run specs. make ginkgo-parallel uses it to prove
// that every Ginkgo suite of the module really ran in parallel: the ginkgo
// CLI runs a package it does not recognise as a Ginkgo suite (it looks for an
// import of Ginkgo in the _test.go files) as a plain go test, silently
// ignoring -p and --json-report.
//
// Usage:
//
//	go run ./internal/ginkgocheck -procs 2 report.json ./apitest/ ./suites/ ...
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/types"
)

func main() {
	procs := flag.Int("procs", 2, "the number of parallel processes every suite must have run with")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: ginkgocheck [-procs N] REPORT.json SUITE_DIR...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 2 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ginkgocheck:", err)
		os.Exit(2)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		fmt.Fprintf(os.Stderr, "ginkgocheck: %s: not a Ginkgo JSON report: %v\n", flag.Arg(0), err)
		os.Exit(2)
	}
	summary, err := check(reports, flag.Args()[1:], *procs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(summary)
}

// check reports an error naming every suite directory in dirs that reports
// lacks, that ran with another number of processes than procs, or that ran
// no spec; otherwise it returns one summary line per suite.
func check(reports []types.Report, dirs []string, procs int) (string, error) {
	bySuite := map[string]types.Report{}
	for _, r := range reports {
		bySuite[filepath.Clean(r.SuitePath)] = r
	}
	var errs []error
	summary := ""
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		r, ok := bySuite[abs]
		if !ok {
			errs = append(errs, fmt.Errorf("ginkgocheck: %s is not in Ginkgo's report: either the ginkgo CLI did not run it as a Ginkgo suite "+
				"(it recognises one by an import of github.com/onsi/ginkgo/v2 in a _test.go file; add `_ \"github.com/onsi/ginkgo/v2\"` to the suite file) "+
				"or its Test function did not run", dir))
			continue
		}
		ran, used := 0, map[int]bool{}
		for _, s := range r.SpecReports {
			if s.LeafNodeType == types.NodeTypeIt && s.State.Is(types.SpecStatePassed|types.SpecStateFailureStates) {
				ran++
				used[s.ParallelProcess] = true
			}
		}
		switch {
		case r.SuiteConfig.ParallelTotal != procs:
			errs = append(errs, fmt.Errorf("ginkgocheck: %s ran with %d process(es), want %d", dir, r.SuiteConfig.ParallelTotal, procs))
		case ran == 0:
			errs = append(errs, fmt.Errorf("ginkgocheck: %s ran no specs", dir))
		default:
			summary += fmt.Sprintf("ginkgocheck: %s: %d specs on %d of %d processes\n", dir, ran, len(used), r.SuiteConfig.ParallelTotal)
		}
	}
	return summary, errors.Join(errs...)
}
