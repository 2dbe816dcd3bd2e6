// Package decode is RetryLab's one strict, positioned decoder for the YAML
// and JSON it reads (scenario files, admin uploads, policy files).
//
// [Decode] bounds the input with internal/yamlguard, parses it with
// goccy/go-yaml (JSON is YAML's flow style, so both take the same path) and
// hands the caller the document's root [Value]. The caller walks it with
// Value's methods: Mapping rejects unknown keys (naming the nearest valid
// one, see [Nearest]) and duplicate keys, the typed accessors reject values
// of the wrong type, and [Value.Fail] reports a problem at the value's
// place. Every problem is an [*Error] naming file:line:col; the walk
// unwinds at the first one. With Options.Positions, the positions of every
// mapping key decoded are returned too, keyed by their path
// ("backoff.jitter", "routes[0].steps[2].fault").
package decode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/retrylab/retrylab/internal/yamlguard"
)

// Pos is a 1-based line and column in the decoded data.
type Pos struct{ Line, Column int }

// Error is a decoding problem at a place in the input. Error returns
// "file:line:col: msg", or "line:col: msg" when File is "".
type Error struct {
	File         string // the name given to Decode
	Line, Column int    // 1-based
	Msg          string // what is wrong, without the place
}

func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Options configures Decode.
type Options struct {
	// Context stops the walk with its error once it is done (checked every
	// 64 list items); nil means never.
	Context context.Context
	// Limits bound the input before it is parsed.
	Limits yamlguard.Limits
	// Aliases lets an alias (*name) stand for the value of its anchor, and
	// merge keys (<<: *name) merge a mapping into another; without it an
	// alias is an error and << an unknown key.
	Aliases bool
	// JSON says the data is JSON: an unquoted scalar is then a number when
	// it reads as one (YAML reads 1e3 as a string), and duplicate keys are
	// "duplicate key", not "duplicate field".
	JSON bool
	// What names the document in messages: "a scenario file holds one YAML
	// document". Empty means "document".
	What string
	// Positions asks Decode to return the position of every mapping key the
	// walk visits, and gives each Value its Path.
	Positions bool
}

const (
	// maxMessageRunes bounds the message of an error (messages quote input).
	maxMessageRunes = 512
	// maxPathKeyRunes bounds a key in a path.
	maxPathKeyRunes = 256
)

// state is one decoding run.
type state struct {
	opts    Options
	name    string
	anchors map[string][]*ast.AnchorNode // by name, in document order (with Options.Aliases)
	pos     map[string]Pos
	items   int
	merged  int // fields merged in by merge keys, bounded by maxMergedFields
}

// failure unwinds the walk with an error.
type failure struct{ err error }

// Decode decodes data, calling walk with the root of its one document (a
// null Value when data holds none). name is what errors cite. It returns
// the first problem found, by Decode or by walk through Value.Fail and the
// accessors, as an *Error (or the context's error), and, with
// Options.Positions, the position of every mapping key walk visited.
func Decode(name string, data []byte, opts Options, walk func(root Value)) (map[string]Pos, error) {
	return run(name, opts, walk, func(s *state) ast.Node {
		if ge := yamlguard.Check(data, opts.Limits); ge != nil {
			panic(failure{&Error{File: name, Line: max(ge.Line, 1), Column: max(ge.Column, 1), Msg: ge.Msg}})
		}
		f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
		if err != nil {
			var ye yaml.Error
			if errors.As(err, &ye) {
				s.failAt(ye.GetToken(), "%s", ye.GetMessage())
			}
			s.failAt(nil, "%v", err)
		}
		if len(f.Docs) > 1 {
			what := opts.What
			if what == "" {
				what = "document"
			}
			tk := f.Docs[1].Start
			if tk == nil {
				tk = f.Docs[1].GetToken()
			}
			s.failAt(tk, "a %s holds one YAML document, found %d", what, len(f.Docs))
		}
		if len(f.Docs) == 1 {
			return f.Docs[0].Body
		}
		return nil
	})
}

// DecodeNode is Decode for a node that goccy/go-yaml already parsed (as
// handed to an UnmarshalYAML method): positions are those of the node's
// file. Options.Limits do not apply.
func DecodeNode(name string, node ast.Node, opts Options, walk func(root Value)) (map[string]Pos, error) {
	return run(name, opts, walk, func(*state) ast.Node { return node })
}

func run(name string, opts Options, walk func(Value), parse func(*state) ast.Node) (pos map[string]Pos, err error) {
	s := &state{opts: opts, name: name}
	if opts.Positions {
		s.pos = map[string]Pos{}
	}
	if opts.Context == nil {
		s.opts.Context = context.Background()
	}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			pos, err = nil, f.err
		}
	}()
	if err := s.opts.Context.Err(); err != nil {
		return nil, err
	}
	root := parse(s)
	if opts.Aliases && root != nil {
		s.anchors = map[string][]*ast.AnchorNode{}
		ast.Walk(anchorCollector(s.anchors), root)
	}
	walk(Value{s: s, n: root})
	return s.pos, nil
}

func (s *state) failAt(tk *token.Token, format string, args ...any) {
	line, col := 1, 1
	if tk != nil && tk.Position != nil {
		line, col = tk.Position.Line, tk.Position.Column
	}
	msg := fmt.Sprintf(format, args...)
	if c := Clip(msg, maxMessageRunes); len(c) < len(msg) {
		msg = c + "…"
	}
	panic(failure{&Error{File: s.name, Line: line, Column: col, Msg: msg}})
}

// Value is one node of the document being decoded. It is valid only during
// the walk given to Decode.
type Value struct {
	s    *state
	n    ast.Node // nil for an empty document
	path string
}

// Kind is the type of a Value.
type Kind int

// The kinds of a Value.
const (
	Null Kind = iota
	String
	Int
	Float
	Bool
	Mapping
	Sequence
	Other
)

// Path returns the value's key path from the root, "backoff.jitter" or
// "routes[0].steps[2]" ("" for the root), when Options.Positions is set;
// "" otherwise. Keys longer than 256 runes are clipped in paths, so that
// the work of building them stays linear in the input.
func (v Value) Path() string { return v.path }

// Pos returns where the value starts (for a block mapping, its first key).
func (v Value) Pos() Pos {
	tk := v.token()
	if tk == nil || tk.Position == nil {
		return Pos{1, 1}
	}
	return Pos{tk.Position.Line, tk.Position.Column}
}

func (v Value) token() *token.Token {
	switch m := v.n.(type) {
	case nil:
		return nil
	case *ast.MappingNode: // point at the first key, not at a colon
		if len(m.Values) > 0 && !m.IsFlowStyle {
			return m.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		return m.Key.GetToken()
	}
	return v.n.GetToken()
}

// Fail ends the walk with an error at v. It does not return.
func (v Value) Fail(format string, args ...any) {
	v.s.failAt(v.token(), format, args...)
}

// node returns v's node, looking through anchors and tags and, with
// Options.Aliases, aliases; without it an alias fails.
func (v Value) node() ast.Node {
	n := v.n
	for range 64 {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			if !v.s.opts.Aliases {
				v.Fail("aliases are not supported")
			}
			name := t.Value.GetToken().Value
			target := anchorBefore(v.s.anchors[name], t.GetToken())
			if target == nil {
				v.Fail("unknown alias %q", name)
			}
			n = target
		default:
			return n
		}
	}
	v.Fail("anchors and aliases nested too deeply")
	return nil
}

// anchorCollector records the anchors of a document.
type anchorCollector map[string][]*ast.AnchorNode

func (c anchorCollector) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok {
		name := a.Name.GetToken().Value
		c[name] = append(c[name], a)
	}
	return c
}

// anchorBefore returns the value of the last of anchors defined before the
// alias token at, as YAML resolves an alias; nil if none is.
func anchorBefore(anchors []*ast.AnchorNode, at *token.Token) ast.Node {
	var found ast.Node
	for _, a := range anchors {
		if before(a.GetToken(), at) {
			found = a.Value
		}
	}
	return found
}

func before(a, b *token.Token) bool {
	if a == nil || b == nil || a.Position == nil || b.Position == nil {
		return false
	}
	pa, pb := a.Position, b.Position
	return pa.Line < pb.Line || pa.Line == pb.Line && pa.Column < pb.Column
}

// Kind returns the type of v's value.
func (v Value) Kind() Kind {
	switch n := v.node().(type) {
	case nil, *ast.NullNode:
		return Null
	case *ast.StringNode:
		if v.s.opts.JSON && n.GetToken().Type == token.StringType {
			if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return Float
			}
		}
		return String
	case *ast.LiteralNode:
		return String
	case *ast.IntegerNode:
		return Int
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return Float
	case *ast.BoolNode:
		return Bool
	case *ast.MappingNode, *ast.MappingValueNode:
		return Mapping
	case *ast.SequenceNode:
		return Sequence
	}
	return Other
}

// Text returns v as written in the source ("4", `"4"`, '429', 2.0).
func (v Value) Text() string {
	if v.n == nil {
		return ""
	}
	return v.node().String()
}

// Describe names v's kind and value for messages: `the string "x"`, "the
// number 3", "a mapping", "nothing".
func (v Value) Describe() string {
	n := v.node()
	switch v.Kind() {
	case Null:
		return "nothing"
	case String:
		s, _ := v.AsString()
		return fmt.Sprintf("the string %q", s)
	case Int, Float:
		return "the number " + n.GetToken().Value
	case Bool:
		return "the boolean " + n.GetToken().Value
	case Mapping:
		return "a mapping"
	case Sequence:
		return "a list"
	}
	return n.Type().String()
}

// AsString returns the text of a string value.
func (v Value) AsString() (string, bool) {
	switch s := v.node().(type) {
	case *ast.StringNode:
		return s.Value, v.Kind() == String
	case *ast.LiteralNode:
		return s.Value.Value, true
	}
	return "", false
}

// AsInt returns an integer value that fits an int64.
func (v Value) AsInt() (int64, bool) {
	in, ok := v.node().(*ast.IntegerNode)
	if !ok {
		return 0, false
	}
	switch x := in.Value.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// AsFloat returns a number value (an integer or a float).
func (v Value) AsFloat() (float64, bool) {
	switch x := v.node().(type) {
	case *ast.FloatNode:
		return x.Value, true
	case *ast.IntegerNode:
		f, err := strconv.ParseFloat(x.GetToken().Value, 64)
		return f, err == nil
	case *ast.StringNode:
		if v.Kind() == Float {
			f, err := strconv.ParseFloat(x.Value, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// AsBool returns a boolean value.
func (v Value) AsBool() (bool, bool) {
	b, ok := v.node().(*ast.BoolNode)
	if !ok {
		return false, false
	}
	return b.Value, true
}

// Mapping calls f for each entry of a mapping in order, failing when v is
// not a mapping ("what: want a mapping, got ..."), on a duplicate key, and,
// when known is not nil, on a key outside known (naming the nearest one).
func (v Value) Mapping(what string, known []string, f func(key string, k, val Value)) {
	entries := v.entries(what, 0)
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		k := Value{s: v.s, n: e.Key}
		key := k.keyText()
		if seen[key] {
			if v.s.opts.JSON {
				k.Fail("duplicate key %q", key)
			}
			k.Fail("duplicate field %q", key)
		}
		seen[key] = true
		if known != nil && !contains(known, key) {
			k.Fail("unknown field %q%s", key, DidYouMean(key, known))
		}
		var path string
		if v.s.pos != nil {
			path = Clip(key, maxPathKeyRunes)
			if v.path != "" {
				path = v.path + "." + path
			}
			v.s.pos[path] = k.Pos()
		}
		k.path = path
		f(key, k, Value{s: v.s, n: e.Value, path: path})
	}
}

// Bounds of merge keys ("<<: *base"), which could otherwise expand a small
// document into a huge one, or forever.
const (
	maxMergeDepth   = 8
	maxMergedFields = 1 << 12
)

// entries returns the entries of a mapping. With Options.Aliases, merge
// keys ("<<: *base", "<<: [*a, *b]") are expanded as YAML defines them:
// the mapping's own keys win over merged ones, and earlier merged mappings
// over later ones.
func (v Value) entries(what string, depth int) []*ast.MappingValueNode {
	var own []*ast.MappingValueNode
	switch m := v.node().(type) {
	case *ast.MappingNode:
		own = m.Values
	case *ast.MappingValueNode:
		own = []*ast.MappingValueNode{m}
	default:
		v.Fail("%s: want a mapping, got %s", what, v.Describe())
	}
	if !v.s.opts.Aliases {
		return own
	}
	var out, merged []*ast.MappingValueNode
	for _, e := range own {
		if _, ok := e.Key.(*ast.MergeKeyNode); !ok {
			out = append(out, e)
			continue
		}
		val := Value{s: v.s, n: e.Value}
		if depth == maxMergeDepth {
			val.Fail("merge keys nested deeper than %d levels", maxMergeDepth)
		}
		sources := []Value{val}
		if val.Kind() == Sequence {
			sources = nil
			val.Sequence("<<", func(item Value) { sources = append(sources, item) })
		}
		for _, src := range sources {
			if src.Kind() != Mapping {
				src.Fail("<<: want a mapping (or a list of mappings) to merge, got %s", src.Describe())
			}
			merged = append(merged, src.entries("<<", depth+1)...)
			if v.s.merged += len(merged); v.s.merged > maxMergedFields {
				src.Fail("merge keys expand to more than %d fields", maxMergedFields)
			}
		}
	}
	if len(merged) == 0 {
		return out
	}
	have := make(map[string]bool, len(out)+len(merged))
	for _, e := range out {
		have[Value{s: v.s, n: e.Key}.keyText()] = true
	}
	for _, e := range merged {
		if k := (Value{s: v.s, n: e.Key}).keyText(); !have[k] {
			have[k] = true
			out = append(out, e)
		}
	}
	return out
}

func (v Value) keyText() string {
	switch k := v.node().(type) {
	case nil:
		return ""
	case *ast.StringNode:
		return k.Value
	default:
		return k.GetToken().Value
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

// Sequence calls f for each item of a list, failing when v is not a list
// ("what: want a list, got ..."). It stops with the context's error once
// the context of Decode is done.
func (v Value) Sequence(what string, f func(item Value)) {
	sq, ok := v.node().(*ast.SequenceNode)
	if !ok {
		v.Fail("%s: want a list, got %s", what, v.Describe())
	}
	for i, item := range sq.Values {
		if v.s.items++; v.s.items%64 == 0 {
			if err := v.s.opts.Context.Err(); err != nil {
				panic(failure{err})
			}
		}
		var path string
		if v.s.pos != nil {
			path = v.path + "[" + strconv.Itoa(i) + "]"
		}
		f(Value{s: v.s, n: item, path: path})
	}
}

// String returns a string value, failing with "what: want a string, got
// ..." for any other.
func (v Value) String(what string) string {
	s, ok := v.AsString()
	if !ok {
		v.Fail("%s: want a string, got %s", what, v.Describe())
	}
	return s
}

// Scalar returns the text of any scalar: a string, or a number or boolean
// as written (header values and bodies may be numbers).
func (v Value) Scalar(what string) string {
	switch v.Kind() {
	case Int, Float, Bool:
		return v.node().GetToken().Value
	}
	return v.String(what)
}

// Int returns an integer value in [lo, hi], failing with "what: want an
// integer, got ..." or "what: N out of range lo..hi" ("what: N must be at
// least lo" when hi is math.MaxInt32).
func (v Value) Int(what string, lo, hi int64) int64 {
	if v.Kind() != Int {
		v.Fail("%s: want an integer, got %s", what, v.Describe())
	}
	n, ok := v.AsInt()
	if !ok {
		v.Fail("%s: %s out of range", what, v.Text())
	}
	if n < lo || n > hi {
		if hi == math.MaxInt32 {
			v.Fail("%s: %d must be at least %d", what, n, lo)
		}
		v.Fail("%s: %d out of range %d..%d", what, n, lo, hi)
	}
	return n
}

// Float returns a number value, failing with "what: want a number, got ...".
func (v Value) Float(what string) float64 {
	f, ok := v.AsFloat()
	if !ok {
		v.Fail("%s: want a number, got %s", what, v.Describe())
	}
	return f
}

// Duration returns a non-negative duration written as a Go duration string
// ("250ms"); a bare number is an error, since its unit would be a guess.
func (v Value) Duration(what string) time.Duration {
	if k := v.Kind(); k == Int || k == Float {
		v.Fail("%s: want a duration string such as \"250ms\", got the bare number %s", what, v.Text())
	}
	s := v.String(what)
	d, err := time.ParseDuration(s)
	if err != nil {
		v.Fail("%s: invalid duration %q (want a Go duration such as \"250ms\")", what, s)
	}
	if d < 0 {
		v.Fail("%s: %v must not be negative", what, d)
	}
	return d
}
