package faultinject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/retrylab/retrylab/internal/decode"
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
	data, err := readScenarioFile(f, path)
	if err != nil {
		return nil, err
	}
	return parseScenario(ctx, path, data, filepath.Dir(path))
}

// readScenarioFile reads a scenario file, refusing one larger than
// MaxScenarioSize without reading past the limit.
func readScenarioFile(r io.Reader, path string) ([]byte, error) {
	data, err := yamlguard.ReadAll(r, MaxScenarioSize)
	if err != nil {
		var ge *yamlguard.Error
		if errors.As(err, &ge) {
			return nil, &ScenarioError{Source: path, Line: 1, Column: 1, Msg: "the file is " + ge.Msg}
		}
		return nil, fmt.Errorf("faultinject: %w", err)
	}
	return data, nil
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

// LoadScenarioFS is LoadScenario reading from fsys: the scenario at path
// (a slash-separated fs.FS path) and its body-files, relative to path's
// directory, both come from fsys, so a scenario embedded with go:embed
// loads the same from any working directory. Errors cite path.
func LoadScenarioFS(fsys fs.FS, path string) (*Scenario, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("faultinject: %w", err)
	}
	defer f.Close()
	data, err := readScenarioFile(f, path)
	if err != nil {
		return nil, err
	}
	d := &decoder{ctx: context.Background(), name: path, maxSize: MaxScenarioSize,
		readBody: fsBodies(fsys, pathpkg.Dir(path))}
	return d.scenario(data)
}

// parseUploadedScenario parses a scenario that arrived over the network:
// body-file, which would read the server's files, is an error.
func parseUploadedScenario(ctx context.Context, name string, data []byte) (*Scenario, error) {
	d := &decoder{ctx: ctx, name: name, maxSize: maxScenarioUpload}
	return d.scenario(data)
}

func parseScenario(ctx context.Context, name string, data []byte, dir string) (*Scenario, error) {
	d := &decoder{ctx: ctx, name: name, maxSize: MaxScenarioSize, readBody: osBodies(dir)}
	return d.scenario(data)
}

// osBodies reads body-files from the operating system's files, relative
// to dir unless absolute.
func osBodies(dir string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return yamlguard.ReadAll(f, MaxBodyFileSize)
	}
}

// fsBodies reads body-files from fsys, relative to dir.
func fsBodies(fsys fs.FS, dir string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		f, err := fsys.Open(pathpkg.Join(dir, p))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return yamlguard.ReadAll(f, MaxBodyFileSize)
	}
}

// decoder turns the YAML of a scenario into a Scenario, on internal/decode,
// so every error names its place.
type decoder struct {
	ctx      context.Context
	name     string
	maxSize  int
	readBody func(path string) ([]byte, error) // nil: body-file refused (uploads)

	mux      *http.ServeMux  // the routes decoded so far, for conflicts
	patterns map[string]bool // their patterns
	catchAll map[string]bool // patterns with a route without conditions
	steps    int             // steps decoded so far, chaos included
}

func (d *decoder) scenario(data []byte) (*Scenario, error) {
	d.mux, d.patterns, d.catchAll = http.NewServeMux(), map[string]bool{}, map[string]bool{}
	s := &Scenario{Source: d.name}
	opts := decode.Options{
		Context: d.ctx,
		Limits:  yamlguard.Limits{MaxBytes: d.maxSize, MaxDepth: MaxScenarioDepth},
		What:    "scenario file",
	}
	_, err := decode.Decode(d.name, data, opts, func(root decode.Value) {
		if root.Kind() == decode.Null {
			root.Fail("empty scenario: want a mapping with routes")
		}
		root.Mapping("scenario", []string{"name", "seed", "unmatched", "upstream", "routes", "chaos"}, func(key string, _, v decode.Value) {
			switch key {
			case "name":
				s.Name = v.String(key)
			case "seed":
				s.Seed = v.Int(key, math.MinInt64, math.MaxInt64)
			case "unmatched":
				s.Unmatched = d.status(v, key)
			case "upstream":
				s.Upstream = v.String(key)
				if m := checkUpstream(s.Upstream); m != "" {
					v.Fail("%s", m)
				}
			case "routes":
				v.Sequence(key, func(item decode.Value) {
					if len(s.Routes) == MaxRoutes {
						item.Fail("more than %d routes", MaxRoutes)
					}
					s.Routes = append(s.Routes, d.route(item))
				})
			case "chaos":
				v.Sequence(key, func(item decode.Value) {
					if len(s.Chaos) == MaxChaos {
						item.Fail("more than %d chaos entries", MaxChaos)
					}
					s.Chaos = append(s.Chaos, d.chaos(item, s))
				})
			}
		})
	})
	if err != nil {
		var de *decode.Error
		if errors.As(err, &de) {
			return nil, &ScenarioError{Source: de.File, Line: de.Line, Column: de.Column, Msg: de.Msg}
		}
		return nil, err
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(d.name), filepath.Ext(d.name))
	}
	if err := s.Validate(); err != nil {
		// Positioned checks above catch what Validate does; this is a safety net.
		return nil, err
	}
	return s, nil
}

func (d *decoder) route(n decode.Value) Route {
	var r Route
	var patternNode, stepsNode *decode.Value
	var bulkNode *decode.Value
	n.Mapping("route entry", []string{"route", "when", "steps", "after", "bulk"}, func(key string, _, v decode.Value) {
		switch key {
		case "when":
			r.When = d.decodeWhen(v)
		case "bulk":
			bulkNode = &v
			r.Bulk = d.decodeBulk(v)
		case "route":
			r.Pattern, patternNode = v.String(key), &v
		case "steps":
			stepsNode = &v
			v.Sequence(key, func(item decode.Value) { r.Steps = append(r.Steps, d.step(item, false)) })
		case "after":
			r.After = d.after(v)
		}
	})
	if patternNode == nil {
		n.Fail("route entry has no route: METHOD /path")
	}
	if d.catchAll[r.Pattern] {
		if r.When == nil {
			patternNode.Fail("duplicate route %q", r.Pattern)
		}
		patternNode.Fail("route %q with conditions comes after a route %q without any, which takes every request first", r.Pattern, r.Pattern)
	}
	if !d.patterns[r.Pattern] {
		if m := checkPattern(d.mux, r.Pattern); m != "" {
			patternNode.Fail("%s", m)
		}
	}
	d.patterns[r.Pattern] = true
	d.catchAll[r.Pattern] = r.When == nil
	if bulkNode != nil {
		if stepsNode != nil {
			stepsNode.Fail("%s", msgBulkSteps)
		}
		return r
	}
	if len(r.Steps) == 0 && r.After.Mode != AfterStatus && r.After.Mode != AfterUpstream {
		if stepsNode != nil {
			stepsNode.Fail("%s", msgNoSteps)
		}
		patternNode.Fail("%s", msgNoSteps)
	}
	return r
}

func (d *decoder) after(v decode.Value) After {
	if v.Kind() == decode.Int {
		return After{Mode: AfterStatus, Status: d.status(v, "after")}
	}
	switch w := v.String("after"); w {
	case "repeat-last":
		return After{Mode: AfterRepeatLast}
	case "loop":
		return After{Mode: AfterLoop}
	case "upstream":
		return After{Mode: AfterUpstream}
	default:
		v.Fail("unknown after %q%s; want repeat-last, loop, upstream or a status", w, decode.DidYouMean(w, []string{"repeat-last", "loop", "upstream"}))
	}
	return After{}
}

// stepFields are the keys every step may have; the faults with parameters
// add theirs (paramKeys).
var stepFields = []string{"respond", "times", "delay", "headers", "body", "body-file", "retry-after", "retry-after-date", "fault", "upstream"}

// stepKeys returns the keys a step and a chaos entry may have, once the
// fault files have registered.
var stepKeys = sync.OnceValues(func() (step, chaos []string) {
	step = append(slices.Clip(stepFields), paramKeys()...)
	chaos = append([]string{"route", "probability"}, stepFields[2:]...)
	chaos = append(append(chaos, "respond"), paramKeys()...)
	return step, chaos
})

func (d *decoder) step(n decode.Value, chaos bool) Step {
	if d.steps == MaxSteps {
		n.Fail("more than %d steps", MaxSteps)
	}
	d.steps++
	var st Step
	var faultNode, statusNode, bodyNode *decode.Value
	fields, chaosFields := stepKeys()
	what := "step"
	if chaos {
		fields, what = chaosFields, "chaos entry"
	}
	n.Mapping(what, fields, func(key string, k, v decode.Value) {
		switch key {
		case "respond":
			st.Respond.Status, statusNode = d.status(v, key), &v
		case "times":
			st.Times = int(v.Int(key, 1, math.MaxInt32))
		case "delay":
			st.Delay = v.Duration(key)
		case "headers":
			st.Respond.Header = d.headers(v)
		case "body":
			if bodyNode != nil {
				k.Fail("body and body-file are exclusive")
			}
			st.Respond.Body, bodyNode = []byte(v.Scalar(key)), &v
		case "body-file":
			if bodyNode != nil {
				k.Fail("body and body-file are exclusive")
			}
			st.Respond.Body, bodyNode = d.bodyFile(k, v), &v
		case "retry-after":
			st.Respond.RetryAfter, st.Respond.RetryAfterSet = v.Duration(key), true
		case "retry-after-date":
			st.Respond.RetryAfterDate = v.Duration(key)
			if st.Respond.RetryAfterDate == 0 {
				v.Fail("retry-after-date must not be 0s")
			}
		case "upstream":
			b, ok := v.AsBool()
			if !ok {
				v.Fail("upstream: want true or false, got %s", v.Describe())
			}
			st.Upstream = b
		case "fault":
			st.Fault, faultNode = v.String(key), &v
			if _, ok := faults[st.Fault]; !ok {
				v.Fail("unknown fault %q%s", st.Fault, decode.DidYouMean(st.Fault, faultNames()))
			}
		case "route", "probability": // a chaos entry's own, decoded by chaos
		default: // a fault's parameter
			paramOwners[key].decodeParam(key, v, &st)
		}
	})
	if m := checkStep(&st, chaos); m != "" {
		switch {
		case faultNode != nil:
			faultNode.Fail("%s", m)
		case statusNode != nil:
			statusNode.Fail("%s", m)
		}
		n.Fail("%s", m)
	}
	return st
}

// bodyFile returns the content of the file a body-file entry names.
func (d *decoder) bodyFile(k, v decode.Value) []byte {
	p := v.String("body-file")
	if d.readBody == nil {
		k.Fail("body-file is not allowed here (the scenario did not come from a file); use body")
	}
	b, err := d.readBody(p)
	if err != nil {
		v.Fail("body-file: %v", err)
	}
	return b
}

func (d *decoder) chaos(n decode.Value, s *Scenario) Chaos {
	var c Chaos
	var routeNode *decode.Value
	probSeen := false
	// route and probability are chaos fields; the rest describe its step,
	// which d.step checks (unknown and duplicate keys included).
	n.Mapping("chaos entry", nil, func(key string, _, v decode.Value) {
		switch key {
		case "route":
			c.Route, routeNode = v.String(key), &v
		case "probability":
			c.Probability, probSeen = v.Float(key), true
			if m := checkProbability(c.Probability); m != "" {
				v.Fail("%s", m)
			}
		}
	})
	if !probSeen {
		n.Fail("chaos entry has no probability")
	}
	if routeNode != nil && !d.patterns[c.Route] {
		routeNode.Fail("%s", msgChaosRoute(c.Route, s.patterns()))
	}
	c.Step = d.step(n, true)
	return c
}

func (d *decoder) headers(v decode.Value) http.Header {
	h := http.Header{}
	add := func(key string, val decode.Value) {
		s := val.Scalar(key)
		if m := checkHeaderValue(key, s); m != "" {
			val.Fail("%s", m)
		}
		h.Add(key, s)
	}
	v.Mapping("headers", nil, func(key string, k, val decode.Value) {
		if m := checkHeaderName(key); m != "" {
			k.Fail("%s", m)
		}
		if val.Kind() == decode.Sequence {
			val.Sequence(key, func(item decode.Value) { add(key, item) })
			return
		}
		add(key, val)
	})
	return h
}

func (d *decoder) status(v decode.Value, what string) int {
	if v.Kind() != decode.Int {
		v.Fail("%s: want a status code, got %s", what, v.Describe())
	}
	code := int(v.Int(what, math.MinInt32, math.MaxInt32-1))
	if m := checkStatus(code); m != "" {
		v.Fail("%s", m)
	}
	return code
}
