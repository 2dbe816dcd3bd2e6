package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/fixtures"
)

// loadScenario reads --scenario: a file when the argument looks like a path
// (it contains a slash or ends in .yaml or .yml), otherwise an embedded
// fixture; ./name reads a file without an extension. It returns at once
// with errInterrupted when ctx is done (SIGINT or SIGTERM) during the load.
func loadScenario(ctx context.Context, arg string) (*faultinject.Scenario, error) {
	if arg == "" {
		return nil, usagef("--scenario is required: an embedded scenario name (%s) or a YAML file", strings.Join(fixtures.Names(), ", "))
	}
	if err := ctx.Err(); err != nil {
		return nil, errInterrupted
	}
	type result struct {
		s   *faultinject.Scenario
		err error
	}
	done := make(chan result, 1)
	go func() { // the decoder stops soon after ctx is done; nobody waits for it
		s, err := loadScenarioFrom(ctx, arg)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		return nil, errInterrupted
	}
}

// errInterrupted is returned by a command stopped by a signal before it
// could start its work.
var errInterrupted = errors.New("interrupted while loading the scenario")

func loadScenarioFrom(ctx context.Context, arg string) (*faultinject.Scenario, error) {
	if strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		s, err := faultinject.LoadScenarioContext(ctx, arg)
		if err != nil {
			if ctx.Err() != nil {
				return nil, errInterrupted
			}
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return nil, usagef("cannot read scenario file %s: %v", arg, pe.Err)
			}
			return nil, usageError{err.Error()}
		}
		return s, nil
	}
	s, err := fixtures.Load(arg)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return s, nil
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// defaultRequest returns the method and a concrete path for the first route
// of s: path wildcards become "1".
func defaultRequest(s *faultinject.Scenario) (method, path string) {
	if len(s.Routes) == 0 {
		return "GET", "/"
	}
	pattern := s.Routes[0].Pattern
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "GET", pattern
	}
	path = strings.TrimSpace(path)
	if i := strings.Index(path, "/"); i > 0 {
		path = path[i:] // drop a host
	}
	return method, pathParam.ReplaceAllString(path, "1")
}

func cmdScenarios(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("scenarios", "", "  retrylab scenarios\n", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, name := range fixtures.Names() {
		data, _ := fixtures.Bytes(name)
		_, _ = io.WriteString(stdout, padRight(name, 22)+summary(name, string(data))+"\n")
	}
	return nil
}

// summary returns the first sentence of a scenario file's opening comment,
// without the name it starts with.
func summary(name, data string) string {
	var words []string
	for _, line := range strings.Split(data, "\n") {
		text, ok := strings.CutPrefix(line, "#")
		if !ok {
			break
		}
		words = append(words, strings.Fields(text)...)
	}
	s := strings.Join(words, " ")
	s = strings.TrimPrefix(s, name+" — ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}
