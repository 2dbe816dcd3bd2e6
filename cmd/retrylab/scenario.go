package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/fixtures"
)

// loadScenario reads --scenario: a file when the argument names one (or
// looks like a path), otherwise an embedded fixture.
func loadScenario(arg string) (*faultinject.Scenario, error) {
	if arg == "" {
		return nil, usagef("--scenario is required: an embedded scenario name (%s) or a YAML file", strings.Join(fixtures.Names(), ", "))
	}
	if _, err := os.Stat(arg); err == nil || strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		s, err := faultinject.LoadScenario(arg)
		if err != nil {
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
		s, err := fixtures.Load(name)
		summary := ""
		if err == nil && len(s.Routes) > 0 {
			summary = s.Routes[0].Pattern
		}
		data, _ := fixtures.Bytes(name)
		if first, _, ok := strings.Cut(string(data), "\n"); ok && strings.HasPrefix(first, "# ") {
			summary = strings.TrimPrefix(first, "# ")
		}
		_, _ = io.WriteString(stdout, padRight(name, 22)+summary+"\n")
	}
	return nil
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}
