package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/fixtures"
)

// loadScenario reads --scenario: a file when the argument looks like a path
// (it contains a slash or ends in .yaml or .yml), otherwise an embedded
// fixture, or else a file of that name; ./name always reads a file. It
// returns at once with errInterrupted when ctx is done (SIGINT or SIGTERM)
// during the load.
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
		return loadScenarioFile(ctx, arg)
	}
	s, err := fixtures.Load(arg)
	if err != nil {
		if fi, serr := os.Stat(arg); serr == nil && fi.Mode().IsRegular() {
			// Not a catalogue name, but a file in the working directory.
			return loadScenarioFile(ctx, arg)
		}
		return nil, usagef("%v; a scenario file is named by a path that contains a / or ends in .yaml or .yml", err)
	}
	return s, nil
}

// loadScenarioFile reads and decodes a scenario file, at most
// faultinject.MaxScenarioSize bytes of it.
func loadScenarioFile(ctx context.Context, path string) (*faultinject.Scenario, error) {
	data, err := readBounded(path, "scenario", faultinject.MaxScenarioSize)
	if err != nil {
		return nil, err
	}
	s, err := faultinject.ParseScenarioContext(ctx, path, data)
	if err != nil {
		if ctx.Err() != nil {
			return nil, errInterrupted
		}
		return nil, usageError{yamlError(path, data, err).Error()}
	}
	return s, nil
}

// readBounded reads the file at path, refusing one larger than limit bytes.
// what names the file's role in messages.
func readBounded(path, what string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("cannot read %s file %s: %v", what, path, unwrapPathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, usagef("cannot read %s file %s: %v", what, path, unwrapPathError(err))
	}
	if int64(len(data)) > limit {
		return nil, usagef("%s file %s is larger than %d bytes (%d MiB), the most retrylab reads", what, path, limit, limit>>20)
	}
	return data, nil
}

// unwrapPathError returns the reason inside a *fs.PathError.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// yamlError returns err, the error of decoding the YAML file name, or,
// when a line of data is indented with a tab (which YAML forbids and the
// decoder reports as "found character ' ' that cannot start any token" or
// worse), an error that says so at the tab's file:line:col.
func yamlError(name string, data []byte, err error) error {
	for i, line := range strings.Split(string(data), "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if col := strings.IndexByte(indent, '\t'); col >= 0 {
			return fmt.Errorf("%s:%d:%d: tabs are not allowed for indentation in YAML; indent with spaces", name, i+1, col+1)
		}
	}
	return err
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
