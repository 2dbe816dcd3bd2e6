package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"

	"github.com/retrylab/retrylab/internal/words"
	"github.com/retrylab/retrylab/suites"
)

const conformExamples = `  retrylab conform --exec 'python3 examples/conform/python-requests/client.py' --promise examples/conform/python-requests/promise.yaml
  retrylab conform --exec examples/conform/curl/client.sh --promise examples/conform/curl/promise.yaml --junit conform.xml
  retrylab conform --exec './my-client' --rules 'Retry-After|cancel' --json

The command runs once for every request a rule sends, with the request in
RETRYLAB_URL, RETRYLAB_METHOD, RETRYLAB_BODY_FILE, RETRYLAB_HEADERS,
RETRYLAB_IDEMPOTENCY_KEY, RETRYLAB_DEADLINE (RFC 3339) and RETRYLAB_TIMEOUT
(seconds); it makes that one request through the client under test, prints
a line when the client returns, and exits 0 with a response, non-zero
without. Exit status: 0 every checked rule kept, 1 a rule broken, 2 bad usage.
`

// conformSchema names the --json output of conform.
const conformSchema = "retrylab.conform/v1"

// conformReport is the --json output of conform: schema [conformSchema],
// documented in the README. Durations are Go duration strings.
type conformReport struct {
	Schema  string         `json:"schema"`
	Command string         `json:"command"`
	Promise string         `json:"promise_file,omitempty"`
	Rules   []conformRule  `json:"rules"`
	Summary map[string]int `json:"summary"`
	Elapsed string         `json:"elapsed"`
}

type conformRule struct {
	Name      string `json:"name"`
	Universal bool   `json:"universal"`
	Verdict   string `json:"verdict"`
	Reason    string `json:"reason,omitempty"`
	Took      string `json:"took"`
}

// conformSpec is everything a conform run needs.
type conformSpec struct {
	subject     suites.Subject
	promiseFile string
	rules       []suites.Rule
	parallel    int
	json        bool
	junit       string
}

func cmdConform(ctx context.Context, args []string, stdout, _ io.Writer) error {
	spec, err := parseConform(args, stdout)
	if err != nil {
		return err
	}
	start := time.Now()
	results := suites.CheckAll(ctx, spec.subject, spec.rules, spec.parallel)
	elapsed := time.Since(start)
	if spec.junit != "" {
		if err := writeFile(spec.junit, func(w io.Writer) error { return conformJUnit(w, results, elapsed) }); err != nil {
			return err
		}
	}
	if spec.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(conformJSON(spec, results, elapsed))
	} else {
		err = writeConformText(stdout, spec, results, elapsed)
	}
	if err != nil {
		return err
	}
	counts := countVerdicts(results)
	switch {
	case counts[suites.NotRun] > 0:
		return fmt.Errorf("interrupted: %s not run", words.Plural(counts[suites.NotRun], "rule"))
	case counts[suites.Broken] > 0:
		return fmt.Errorf("%d of %d rules broken (see above)", counts[suites.Broken], len(results))
	}
	return nil
}

// parseConform turns conform's command line into a conformSpec, checking
// everything before any command runs.
func parseConform(args []string, stdout io.Writer) (conformSpec, error) {
	fs := newFlagSet("conform", "--exec 'COMMAND' [--promise FILE] [--rules REGEX] [--json | --junit FILE]", conformExamples, stdout)
	command := fs.String("exec", "", "shell command that makes one request through the client under test (run by /bin/sh -c)")
	promiseFile := fs.String("promise", "", "YAML or JSON file of what the client promises (default: nothing; only the universal rules)")
	pattern := fs.String("rules", "", "run only the rules whose name matches this regular expression")
	timeout := fs.Duration("timeout", suites.DefaultExecTimeout, "deadline of one request; a command still running then is killed")
	cancelAfter := fs.Duration("cancel-after", suites.DefaultExecCancelAfter, "when the caller gives up in the cancellation rule, from the command's start")
	parallel := fs.Int("parallel", 2, "rules checked at once")
	var spec conformSpec
	fs.BoolVar(&spec.json, "json", false, "print the results as JSON (schema "+conformSchema+")")
	fs.StringVar(&spec.junit, "junit", "", "also write the results as JUnit XML to this file, one testcase per rule")
	if err := parseFlags(fs, args); err != nil {
		return spec, err
	}
	if strings.TrimSpace(*command) == "" {
		return spec, usagef("--exec is required: the command that makes one request through the client under test")
	}
	if err := commandExists(*command); err != nil {
		return spec, err
	}
	if spec.json && spec.junit != "" {
		return spec, usagef("--json and --junit are exclusive: pick one report")
	}
	if spec.junit != "" {
		if err := writable(spec.junit); err != nil {
			return spec, err
		}
	}
	if *timeout <= 0 {
		return spec, usagef("--timeout must be positive, got %v", *timeout)
	}
	if *cancelAfter <= 0 || *cancelAfter >= *timeout {
		return spec, usagef("--cancel-after must be positive and shorter than --timeout (%v), got %v", *timeout, *cancelAfter)
	}
	if *parallel < 1 {
		return spec, usagef("--parallel must be at least 1, got %d", *parallel)
	}
	var p suites.Promise
	if *promiseFile != "" {
		data, err := readBounded(*promiseFile, "promise", 64<<10)
		if err != nil {
			return spec, err
		}
		if p, err = suites.ParsePromise(*promiseFile, data); err != nil {
			return spec, usageError{err.Error()}
		}
	}
	spec.rules = suites.Rules()
	if *pattern != "" {
		re, err := regexp.Compile(*pattern)
		if err != nil {
			return spec, usagef("--rules %q: %v", *pattern, unwrapRegexp(err))
		}
		var picked []suites.Rule
		for _, r := range spec.rules {
			if re.MatchString(r.Name) {
				picked = append(picked, r)
			}
		}
		if len(picked) == 0 {
			return spec, usagef("--rules %q matches no rule (rules: %s)", *pattern, ruleNames())
		}
		spec.rules = picked
	}
	spec.promiseFile, spec.parallel = *promiseFile, *parallel
	spec.subject = suites.Subject{
		Exec:    &suites.Exec{Command: *command, Timeout: *timeout, CancelAfter: *cancelAfter},
		Promise: p,
	}
	return spec, nil
}

func unwrapRegexp(err error) error {
	var re *syntax.Error
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %q", re.Code, re.Expr)
	}
	return err
}

func ruleNames() string {
	var names []string
	for _, r := range suites.Rules() {
		names = append(names, fmt.Sprintf("%q", r.Name))
	}
	return strings.Join(names, ", ")
}

// shellWords are the builtins and keywords a command line may start with
// that are no program on PATH.
var shellWords = map[string]bool{
	"exec": true, "eval": true, "command": true, ".": true, "cd": true, "set": true, "export": true, "test": true,
	"[": true, "true": true, "false": true, "echo": true, "printf": true, "if": true, "for": true, "while": true,
	"case": true, "{": true, "(": true, "!": true, "exit": true, "read": true, "sleep": true, "env": true,
}

// plainWord is a first word the shell would run as a program.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./+-]+$`)

// commandExists reports, for a command line that starts with a plain
// program name or path, a program that cannot be found. Anything the
// shell would interpret differently is left to the shell.
func commandExists(command string) error {
	first := strings.Fields(command)[0]
	if !plainWord.MatchString(first) || shellWords[first] {
		return nil
	}
	if strings.Contains(first, "/") {
		fi, err := os.Stat(first)
		switch {
		case err != nil:
			return usagef("--exec: %s: %v", first, unwrapPathError(err))
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			return usagef("--exec: %s is not an executable file", first)
		}
		return nil
	}
	if _, err := exec.LookPath(first); err != nil {
		return usagef("--exec: %q is not found on PATH", first)
	}
	return nil
}

func countVerdicts(results []suites.RuleResult) map[suites.Verdict]int {
	counts := map[suites.Verdict]int{}
	for _, r := range results {
		counts[r.Verdict]++
	}
	return counts
}

// verdictWord is how the text report names a verdict, in a fixed width.
var verdictWord = map[suites.Verdict]string{
	suites.Kept:         "kept         ",
	suites.Broken:       "BROKEN       ",
	suites.NotPromised:  "not promised ",
	suites.NotCheckable: "not checkable",
	suites.NotRun:       "not run      ",
}

// writeConformText prints one line per rule, and under a broken rule its
// error with the server's timeline, as the Go suite reports it.
func writeConformText(w io.Writer, spec conformSpec, results []suites.RuleResult, elapsed time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "command  %s\n", spec.subject.Exec.Command)
	promise := "none (only the universal rules)"
	if spec.promiseFile != "" {
		promise = spec.promiseFile
	}
	fmt.Fprintf(&b, "promise  %s\n\n", promise)
	for _, r := range results {
		fmt.Fprintf(&b, "  %s  %s", verdictWord[r.Verdict], r.Rule.Name)
		if r.Took >= time.Millisecond {
			fmt.Fprintf(&b, " (%v)", r.Took.Round(time.Millisecond))
		}
		b.WriteString("\n")
		switch r.Verdict {
		case suites.Broken:
			for line := range strings.Lines(r.Reason) {
				b.WriteString("      " + line)
			}
			b.WriteString("\n")
		case suites.NotCheckable, suites.NotRun:
			fmt.Fprintf(&b, "      %s\n", r.Reason)
		}
	}
	counts := countVerdicts(results)
	var parts []string
	for _, v := range []suites.Verdict{suites.Kept, suites.Broken, suites.NotCheckable, suites.NotPromised, suites.NotRun} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], strings.ReplaceAll(string(v), "-", " ")))
		}
	}
	fmt.Fprintf(&b, "\n%s: %s, in %v\n", words.Plural(len(results), "rule"), strings.Join(parts, ", "), elapsed.Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

func conformJSON(spec conformSpec, results []suites.RuleResult, elapsed time.Duration) conformReport {
	rep := conformReport{Schema: conformSchema, Command: spec.subject.Exec.Command, Promise: spec.promiseFile,
		Rules: []conformRule{}, Elapsed: elapsed.String(), Summary: map[string]int{}}
	for _, v := range []suites.Verdict{suites.Kept, suites.Broken, suites.NotCheckable, suites.NotPromised, suites.NotRun} {
		rep.Summary[string(v)] = 0
	}
	for _, r := range results {
		rep.Summary[string(r.Verdict)]++
		rep.Rules = append(rep.Rules, conformRule{Name: r.Rule.Name, Universal: r.Rule.Universal, Verdict: string(r.Verdict),
			Reason: r.Reason, Took: r.Took.String()})
	}
	return rep
}

// conformJUnit writes one testcase per rule: a failure for a broken rule,
// an error for one not run, skipped for one not promised or not checkable.
func conformJUnit(w io.Writer, results []suites.RuleResult, elapsed time.Duration) error {
	set := junitSet{Name: "retrylab conform", Tests: len(results), Time: seconds(elapsed)}
	for _, r := range results {
		c := junitCase{Name: r.Rule.Name, Classname: "retrylab.conform", Time: seconds(r.Took)}
		first, _, _ := strings.Cut(r.Reason, "\n")
		switch r.Verdict {
		case suites.Broken:
			c.Failure = &junitMessage{Message: first, Text: r.Reason}
			set.Failures++
		case suites.NotRun:
			c.Error = &junitMessage{Message: first}
			set.Errors++
		case suites.NotPromised, suites.NotCheckable:
			c.Skipped = &junitMessage{Message: strings.ReplaceAll(string(r.Verdict), "-", " ") + ": " + first}
			set.Skipped++
		}
		set.Cases = append(set.Cases, c)
	}
	return encodeJUnit(w, set)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
