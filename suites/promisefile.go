package suites

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/retrylab/retrylab/internal/yamlguard"
	"github.com/retrylab/retrylab/retryclient"
)

// Limits of a promise file: a promise needs a few hundred bytes and two
// levels of nesting.
const (
	maxPromiseSize  = 64 << 10
	maxPromiseDepth = 8
)

// promiseWire is the file form of a Promise: kebab-case keys, durations as
// Go duration strings.
type promiseWire struct {
	MaxAttempts           int          `yaml:"max-attempts"`
	InitialBackoff        wireDuration `yaml:"initial-backoff"`
	Multiplier            float64      `yaml:"multiplier"`
	MaxBackoff            wireDuration `yaml:"max-backoff"`
	Jitter                string       `yaml:"jitter"`
	Backoff               *backoffWire `yaml:"backoff"`
	RetriedStatuses       []int        `yaml:"retried-statuses"`
	MaxElapsed            wireDuration `yaml:"max-elapsed"`
	RetryAfter            bool         `yaml:"retry-after"`
	RetryAfterCap         wireDuration `yaml:"retry-after-cap"`
	RetryAfterSecondsOnly bool         `yaml:"retry-after-seconds-only"`
	IdempotencyKeys       bool         `yaml:"idempotency-keys"`
	AttemptTimeout        wireDuration `yaml:"attempt-timeout"`
}

type backoffWire struct {
	Kind                string       `yaml:"kind"`
	Initial             wireDuration `yaml:"initial"`
	Multiplier          float64      `yaml:"multiplier"`
	Max                 wireDuration `yaml:"max"`
	Jitter              string       `yaml:"jitter"`
	RandomizationFactor float64      `yaml:"randomization-factor"`
	MaxJitter           wireDuration `yaml:"max-jitter"`
	Min                 wireDuration `yaml:"min"`
}

// wireDuration is a duration written as a string like "250ms".
type wireDuration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *wireDuration) UnmarshalYAML(node ast.Node) error {
	s, ok := node.(*ast.StringNode)
	if !ok {
		return positioned(node, fmt.Sprintf("durations are strings like \"250ms\", got %s", node.String()))
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		return positioned(node, fmt.Sprintf("invalid duration %q (want a string like \"250ms\")", s.Value))
	}
	*d = wireDuration(v)
	return nil
}

// positionError is a problem at a place of a promise file.
type positionError struct {
	line, col int
	msg       string
}

func (e *positionError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

func positioned(node ast.Node, msg string) error {
	e := &positionError{line: 1, col: 1, msg: msg}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		e.line, e.col = tk.Position.Line, tk.Position.Column
	}
	return e
}

var jitterWords = []string{"", string(retryclient.JitterNone), string(retryclient.JitterFull), string(retryclient.JitterEqual),
	string(retryclient.JitterDecorrelated), string(retryclient.JitterRandomized), string(retryclient.JitterAdditive)}

// ParsePromise decodes a Promise from YAML (or JSON, which is YAML too).
// Keys are kebab-case forms of the Promise's fields: max-attempts,
// initial-backoff, multiplier, max-backoff, jitter, backoff (kind, initial,
// multiplier, max, jitter, randomization-factor, max-jitter, min),
// retried-statuses, max-elapsed, retry-after, retry-after-cap,
// retry-after-seconds-only, idempotency-keys, attempt-timeout. Durations are
// strings like "250ms". Decoding is strict: an unknown or duplicate key, a
// value of the wrong type or an unknown jitter word is an error naming
// name:line:column; input over 64 KiB or nested deeper than 8 levels is
// refused before it is parsed. The result is checked with
// [Promise.Validate].
func ParsePromise(name string, data []byte) (Promise, error) {
	p, err := parsePromise(data)
	if err != nil {
		return Promise{}, fmt.Errorf("%s:%w", name, err)
	}
	return p, nil
}

func parsePromise(data []byte) (Promise, error) {
	if ge := yamlguard.Check(data, yamlguard.Limits{MaxBytes: maxPromiseSize, MaxDepth: maxPromiseDepth}); ge != nil {
		return Promise{}, &positionError{line: max(ge.Line, 1), col: max(ge.Column, 1), msg: ge.Msg}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Promise{}, &positionError{line: 1, col: 1, msg: "the promise is empty; say what the client promises (max-attempts, retry-after …) or pass no --promise"}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Promise{}, yamlPositionError(err)
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return Promise{}, &positionError{line: 1, col: 1, msg: "a promise file holds one YAML document"}
	}
	body := file.Docs[0].Body
	if _, ok := body.(*ast.MappingNode); !ok {
		return Promise{}, positioned(body, "a promise is a mapping of keys like max-attempts and retry-after")
	}
	var w promiseWire
	if err := yaml.NodeToValue(body, &w, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return Promise{}, yamlPositionError(err)
	}
	for _, j := range []struct {
		word string
		at   ast.Node
	}{{w.Jitter, valueOf(body, "jitter")}, {backoffJitter(w.Backoff), valueOf(valueOf(body, "backoff"), "jitter")}} {
		if !contains(jitterWords, j.word) {
			return Promise{}, positioned(j.at, fmt.Sprintf("unknown jitter %q (want one of none, full, equal, decorrelated, randomized, additive)", j.word))
		}
	}
	p := Promise{
		MaxAttempts:           w.MaxAttempts,
		InitialBackoff:        time.Duration(w.InitialBackoff),
		Multiplier:            w.Multiplier,
		MaxBackoff:            time.Duration(w.MaxBackoff),
		Jitter:                retryclient.JitterKind(w.Jitter),
		RetriedStatuses:       w.RetriedStatuses,
		MaxElapsed:            time.Duration(w.MaxElapsed),
		RetryAfter:            w.RetryAfter,
		RetryAfterCap:         time.Duration(w.RetryAfterCap),
		RetryAfterSecondsOnly: w.RetryAfterSecondsOnly,
		IdempotencyKeys:       w.IdempotencyKeys,
		AttemptTimeout:        time.Duration(w.AttemptTimeout),
	}
	if b := w.Backoff; b != nil {
		p.Backoff = retryclient.Backoff{
			Kind: retryclient.BackoffKind(b.Kind), Initial: time.Duration(b.Initial), Multiplier: b.Multiplier,
			Max: time.Duration(b.Max), Jitter: retryclient.JitterKind(b.Jitter),
			RandomizationFactor: b.RandomizationFactor, MaxJitter: time.Duration(b.MaxJitter), Min: time.Duration(b.Min),
		}
	}
	if err := p.Validate(); err != nil {
		// The problem is between fields: cite the promise's first key.
		return Promise{}, positioned(firstKey(body), oneLine(err))
	}
	return p, nil
}

// valueOf returns the value of key in the mapping node, or node itself
// when there is none (so a position can always be cited).
func valueOf(node ast.Node, key string) ast.Node {
	if m, ok := node.(*ast.MappingNode); ok {
		for _, v := range m.Values {
			if v.Key != nil && v.Key.String() == key {
				return v.Value
			}
		}
	}
	return node
}

// firstKey returns the first key of the mapping node, or node.
func firstKey(node ast.Node) ast.Node {
	if m, ok := node.(*ast.MappingNode); ok && len(m.Values) > 0 && m.Values[0].Key != nil {
		return m.Values[0].Key
	}
	return node
}

func backoffJitter(b *backoffWire) string {
	if b == nil {
		return ""
	}
	return b.Jitter
}

func contains(words []string, w string) bool {
	for _, v := range words {
		if v == w {
			return true
		}
	}
	return false
}

// yamlPositionError turns a goccy/go-yaml error into a positionError.
func yamlPositionError(err error) error {
	var pe *positionError
	if errors.As(err, &pe) {
		return pe
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &positionError{line: 1, col: 1, msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.line, e.col = tk.Position.Line, tk.Position.Column
		}
		var uf *yaml.UnknownFieldError
		if errors.As(err, &uf) && uf.Token != nil {
			e.msg = fmt.Sprintf("unknown key %q (keys: max-attempts, initial-backoff, multiplier, max-backoff, jitter, backoff, retried-statuses, "+
				"max-elapsed, retry-after, retry-after-cap, retry-after-seconds-only, idempotency-keys, attempt-timeout)", uf.Token.Value)
		}
		return e
	}
	return &positionError{line: 1, col: 1, msg: err.Error()}
}

// oneLine joins the lines of err's message.
func oneLine(err error) string {
	return string(bytes.ReplaceAll([]byte(err.Error()), []byte("\n"), []byte("; ")))
}
