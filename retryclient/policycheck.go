package retryclient

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/retrylab/retrylab/internal/decode"
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
	kindDuration
	kindWord
	kindStringList
)

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
	case kindStringList:
		return "a list of strings"
	case kindMapping:
		return "a mapping"
	}
	return "a string"
}

// policyField is one key of the serialised form of a Policy. policyFields
// is the one list of them: the decoder's known keys, its type checks and
// the fields it sets all come from it (the encoder's struct tags are pinned
// to it by a test).
type policyField struct {
	key   string // path in the serialised form: "backoff.jitter"
	kind  scalarKind
	words []string // the valid words, for kindWord
	what  string   // what a word names in messages, for kindWord
	set   func(p *Policy, v any)
}

var (
	backoffKinds = []string{string(BackoffConstant), string(BackoffLinear), string(BackoffExponential)}
	jitterKinds  = []string{string(JitterNone), string(JitterFull), string(JitterEqual), string(JitterDecorrelated), string(JitterRandomized), string(JitterAdditive)}
)

var policyFields = []policyField{
	{key: "max-attempts", kind: kindInt, set: func(p *Policy, v any) { p.MaxAttempts = int(v.(int64)) }},
	{key: "backoff", kind: kindMapping},
	{key: "backoff.kind", kind: kindWord, words: backoffKinds, what: "backoff kind", set: func(p *Policy, v any) { p.Backoff.Kind = BackoffKind(v.(string)) }},
	{key: "backoff.initial", kind: kindDuration, set: func(p *Policy, v any) { p.Backoff.Initial = v.(time.Duration) }},
	{key: "backoff.multiplier", kind: kindNumber, set: func(p *Policy, v any) { p.Backoff.Multiplier = v.(float64) }},
	{key: "backoff.max", kind: kindDuration, set: func(p *Policy, v any) { p.Backoff.Max = v.(time.Duration) }},
	{key: "backoff.jitter", kind: kindWord, words: jitterKinds, what: "jitter", set: func(p *Policy, v any) { p.Backoff.Jitter = JitterKind(v.(string)) }},
	// The jitter parameters of the randomized and additive kinds, and the floor.
	{key: "backoff.randomization-factor", kind: kindNumber, set: func(p *Policy, v any) { p.Backoff.RandomizationFactor = v.(float64) }},
	{key: "backoff.max-jitter", kind: kindDuration, set: func(p *Policy, v any) { p.Backoff.MaxJitter = v.(time.Duration) }},
	{key: "backoff.min", kind: kindDuration, set: func(p *Policy, v any) { p.Backoff.Min = v.(time.Duration) }},
	{key: "retry-statuses", kind: kindIntList, set: func(p *Policy, v any) { p.RetryStatuses = v.([]int) }},
	{key: "retry-after", kind: kindMapping},
	{key: "retry-after.honor", kind: kindBool, set: func(p *Policy, v any) { p.RetryAfter.Honor = v.(bool) }},
	{key: "retry-after.cap", kind: kindDuration, set: func(p *Policy, v any) { p.RetryAfter.Cap = v.(time.Duration) }},
	{key: "max-elapsed", kind: kindDuration, set: func(p *Policy, v any) { p.MaxElapsed = v.(time.Duration) }},
	{key: "attempt-timeout", kind: kindDuration, set: func(p *Policy, v any) { p.AttemptTimeout = v.(time.Duration) }},
	{key: "max-buffered-body", kind: kindInt, set: func(p *Policy, v any) { p.MaxBufferedBody = v.(int64) }},
	{key: "retry-dns-errors", kind: kindBool, set: func(p *Policy, v any) { p.RetryDNSErrors = v.(bool) }},
	{key: "retry-methods", kind: kindStringList, set: func(p *Policy, v any) { p.RetryMethods = v.([]string) }},
	{key: "budget", kind: kindMapping},
	{key: "budget.tokens", kind: kindNumber, set: func(p *Policy, v any) { p.Budget.Tokens = v.(float64) }},
	{key: "budget.ratio", kind: kindNumber, set: func(p *Policy, v any) { p.Budget.Ratio = v.(float64) }},
}

// policyKeys maps a mapping's path ("" for the top level) to the keys it
// may hold, in the order of policyFields.
var policyKeys = func() map[string][]string {
	m := map[string][]string{}
	for _, f := range policyFields {
		parent, key := "", f.key
		if i := strings.LastIndexByte(f.key, '.'); i >= 0 {
			parent, key = f.key[:i], f.key[i+1:]
		}
		m[parent] = append(m[parent], key)
	}
	return m
}()

var policyFieldByKey = func() map[string]*policyField {
	m := make(map[string]*policyField, len(policyFields))
	for i := range policyFields {
		m[policyFields[i].key] = &policyFields[i]
	}
	return m
}()

// policyDecoder decodes the serialised form over the values already in a
// Policy.
type policyDecoder struct {
	json bool // describe values in JSON's words ("got string")
}

// got describes v for "must be X, got Y": as written in YAML, by its type
// in JSON (as encoding/json does).
func (d policyDecoder) got(v decode.Value) string {
	if !d.json {
		return v.Text()
	}
	switch v.Kind() {
	case decode.Null:
		return "null"
	case decode.String:
		return "string"
	case decode.Int, decode.Float:
		return "number"
	case decode.Bool:
		return "bool"
	case decode.Mapping:
		return "object"
	case decode.Sequence:
		return "array"
	}
	return v.Text()
}

// root decodes a whole policy document over p.
func (d policyDecoder) root(v decode.Value, p *Policy) {
	switch v.Kind() {
	case decode.Null:
		return
	case decode.Mapping:
		d.mapping(v, "", p)
	default:
		if d.json {
			v.Fail("a policy is an object of keys like max-attempts and backoff, got %s", d.got(v))
		}
		v.Fail("a policy is a mapping of keys like max-attempts and backoff")
	}
}

func (d policyDecoder) mapping(v decode.Value, path string, p *Policy) {
	v.Mapping(path, policyKeys[path], func(_ string, _, val decode.Value) {
		d.field(policyFieldByKey[val.Path()], val, p)
	})
}

// field decodes one key's value; a null keeps the default.
func (d policyDecoder) field(f *policyField, v decode.Value, p *Policy) {
	switch {
	case v.Kind() == decode.Null:
	case f.kind == kindMapping:
		d.need(f, v, v.Kind() == decode.Mapping)
		d.mapping(v, f.key, p)
	default:
		f.set(p, d.value(f, v))
	}
}

// need fails with "key must be X, got Y" unless ok.
func (d policyDecoder) need(f *policyField, v decode.Value, ok bool) {
	if !ok {
		v.Fail("%s must be %s, got %s", f.key, f.kind.want(), d.got(v))
	}
}

// value returns the value of a scalar or list key, of the type its set
// function takes.
func (d policyDecoder) value(f *policyField, v decode.Value) any {
	switch f.kind {
	case kindInt:
		n, ok := v.AsInt()
		d.need(f, v, ok && v.Kind() == decode.Int)
		return n
	case kindNumber:
		x, ok := v.AsFloat()
		d.need(f, v, ok)
		return x
	case kindBool:
		b, ok := v.AsBool()
		d.need(f, v, ok)
		return b
	case kindIntList:
		d.need(f, v, v.Kind() == decode.Sequence)
		list := []int{}
		v.Sequence(f.key, func(item decode.Value) {
			n, ok := item.AsInt()
			if item.Kind() != decode.Int || !ok {
				item.Fail("%s must hold integers, got %s", f.key, d.got(item))
			}
			list = append(list, int(n))
		})
		return list
	case kindStringList:
		d.need(f, v, v.Kind() == decode.Sequence)
		list := []string{}
		v.Sequence(f.key, func(item decode.Value) {
			s, ok := item.AsString()
			if !ok {
				item.Fail("%s must hold strings, got %s", f.key, d.got(item))
			}
			list = append(list, s)
		})
		return list
	case kindDuration:
		return d.duration(v)
	}
	return d.word(f, v)
}

// duration returns a duration written as a Go duration string.
func (d policyDecoder) duration(v decode.Value) time.Duration {
	s, ok := v.AsString()
	if !ok {
		v.Fail("durations are strings like \"250ms\", got %s", v.Text())
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		v.Fail("invalid duration %q (want a string like \"250ms\")", s)
	}
	return dur
}

// word returns one of the key's words.
func (d policyDecoder) word(f *policyField, v decode.Value) string {
	s, ok := v.AsString()
	if !ok {
		v.Fail("%s must be one of %q, got %s", f.what, f.words, d.got(v))
	}
	if !contains(f.words, s) {
		if near := decode.DidYouMean(s, f.words); near != "" {
			v.Fail("unknown %s %q%s", f.what, s, near)
		}
		v.Fail("unknown %s %q (want one of %q)", f.what, s, f.words)
	}
	return s
}

func contains(words []string, w string) bool {
	for _, v := range words {
		if v == w {
			return true
		}
	}
	return false
}

// positionValidation attaches to each validation problem the position of
// the key it came from (or of its closest enclosing key present).
func positionValidation(name string, pos map[string]decode.Pos, err error) error {
	var out []error
	for _, e := range leafErrors(err) {
		var fe *fieldError
		if errors.As(e, &fe) {
			if at, ok := lookupPos(pos, fe.key); ok {
				e = &PositionError{Name: name, Line: at.Line, Column: at.Column, Msg: strings.TrimPrefix(fe.msg, "retryclient: ")}
			}
		}
		out = append(out, e)
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// lookupPos returns the position of the key path, or of its closest
// enclosing key present.
func lookupPos(pos map[string]decode.Pos, path string) (decode.Pos, bool) {
	for path != "" {
		if at, ok := pos[path]; ok {
			return at, true
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return decode.Pos{}, false
}
