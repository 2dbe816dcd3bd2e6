package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func suiteReport(t *testing.T, dir string, procs int, states ...types.SpecState) types.Report {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := types.Report{SuitePath: abs, SuiteConfig: types.SuiteConfig{ParallelTotal: procs}}
	for i, s := range states {
		r.SpecReports = append(r.SpecReports, types.SpecReport{LeafNodeType: types.NodeTypeIt, State: s, ParallelProcess: i%procs + 1})
	}
	return r
}

func TestCheck(t *testing.T) {
	passed, skipped := types.SpecStatePassed, types.SpecStateSkipped
	for _, tc := range []struct {
		name    string
		reports []types.Report
		want    string // in the error; "" for none
	}{
		{"every suite ran in parallel", []types.Report{
			suiteReport(t, "a", 2, passed, passed), suiteReport(t, "b", 2, passed, types.SpecStateFailed),
		}, ""},
		{"a suite the ginkgo CLI ran as plain go test is missing", []types.Report{
			suiteReport(t, "a", 2, passed),
		}, "b is not in Ginkgo's report: either the ginkgo CLI did not run it as a Ginkgo suite"},
		{"a suite ran serially", []types.Report{
			suiteReport(t, "a", 2, passed), suiteReport(t, "b", 1, passed),
		}, "b ran with 1 process(es), want 2"},
		{"a suite ran no spec", []types.Report{
			suiteReport(t, "a", 2, passed), suiteReport(t, "b", 2, skipped),
		}, "b ran no specs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			summary, err := check(tc.reports, []string{"a", "b"}, 2)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want == "" && !strings.Contains(summary, "a: 2 specs on 2 of 2 processes"):
				t.Errorf("summary: %q", summary)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// runSpecsCall starts a suite; spelled in two pieces so that this file is not
// taken for a suite by the Makefile's search for suites.
const runSpecsCall = "RunSpecs" + "(t"

// ginkgoSuiteImport is how the ginkgo CLI (v2.34.0,
// ginkgo/internal/test_suite.go, filesHaveGinkgoSuite) decides that a
// package's _test.go files make a Ginkgo suite.
var ginkgoSuiteImport = regexp.MustCompile(`package ginkgo|\/ginkgo"|\/ginkgo\/v2"|\/ginkgo\/v2/dsl/`)

// TestEveryGinkgoSuiteIsRecognisedByTheGinkgoCLI: ./suites used to start its
// suite with apitest.RunSpecs and no import of Ginkgo, so the ginkgo CLI ran
// it as a plain go test, ignoring -p and --json-report.
func TestEveryGinkgoSuiteIsRecognisedByTheGinkgoCLI(t *testing.T) {
	root := filepath.Join("..", "..")
	suites := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(path, "*_test.go"))
		runsSpecs, imports := false, false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			runsSpecs = runsSpecs || strings.Contains(string(src), runSpecsCall)
			imports = imports || ginkgoSuiteImport.Match(src)
		}
		if runsSpecs {
			suites++
			if !imports {
				t.Errorf("%s runs a Ginkgo suite but the ginkgo CLI does not recognise it: import github.com/onsi/ginkgo/v2 in its suite file", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if suites < 3 {
		t.Errorf("found %d Ginkgo suites, want apitest, suites and examples/users at least", suites)
	}
}

// TestReadmeSuitesImportGinkgo: the README's conformance snippet used to
// start a suite without importing Ginkgo, which the ginkgo CLI does not
// recognise as a suite.
func TestReadmeSuitesImportGinkgo(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	suites := 0
	for _, b := range blocks {
		if !strings.Contains(b[1], runSpecsCall) {
			continue
		}
		suites++
		if !ginkgoSuiteImport.MatchString(b[1]) {
			t.Errorf("a README snippet starts a suite without importing Ginkgo:\n%s", b[1])
		}
	}
	if suites < 2 {
		t.Errorf("found %d suite snippets in the README, want the first suite and the conformance suite", suites)
	}
}
