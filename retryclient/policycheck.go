package retryclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// fieldError is a validation problem with one field of a Policy; key is the
// field's path in the serialised form ("backoff.initial"), so that a
// decoder can point at it.
type fieldError struct {
	key string
	msg string
}

func (e *fieldError) Error() string { return e.msg }

func fieldErrorf(key, format string, args ...any) error {
	return &fieldError{key: key, msg: fmt.Sprintf(format, args...)}
}

// leafErrors flattens errors.Join trees.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// scalarKind is what a key of the serialised form holds.
type scalarKind int

const (
	kindInt scalarKind = iota + 1
	kindNumber
	kindBool
	kindIntList
	kindMapping
	kindString // durations and words: checked by their own decoders
)

// policyShape maps every key path of the serialised form to its kind.
var policyShape = map[string]scalarKind{
	"max-attempts":       kindInt,
	"backoff":            kindMapping,
	"backoff.kind":       kindString,
	"backoff.initial":    kindString,
	"backoff.multiplier": kindNumber,
	"backoff.max":        kindString,
	"backoff.jitter":     kindString,
	"retry-statuses":     kindIntList,
	"retry-after":        kindMapping,
	"retry-after.honor":  kindBool,
	"retry-after.cap":    kindString,
	"max-elapsed":        kindString,
	"attempt-timeout":    kindString,
	"max-buffered-body":  kindInt,
	"retry-dns-errors":   kindBool,

	// The jitter parameters of the randomized and additive kinds, and the floor.
	"backoff.randomization-factor": kindNumber,
	"backoff.max-jitter":           kindString,
	"backoff.min":                  kindString,
}

func (k scalarKind) want() string {
	switch k {
	case kindInt:
		return "an integer"
	case kindNumber:
		return "a number"
	case kindBool:
		return "true or false"
	case kindIntList:
		return "a list of integers"
	case kindMapping:
		return "a mapping"
	}
	return "a string"
}

// checkYAMLShape rejects values of the wrong YAML type before they reach
// the struct decoder, which would accept "4" or 2.0 for an integer and
// name internal types in its errors. Unknown keys are left to the decoder.
func checkYAMLShape(node ast.Node) error {
	anchors := map[string]ast.Node{}
	var walk func(m *ast.MappingNode, prefix string) error
	walk = func(m *ast.MappingNode, prefix string) error {
		for _, mv := range m.Values {
			key := prefix + mv.Key.GetToken().Value
			kind, ok := policyShape[key]
			if !ok {
				continue
			}
			v := resolveYAML(mv.Value, anchors)
			if _, null := v.(*ast.NullNode); null {
				continue
			}
			bad := false
			switch kind {
			case kindInt:
				_, isInt := v.(*ast.IntegerNode)
				bad = !isInt
			case kindNumber:
				_, isInt := v.(*ast.IntegerNode)
				_, isFloat := v.(*ast.FloatNode)
				bad = !isInt && !isFloat
			case kindBool:
				_, isBool := v.(*ast.BoolNode)
				bad = !isBool
			case kindIntList:
				seq, isSeq := v.(*ast.SequenceNode)
				if !isSeq {
					bad = true
					break
				}
				for _, e := range seq.Values {
					e = resolveYAML(e, anchors)
					if _, isInt := e.(*ast.IntegerNode); !isInt {
						return nodeError(e, fmt.Sprintf("%s must hold integers, got %s", key, e.String()))
					}
				}
			case kindMapping:
				sub, isMap := v.(*ast.MappingNode)
				if !isMap {
					bad = true
					break
				}
				if err := walk(sub, key+"."); err != nil {
					return err
				}
			}
			if bad {
				return nodeError(v, fmt.Sprintf("%s must be %s, got %s", key, kind.want(), v.String()))
			}
		}
		return nil
	}
	m, ok := resolveYAML(node, anchors).(*ast.MappingNode)
	if !ok {
		return nil
	}
	return walk(m, "")
}

// resolveYAML looks through anchors, aliases and tags to the value node.
func resolveYAML(n ast.Node, anchors map[string]ast.Node) ast.Node {
	for range 32 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			anchors[v.Name.GetToken().Value] = v.Value
			n = v.Value
		case *ast.AliasNode:
			target, ok := anchors[v.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = target
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	return n
}

// yamlKeyNode returns the key node for path ("retry-after.cap") in the
// mapping node, or nil.
func yamlKeyNode(node ast.Node, path string) ast.Node {
	anchors := map[string]ast.Node{}
	cur := resolveYAML(node, anchors)
	var key ast.Node
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(*ast.MappingNode)
		if !ok {
			return nil
		}
		var next ast.Node
		for _, mv := range m.Values {
			if mv.Key.GetToken().Value == seg {
				key, next = mv.Key, resolveYAML(mv.Value, anchors)
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return key
}

// positionValidation attaches to each validation problem the position of
// the YAML key it came from (or its closest enclosing key present).
func positionValidation(node ast.Node, err error) error {
	var out []error
	for _, e := range leafErrors(err) {
		var fe *fieldError
		if errors.As(e, &fe) {
			placed := false
			for path := fe.key; path != ""; {
				if k := yamlKeyNode(node, path); k != nil {
					out = append(out, nodeError(k, strings.TrimPrefix(fe.msg, "retryclient: ")))
					placed = true
					break
				}
				i := strings.LastIndexByte(path, '.')
				if i < 0 {
					break
				}
				path = path[:i]
			}
			if placed {
				continue
			}
		}
		out = append(out, e)
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// jsonKeys are the keys each JSON object of the serialised form may hold.
var jsonKeys = map[string][]string{
	"":            {"max-attempts", "backoff", "retry-statuses", "retry-after", "max-elapsed", "attempt-timeout", "max-buffered-body", "retry-dns-errors"},
	"backoff":     {"kind", "initial", "multiplier", "max", "jitter", "randomization-factor", "max-jitter", "min"},
	"retry-after": {"honor", "cap"},
}

// checkJSONKeys rejects what encoding/json lets through: keys that match a
// field only case-insensitively, and duplicate keys.
func checkJSONKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		if d == '[' {
			for dec.More() {
				if err := walk(path + "[]"); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			return err
		}
		if d != '{' {
			return nil
		}
		seen := map[string]bool{}
		valid, known := jsonKeys[path]
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			if seen[key] {
				return fmt.Errorf("duplicate key %q", key)
			}
			seen[key] = true
			if known && !contains(valid, key) {
				msg := fmt.Sprintf("unknown field %q", key)
				if s := nearestFold(key, valid); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				return errors.New(msg)
			}
			child := key
			if path != "" {
				child = path + "." + key
			}
			if err := walk(child); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	if err := walk(""); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// jsonTypeError rewrites encoding/json's type errors, which name internal
// Go types, in terms of the serialised form.
func jsonTypeError(err error) error {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) {
		return err
	}
	if k, ok := policyShape[ute.Field]; ok {
		return fmt.Errorf("%s must be %s, got %s", ute.Field, k.want(), ute.Value)
	}
	if i := strings.LastIndex(ute.Field, "."); i >= 0 {
		if k, ok := policyShape[ute.Field[:i]]; ok && k == kindIntList {
			return fmt.Errorf("%s must hold integers, got %s", ute.Field[:i], ute.Value)
		}
	}
	if ute.Field == "" {
		return fmt.Errorf("a policy is an object of keys like max-attempts and backoff, got %s", ute.Value)
	}
	return fmt.Errorf("%s has the wrong type (want %s), got %s", ute.Field, kindOf(ute.Type), ute.Value)
}

func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return kindInt.want()
	case reflect.Float64:
		return kindNumber.want()
	case reflect.Bool:
		return kindBool.want()
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	}
	return kindString.want()
}

// nearestFold is nearest, preferring a word that differs only in case.
func nearestFold(w string, valid []string) string {
	for _, v := range valid {
		if strings.EqualFold(v, w) {
			return v
		}
	}
	return nearest(w, valid)
}
