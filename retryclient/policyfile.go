package retryclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/retrylab/retrylab/internal/decode"
	"github.com/retrylab/retrylab/internal/yamlguard"
)

// policyWire is the serialised form of a Policy. Pointers tell a missing
// field (keep the default) from a zero one.
type policyWire struct {
	MaxAttempts     *int            `yaml:"max-attempts,omitempty" json:"max-attempts,omitempty"`
	Backoff         *backoffWire    `yaml:"backoff,omitempty" json:"backoff,omitempty"`
	RetryStatuses   *[]int          `yaml:"retry-statuses,omitempty" json:"retry-statuses,omitempty"`
	RetryAfter      *retryAfterWire `yaml:"retry-after,omitempty" json:"retry-after,omitempty"`
	MaxElapsed      *wireDuration   `yaml:"max-elapsed,omitempty" json:"max-elapsed,omitempty"`
	AttemptTimeout  *wireDuration   `yaml:"attempt-timeout,omitempty" json:"attempt-timeout,omitempty"`
	MaxBufferedBody *int64          `yaml:"max-buffered-body,omitempty" json:"max-buffered-body,omitempty"`
	RetryDNSErrors  *bool           `yaml:"retry-dns-errors,omitempty" json:"retry-dns-errors,omitempty"`
	// Written only when set, so policies without them read as before.
	RetryMethods *[]string   `yaml:"retry-methods,omitempty" json:"retry-methods,omitempty"`
	Budget       *budgetWire `yaml:"budget,omitempty" json:"budget,omitempty"`
}

type budgetWire struct {
	Tokens *float64 `yaml:"tokens,omitempty" json:"tokens,omitempty"`
	Ratio  *float64 `yaml:"ratio,omitempty" json:"ratio,omitempty"`
}

type backoffWire struct {
	Kind       *wireKind     `yaml:"kind,omitempty" json:"kind,omitempty"`
	Initial    *wireDuration `yaml:"initial,omitempty" json:"initial,omitempty"`
	Multiplier *float64      `yaml:"multiplier,omitempty" json:"multiplier,omitempty"`
	Max        *wireDuration `yaml:"max,omitempty" json:"max,omitempty"`
	Jitter     *wireJitter   `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	// Written only when set, so policies without them read as before.
	RandomizationFactor *float64      `yaml:"randomization-factor,omitempty" json:"randomization-factor,omitempty"`
	MaxJitter           *wireDuration `yaml:"max-jitter,omitempty" json:"max-jitter,omitempty"`
	Min                 *wireDuration `yaml:"min,omitempty" json:"min,omitempty"`
}

type retryAfterWire struct {
	Honor *bool         `yaml:"honor,omitempty" json:"honor,omitempty"`
	Cap   *wireDuration `yaml:"cap,omitempty" json:"cap,omitempty"`
}

// wireDuration is a duration written as a Go duration string.
type wireDuration time.Duration

func (d wireDuration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d wireDuration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

// wireKind is a backoff kind word.
type wireKind string

// wireJitter is a jitter kind word.
type wireJitter string

// Limits of a serialised policy, YAML or JSON. A policy needs a few
// hundred bytes and three levels of nesting; anything far larger is refused
// before it reaches a parser (the YAML parser's memory grows with the
// square of the nesting depth).
const (
	// MaxPolicySize is the largest policy document accepted.
	MaxPolicySize = 1 << 20
	// MaxPolicyDepth is the deepest nesting accepted.
	MaxPolicyDepth = 16
)

// wire returns the full serialised form of p.
func (p Policy) wire() policyWire {
	kind, jitter := wireKind(p.Backoff.Kind), wireJitter(p.Backoff.Jitter)
	initial, maxd := wireDuration(p.Backoff.Initial), wireDuration(p.Backoff.Max)
	mult := p.Backoff.Multiplier
	statuses := append([]int{}, p.RetryStatuses...)
	honor, raCap := p.RetryAfter.Honor, wireDuration(p.RetryAfter.Cap)
	maxAttempts, elapsed, timeout := p.MaxAttempts, wireDuration(p.MaxElapsed), wireDuration(p.AttemptTimeout)
	buffered, dns := p.MaxBufferedBody, p.RetryDNSErrors
	backoff := &backoffWire{Kind: &kind, Initial: &initial, Multiplier: &mult, Max: &maxd, Jitter: &jitter}
	if f := p.Backoff.RandomizationFactor; f != 0 {
		backoff.RandomizationFactor = &f
	}
	if j := wireDuration(p.Backoff.MaxJitter); j != 0 {
		backoff.MaxJitter = &j
	}
	if m := wireDuration(p.Backoff.Min); m != 0 {
		backoff.Min = &m
	}
	w := policyWire{
		MaxAttempts:     &maxAttempts,
		Backoff:         backoff,
		RetryStatuses:   &statuses,
		RetryAfter:      &retryAfterWire{Honor: &honor, Cap: &raCap},
		MaxElapsed:      &elapsed,
		AttemptTimeout:  &timeout,
		MaxBufferedBody: &buffered,
		RetryDNSErrors:  &dns,
	}
	if len(p.RetryMethods) > 0 {
		methods := slices.Clone(p.RetryMethods)
		w.RetryMethods = &methods
	}
	if b := p.Budget; b != (BudgetSpec{}) {
		w.Budget = &budgetWire{Tokens: &b.Tokens, Ratio: &b.Ratio}
	}
	return w
}

// MarshalYAML renders p with kebab-case keys and duration strings, the form
// [ParsePolicy] reads.
func (p Policy) MarshalYAML() (any, error) { return p.wire(), nil }

// MarshalJSON renders p with the same keys as YAML and duration strings.
func (p Policy) MarshalJSON() ([]byte, error) { return json.Marshal(p.wire()) }

// policyLimits bound a serialised policy before it is parsed.
var policyLimits = yamlguard.Limits{MaxBytes: MaxPolicySize, MaxDepth: MaxPolicyDepth}

// PolicyFile is a policy decoded from a file, with the place of each field
// the file sets, so that a tool can report a finding about a field at the
// line that set it. It is not modified after ParsePolicyFile returns it and
// is safe for concurrent use.
type PolicyFile struct {
	// Name is the name given to ParsePolicyFile, which errors cite.
	Name string
	// Policy is the decoded policy: DefaultPolicy with the file's fields
	// applied, validated.
	Policy Policy

	pos map[string]decode.Pos
}

// Pos returns the 1-based line and column of the key that sets field in the
// file, or 0, 0 when the file does not set it. field is a key path of the
// serialised form: a top-level key such as "max-attempts" or a nested one
// joined with dots, such as "backoff.jitter" or "retry-after.cap".
func (f *PolicyFile) Pos(field string) (line, col int) {
	p, ok := f.pos[field]
	if !ok {
		return 0, 0
	}
	return p.Line, p.Column
}

// Fields returns the key paths the file sets (those Pos knows), sorted.
func (f *PolicyFile) Fields() []string {
	return slices.Sorted(maps.Keys(f.pos))
}

// ParsePolicyFile decodes a policy as [ParsePolicy] does and returns it
// with the position of every field the file sets (see [PolicyFile.Pos]).
// YAML and JSON are read alike (JSON is YAML's flow style).
func ParsePolicyFile(name string, data []byte) (*PolicyFile, error) {
	p := DefaultPolicy()
	opts := decode.Options{Limits: policyLimits, Aliases: true, What: "policy file", Positions: true}
	pos, err := decode.Decode(name, data, opts, func(root decode.Value) { policyDecoder{}.root(root, &p) })
	if err != nil {
		return nil, positionError(name, err)
	}
	if err := p.Validate(); err != nil {
		return nil, positionValidation(name, pos, err)
	}
	return &PolicyFile{Name: name, Policy: p, pos: pos}, nil
}

// positionError converts a decoding error to a *PositionError.
func positionError(name string, err error) error {
	var de *decode.Error
	if errors.As(err, &de) {
		return &PositionError{Name: name, Line: de.Line, Column: de.Column, Msg: de.Msg}
	}
	if name != "" {
		return fmt.Errorf("%s: %w", name, err)
	}
	return err
}

// PositionError is a policy decoding error at a place in the source. It is
// not modified after it is returned and is safe to share.
type PositionError struct {
	// Name is the source name given to [ParsePolicy] ("" if none).
	Name string
	// Line and Column are 1-based.
	Line, Column int
	// Msg describes the problem.
	Msg string
}

// Error renders "name:line:col: msg".
func (e *PositionError) Error() string {
	prefix := ""
	if e.Name != "" {
		prefix = e.Name + ":"
	}
	return fmt.Sprintf("%s%d:%d: %s", prefix, e.Line, e.Column, e.Msg)
}

// ParsePolicy decodes a policy from YAML (or JSON). Keys are kebab-case
// (max-attempts, backoff: {kind, initial, multiplier, max, jitter, randomization-factor, max-jitter, min},
// retry-statuses, retry-after: {honor, cap}, max-elapsed, attempt-timeout,
// max-buffered-body, retry-dns-errors); durations are strings like "250ms".
// Missing fields keep their [DefaultPolicy] values. Decoding is strict:
// unknown or duplicate keys, unknown words and values of the wrong YAML
// type (a quoted "4" or a 2.0 for an integer) are errors of type
// [*PositionError] naming name:line:column and, for unknown words, the
// nearest valid one when close. The result is validated with
// [Policy.Validate]; each problem it finds is a [*PositionError] at the
// key it came from (several are joined with errors.Join).
// [ParsePolicyFile] also returns where each field was set.
//
// Input larger than [MaxPolicySize] or nested deeper than [MaxPolicyDepth]
// is refused before it is parsed, with the place where the limit was
// crossed.
func ParsePolicy(name string, data []byte) (Policy, error) {
	f, err := ParsePolicyFile(name, data)
	if err != nil {
		return Policy{}, err
	}
	return f.Policy, nil
}

// UnmarshalYAML decodes p strictly from a YAML node (goccy/go-yaml), as
// [ParsePolicy] does; missing fields keep their [DefaultPolicy] values.
func (p *Policy) UnmarshalYAML(node ast.Node) error {
	v := DefaultPolicy()
	opts := decode.Options{Aliases: true, Positions: true}
	pos, err := decode.DecodeNode("", node, opts, func(root decode.Value) { policyDecoder{}.root(root, &v) })
	if err != nil {
		return positionError("", err)
	}
	if err := v.Validate(); err != nil {
		return positionValidation("", pos, err)
	}
	*p = v
	return nil
}

// UnmarshalJSON decodes p strictly, through the same decoder as
// [ParsePolicy]: keys must match exactly (case included) and appear once,
// unknown fields and values of the wrong type are errors; missing fields
// keep their [DefaultPolicy] values. The result is validated. Input beyond
// [MaxPolicySize] or [MaxPolicyDepth] is refused before it is decoded.
// Since b is usually a fragment of a larger document, a problem other than
// a limit is reported by key path, without a line and column.
func (p *Policy) UnmarshalJSON(b []byte) error {
	if ge := yamlguard.Check(b, policyLimits); ge != nil {
		pe := &PositionError{Line: max(ge.Line, 1), Column: max(ge.Column, 1), Msg: ge.Msg}
		return fmt.Errorf("retryclient: decoding policy: %w", pe)
	}
	v := DefaultPolicy()
	opts := decode.Options{JSON: true, Positions: true} // paths name the fields
	_, err := decode.Decode("", b, opts, func(root decode.Value) { policyDecoder{json: true}.root(root, &v) })
	if err != nil {
		var de *decode.Error
		if errors.As(err, &de) {
			return fmt.Errorf("retryclient: decoding policy: %s", de.Msg)
		}
		return fmt.Errorf("retryclient: decoding policy: %w", err)
	}
	if err := v.Validate(); err != nil {
		return err
	}
	*p = v
	return nil
}
