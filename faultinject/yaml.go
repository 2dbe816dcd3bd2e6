package faultinject

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/retrylab/retrylab/internal/yamlguard"
)

// Limits of a scenario. Files, admin uploads and scenarios built in Go are
// held to the same bounds, so a hostile or runaway file is refused with a
// clear error instead of exhausting the server:
const (
	// MaxScenarioSize is the largest scenario file LoadScenario and
	// ParseScenario accept (the admin upload accepts 1 MiB).
	MaxScenarioSize = 4 << 20
	// MaxScenarioDepth is the deepest YAML nesting accepted. A scenario
	// needs about 7 levels; deeper input is refused before it is parsed,
	// because the YAML parser's memory grows with the square of the depth.
	MaxScenarioDepth = 32
	// MaxRoutes is the most routes a scenario may have.
	MaxRoutes = 10_000
	// MaxSteps is the most steps a scenario may have, over all its routes.
	MaxSteps = 100_000
	// MaxChaos is the most chaos entries a scenario may have.
	MaxChaos = 1_000
	// MaxBodyFileSize is the largest file a step's body-file may name.
	MaxBodyFileSize = 64 << 20
)

// readBodyFile reads a body-file, refusing one beyond MaxBodyFileSize
// without reading past the limit.
func readBodyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return yamlguard.ReadAll(f, MaxBodyFileSize)
}

// LoadScenario reads a scenario from a YAML file; body-file paths are
// relative to the file's directory. Errors cite the path as given.
func LoadScenario(path string) (*Scenario, error) {
	return LoadScenarioContext(context.Background(), path)
}

// LoadScenarioContext is LoadScenario, stopping with ctx's error when ctx
// is done before the scenario is decoded. A file larger than
// MaxScenarioSize is refused without being read past the limit.
func LoadScenarioContext(ctx context.Context, path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("faultinject: %w", err)
	}
	defer f.Close()
	data, err := yamlguard.ReadAll(f, MaxScenarioSize)
	if err != nil {
		var ge *yamlguard.Error
		if errors.As(err, &ge) {
			return nil, &ScenarioError{Source: path, Line: 1, Column: 1, Msg: "the file is " + ge.Msg}
		}
		return nil, fmt.Errorf("faultinject: %w", err)
	}
	return parseScenario(ctx, path, data, filepath.Dir(path))
}

// ParseScenario decodes a scenario from YAML. name is what error messages
// cite ("name:line:col: ..."); body-file paths are relative to the directory
// of name. Decoding is strict: unknown fields and words are errors naming the
// nearest valid one, and durations must be strings such as "250ms".
//
// Decoding takes time linear in the size of data and refuses input beyond
// the limits (MaxScenarioSize, MaxScenarioDepth, MaxRoutes, MaxSteps,
// MaxChaos) with an error naming where the limit was crossed.
func ParseScenario(name string, data []byte) (*Scenario, error) {
	return parseScenario(context.Background(), name, data, filepath.Dir(name))
}

// ParseScenarioContext is ParseScenario, stopping with ctx's error when ctx
// is done before the scenario is decoded.
func ParseScenarioContext(ctx context.Context, name string, data []byte) (*Scenario, error) {
	return parseScenario(ctx, name, data, filepath.Dir(name))
}

// parseUploadedScenario parses a scenario that arrived over the network:
// body-file, which would read the server's files, is an error.
func parseUploadedScenario(ctx context.Context, name string, data []byte) (*Scenario, error) {
	d := &decoder{ctx: ctx, name: name, noFiles: true, maxSize: maxScenarioUpload}
	return d.scenario(data)
}

func parseScenario(ctx context.Context, name string, data []byte, dir string) (*Scenario, error) {
	d := &decoder{ctx: ctx, name: name, dir: dir, maxSize: MaxScenarioSize}
	return d.scenario(data)
}

// decoder walks the YAML syntax tree, so every error can name its place.
type decoder struct {
	ctx     context.Context
	noFiles bool // body-file refused (scenarios uploaded over the network)
	name    string
	dir     string
	maxSize int

	mux      *http.ServeMux  // the routes decoded so far, for conflicts
	patterns map[string]bool // their patterns
	steps    int             // steps decoded so far, chaos included
	items    int             // list items decoded so far, for ctx checks
}

// maxMessageRunes bounds the message of a decoding error.
const maxMessageRunes = 512

// decodeError unwinds the walk with a positioned error.
type decodeError struct{ err *ScenarioError }

// canceled unwinds the walk when the decoder's context is done.
type canceled struct{ err error }

func (d *decoder) failAt(tk *token.Token, format string, args ...any) {
	line, col := 1, 1
	if tk != nil && tk.Position != nil {
		line, col = tk.Position.Line, tk.Position.Column
	}
	msg := fmt.Sprintf(format, args...)
	if c := clip(msg, maxMessageRunes); len(c) < len(msg) {
		msg = c + "…" // a message quotes input, which may be huge
	}
	panic(decodeError{&ScenarioError{Source: d.name, Line: line, Column: col, Msg: msg}})
}

func (d *decoder) fail(n ast.Node, format string, args ...any) {
	var tk *token.Token
	switch m := n.(type) {
	case *ast.MappingNode: // point at the first key, not at a colon
		if len(m.Values) > 0 && !m.IsFlowStyle {
			tk = m.Values[0].Key.GetToken()
		} else {
			tk = m.GetToken()
		}
	case *ast.MappingValueNode:
		tk = m.Key.GetToken()
	case nil:
	default:
		tk = n.GetToken()
	}
	d.failAt(tk, format, args...)
}

func (d *decoder) scenario(data []byte) (s *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			switch x := r.(type) {
			case decodeError:
				s, err = nil, x.err
			case canceled:
				s, err = nil, x.err
			default:
				panic(r)
			}
		}
	}()
	if err := d.ctx.Err(); err != nil {
		return nil, err
	}
	if ge := yamlguard.Check(data, yamlguard.Limits{MaxBytes: d.maxSize, MaxDepth: MaxScenarioDepth}); ge != nil {
		line, col := max(ge.Line, 1), max(ge.Column, 1)
		return nil, &ScenarioError{Source: d.name, Line: line, Column: col, Msg: ge.Msg}
	}
	d.mux, d.patterns = http.NewServeMux(), map[string]bool{}
	f, perr := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if perr != nil {
		var ye yaml.Error
		if errors.As(perr, &ye) {
			d.failAt(ye.GetToken(), "%s", ye.GetMessage())
		}
		d.failAt(nil, "%v", perr)
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		d.failAt(nil, "empty scenario: want a mapping with routes")
	}
	if len(f.Docs) > 1 {
		d.fail(f.Docs[1], "want one YAML document, found %d", len(f.Docs))
	}
	s = &Scenario{Source: d.name}
	d.mapping(f.Docs[0].Body, "scenario", []string{"name", "seed", "unmatched", "routes", "chaos"}, func(key string, k, v ast.Node) {
		switch key {
		case "name":
			s.Name = d.str(v, key)
		case "seed":
			s.Seed = int64(d.integer(v, key, math.MinInt64, math.MaxInt64))
		case "unmatched":
			s.Unmatched = d.status(v, key)
		case "routes":
			d.sequence(v, key, func(item ast.Node) {
				if len(s.Routes) == MaxRoutes {
					d.fail(item, "more than %d routes", MaxRoutes)
				}
				s.Routes = append(s.Routes, d.route(item))
			})
		case "chaos":
			d.sequence(v, key, func(item ast.Node) {
				if len(s.Chaos) == MaxChaos {
					d.fail(item, "more than %d chaos entries", MaxChaos)
				}
				s.Chaos = append(s.Chaos, d.chaos(item, s))
			})
		}
	})
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(d.name), filepath.Ext(d.name))
	}
	if err := s.Validate(); err != nil {
		// Positioned checks above catch what Validate does; this is a safety net.
		return nil, err
	}
	return s, nil
}

func (d *decoder) route(n ast.Node) Route {
	var r Route
	var patternNode, stepsNode ast.Node
	d.mapping(n, "route entry", []string{"route", "steps", "after"}, func(key string, k, v ast.Node) {
		switch key {
		case "route":
			r.Pattern, patternNode = d.str(v, key), v
		case "steps":
			stepsNode = v
			d.sequence(v, key, func(item ast.Node) { r.Steps = append(r.Steps, d.step(item, false)) })
		case "after":
			r.After = d.after(v)
		}
	})
	if patternNode == nil {
		d.fail(n, "route entry has no route: METHOD /path")
	}
	if d.patterns[r.Pattern] {
		d.fail(patternNode, "duplicate route %q", r.Pattern)
	}
	if m := checkPattern(d.mux, r.Pattern); m != "" {
		d.fail(patternNode, "%s", m)
	}
	d.patterns[r.Pattern] = true
	if len(r.Steps) == 0 && r.After.Mode != AfterStatus {
		if stepsNode != nil {
			d.fail(stepsNode, "%s", msgNoSteps)
		}
		d.fail(patternNode, "%s", msgNoSteps)
	}
	return r
}

func (d *decoder) after(v ast.Node) After {
	if in, ok := v.(*ast.IntegerNode); ok {
		return After{Mode: AfterStatus, Status: d.status(in, "after")}
	}
	words := []string{"repeat-last", "loop"}
	w := d.str(v, "after")
	switch w {
	case "repeat-last":
		return After{Mode: AfterRepeatLast}
	case "loop":
		return After{Mode: AfterLoop}
	}
	d.fail(v, "unknown after %q%s; want repeat-last, loop or a status", w, suggest(w, words))
	return After{}
}

var stepFields = []string{"respond", "times", "delay", "headers", "body", "body-file", "retry-after", "retry-after-date", "fault", "for", "chunk", "every"}

func (d *decoder) step(n ast.Node, chaos bool) Step {
	if d.steps == MaxSteps {
		d.fail(n, "more than %d steps", MaxSteps)
	}
	d.steps++
	var st Step
	var faultNode, statusNode, bodyNode ast.Node
	fields := stepFields
	if chaos {
		fields = append([]string{"route", "probability"}, stepFields[2:]...)
		fields = append(fields, "respond")
	}
	what := "step"
	if chaos {
		what = "chaos entry"
	}
	d.mapping(n, what, fields, func(key string, k, v ast.Node) {
		switch key {
		case "respond":
			st.Respond.Status, statusNode = d.status(v, key), v
		case "times":
			st.Times = d.integer(v, key, 1, math.MaxInt32)
		case "delay":
			st.Delay = d.duration(v, key)
		case "headers":
			st.Respond.Header = d.headers(v)
		case "body":
			if bodyNode != nil {
				d.fail(k, "body and body-file are exclusive")
			}
			st.Respond.Body, bodyNode = []byte(d.scalar(v, key)), v
		case "body-file":
			if bodyNode != nil {
				d.fail(k, "body and body-file are exclusive")
			}
			bodyNode = v
			p := d.str(v, key)
			if d.noFiles {
				d.fail(k, "body-file is not allowed here (the scenario did not come from a file); use body")
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(d.dir, p)
			}
			b, err := readBodyFile(p)
			if err != nil {
				d.fail(v, "body-file: %v", err)
			}
			st.Respond.Body = b
		case "retry-after":
			st.Respond.RetryAfter, st.Respond.RetryAfterSet = d.duration(v, key), true
		case "retry-after-date":
			st.Respond.RetryAfterDate = d.duration(v, key)
			if st.Respond.RetryAfterDate == 0 {
				d.fail(v, "retry-after-date must not be 0s")
			}
		case "fault":
			st.Fault, faultNode = d.str(v, key), v
			if _, ok := faults[st.Fault]; !ok {
				d.fail(v, "unknown fault %q%s", st.Fault, suggest(st.Fault, faultNames()))
			}
		case "for":
			st.For = d.duration(v, key)
		case "chunk":
			st.Chunk = d.integer(v, key, 1, math.MaxInt32)
		case "every":
			st.Every = d.duration(v, key)
		}
	})
	if m := checkStep(&st, chaos); m != "" {
		switch {
		case faultNode != nil:
			d.fail(faultNode, "%s", m)
		case statusNode != nil:
			d.fail(statusNode, "%s", m)
		}
		d.fail(n, "%s", m)
	}
	return st
}

func (d *decoder) chaos(n ast.Node, s *Scenario) Chaos {
	var c Chaos
	var routeNode ast.Node
	probSeen := false
	mv, _ := d.entries(n, "chaos entry")
	// route and probability are chaos fields; the rest describe its step.
	for _, e := range mv {
		switch d.key(e) {
		case "route":
			c.Route, routeNode = d.str(e.Value, "route"), e.Value
		case "probability":
			c.Probability, probSeen = d.float(e.Value, "probability"), true
			if m := checkProbability(c.Probability); m != "" {
				d.fail(e.Value, "%s", m)
			}
		}
	}
	if !probSeen {
		d.fail(n, "chaos entry has no probability")
	}
	if routeNode != nil {
		if !d.patterns[c.Route] {
			d.fail(routeNode, "%s", msgChaosRoute(c.Route, s.patterns()))
		}
	}
	c.Step = d.step(n, true)
	return c
}

func (d *decoder) headers(v ast.Node) http.Header {
	h := http.Header{}
	add := func(key string, val ast.Node) {
		s := d.scalar(val, key)
		if m := checkHeaderValue(key, s); m != "" {
			d.fail(val, "%s", m)
		}
		h.Add(key, s)
	}
	d.mapping(v, "headers", nil, func(key string, k, val ast.Node) {
		if m := checkHeaderName(key); m != "" {
			d.fail(k, "%s", m)
		}
		if sq, ok := val.(*ast.SequenceNode); ok {
			for _, item := range sq.Values {
				add(key, item)
			}
			return
		}
		add(key, val)
	})
	return h
}

// entries returns the key-value pairs of a mapping node.
func (d *decoder) entries(n ast.Node, what string) ([]*ast.MappingValueNode, bool) {
	n = d.unwrap(n)
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	d.fail(n, "%s: want a mapping, got %s", what, describe(n))
	return nil, false
}

func (d *decoder) key(e *ast.MappingValueNode) string {
	k := d.unwrap(e.Key)
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if k == nil {
		return ""
	}
	return k.GetToken().Value
}

// mapping calls f for each entry of a mapping, rejecting duplicate keys and,
// when known is not nil, keys outside known.
func (d *decoder) mapping(n ast.Node, what string, known []string, f func(key string, k, v ast.Node)) {
	mv, _ := d.entries(n, what)
	seen := map[string]bool{}
	for _, e := range mv {
		key := d.key(e)
		if seen[key] {
			d.fail(e.Key, "duplicate field %q", key)
		}
		seen[key] = true
		if known != nil && !contains(known, key) {
			d.fail(e.Key, "unknown field %q%s", key, suggest(key, known))
		}
		f(key, e.Key, e.Value)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) sequence(n ast.Node, what string, f func(item ast.Node)) {
	n = d.unwrap(n)
	sq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(n, "%s: want a list, got %s", what, describe(n))
	}
	for _, item := range sq.Values {
		if d.items++; d.items%64 == 0 {
			if err := d.ctx.Err(); err != nil {
				panic(canceled{err})
			}
		}
		f(item)
	}
}

// unwrap skips anchors and tags and rejects aliases.
func (d *decoder) unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			d.fail(n, "aliases are not supported")
		default:
			return n
		}
	}
}

func (d *decoder) str(n ast.Node, what string) string { return d.text(n, what, false) }

// scalar returns the text of any scalar (header values and bodies may be
// numbers or booleans).
func (d *decoder) scalar(n ast.Node, what string) string { return d.text(n, what, true) }

// text returns the text of a string node or, with anyScalar, of a number or
// boolean as written.
func (d *decoder) text(n ast.Node, what string, anyScalar bool) string {
	n = d.unwrap(n)
	switch s := n.(type) {
	case *ast.StringNode:
		return s.Value
	case *ast.LiteralNode:
		return s.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		if anyScalar {
			return n.GetToken().Value
		}
	}
	d.fail(n, "%s: want a string, got %s", what, describe(n))
	return ""
}

func (d *decoder) integer(n ast.Node, what string, lo, hi int64) int {
	n = d.unwrap(n)
	in, ok := n.(*ast.IntegerNode)
	if !ok {
		d.fail(n, "%s: want an integer, got %s", what, describe(n))
	}
	var v int64
	switch x := in.Value.(type) {
	case int64:
		v = x
	case uint64:
		if x > math.MaxInt64 {
			d.fail(n, "%s: %d out of range", what, x)
		}
		v = int64(x)
	}
	if v < lo || v > hi {
		if hi == math.MaxInt32 {
			d.fail(n, "%s: %d must be at least %d", what, v, lo)
		}
		d.fail(n, "%s: %d out of range %d..%d", what, v, lo, hi)
	}
	return int(v)
}

func (d *decoder) status(n ast.Node, what string) int {
	n = d.unwrap(n)
	if _, ok := n.(*ast.IntegerNode); !ok {
		d.fail(n, "%s: want a status code, got %s", what, describe(n))
	}
	v := d.integer(n, what, math.MinInt32, math.MaxInt32-1)
	if m := checkStatus(v); m != "" {
		d.fail(n, "%s", m)
	}
	return v
}

func (d *decoder) float(n ast.Node, what string) float64 {
	n = d.unwrap(n)
	switch x := n.(type) {
	case *ast.FloatNode:
		return x.Value
	case *ast.IntegerNode:
		f, _ := strconv.ParseFloat(x.GetToken().Value, 64)
		return f
	}
	d.fail(n, "%s: want a number, got %s", what, describe(n))
	return 0
}

func (d *decoder) duration(n ast.Node, what string) time.Duration {
	n = d.unwrap(n)
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		d.fail(n, "%s: want a duration string such as \"250ms\", got the bare number %s", what, n.GetToken().Value)
	}
	s := d.str(n, what)
	v, err := time.ParseDuration(s)
	if err != nil {
		d.fail(n, "%s: invalid duration %q (want a Go duration such as \"250ms\")", what, s)
	}
	if v < 0 {
		d.fail(n, "%s: %v must not be negative", what, v)
	}
	return v
}

// describe names the kind of a node for messages.
func describe(n ast.Node) string {
	switch x := n.(type) {
	case nil:
		return "nothing"
	case *ast.NullNode:
		return "nothing"
	case *ast.StringNode:
		return fmt.Sprintf("the string %q", x.Value)
	case *ast.IntegerNode, *ast.FloatNode:
		return "the number " + n.GetToken().Value
	case *ast.BoolNode:
		return "the boolean " + n.GetToken().Value
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return n.Type().String()
}
