package retryclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
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

// policyKeys are every key of the serialised form, for "did you mean".
var policyKeys = []string{
	"max-attempts", "backoff", "retry-statuses", "retry-after", "max-elapsed",
	"attempt-timeout", "max-buffered-body", "retry-dns-errors",
	"kind", "initial", "multiplier", "max", "jitter", "randomization-factor", "max-jitter", "min", "honor", "cap",
}

var (
	backoffKinds = []string{string(BackoffConstant), string(BackoffLinear), string(BackoffExponential)}
	jitterKinds  = []string{string(JitterNone), string(JitterFull), string(JitterEqual), string(JitterDecorrelated), string(JitterRandomized), string(JitterAdditive)}
)

// wireDuration is a duration written as a Go duration string.
type wireDuration time.Duration

func (d wireDuration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d wireDuration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

func (d *wireDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("durations are strings like \"250ms\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (want a string like \"250ms\")", s)
	}
	*d = wireDuration(v)
	return nil
}

func (d *wireDuration) UnmarshalYAML(node ast.Node) error {
	s, ok := node.(*ast.StringNode)
	if !ok {
		return nodeError(node, fmt.Sprintf("durations are strings like \"250ms\", got %s", node.String()))
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		return nodeError(node, fmt.Sprintf("invalid duration %q (want a string like \"250ms\")", s.Value))
	}
	*d = wireDuration(v)
	return nil
}

// wireKind is a backoff kind word.
type wireKind string

func (w *wireKind) UnmarshalYAML(node ast.Node) error {
	s, err := wordNode(node, "backoff kind", backoffKinds)
	*w = wireKind(s)
	return err
}

// wireJitter is a jitter kind word.
type wireJitter string

func (w *wireJitter) UnmarshalYAML(node ast.Node) error {
	s, err := wordNode(node, "jitter", jitterKinds)
	*w = wireJitter(s)
	return err
}

// wordNode returns the word in node, or an error at node if it is not one
// of valid.
func wordNode(node ast.Node, what string, valid []string) (string, error) {
	s, ok := node.(*ast.StringNode)
	if !ok {
		return "", nodeError(node, fmt.Sprintf("%s must be one of %q, got %s", what, valid, node.String()))
	}
	if !contains(valid, s.Value) {
		return "", nodeError(node, unknownWord(what, s.Value, valid).Error())
	}
	return s.Value, nil
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

func nodeError(node ast.Node, msg string) *PositionError {
	e := &PositionError{Msg: msg}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

// ParsePolicy decodes a policy from YAML. Keys are kebab-case
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
func ParsePolicy(name string, data []byte) (Policy, error) {
	p := DefaultPolicy()
	if len(bytes.TrimSpace(data)) == 0 {
		return p, nil
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Policy{}, withName(name, yamlError(err))
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return p, nil
	}
	if len(file.Docs) > 1 {
		e := nodeError(file.Docs[1], "a policy file holds one YAML document")
		if tk := file.Docs[1].Start; tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		return Policy{}, withName(name, e)
	}
	if err := decodePolicyNode(file.Docs[0].Body, &p); err != nil {
		return Policy{}, withName(name, err)
	}
	return p, nil
}

func withName(name string, err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, withName(name, e))
		}
		return errors.Join(out...)
	}
	var pe *PositionError
	if errors.As(err, &pe) {
		pe.Name = name
		return pe
	}
	if name != "" {
		return fmt.Errorf("%s: %w", name, err)
	}
	return err
}

// decodePolicyNode decodes node over the values already in p.
func decodePolicyNode(node ast.Node, p *Policy) error {
	if _, ok := node.(*ast.MappingNode); !ok {
		if _, ok := node.(*ast.NullNode); ok {
			return nil
		}
		return nodeError(node, "a policy is a mapping of keys like max-attempts and backoff")
	}
	if err := checkYAMLShape(node); err != nil {
		return err
	}
	var w policyWire
	if err := yaml.NodeToValue(node, &w, yaml.DisallowUnknownField()); err != nil {
		return yamlError(err)
	}
	if err := w.apply(p); err != nil {
		return nodeError(node, err.Error())
	}
	if err := p.Validate(); err != nil {
		return positionValidation(node, err)
	}
	return nil
}

// yamlError converts goccy/go-yaml errors to *PositionError.
func yamlError(err error) error {
	var pe *PositionError
	if errors.As(err, &pe) {
		return pe
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &PositionError{Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		var uf *yaml.UnknownFieldError
		if errors.As(err, &uf) && uf.Token != nil {
			e.Msg = fmt.Sprintf("unknown field %q", uf.Token.Value)
			if s := nearest(uf.Token.Value, policyKeys); s != "" {
				e.Msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
		}
		return e
	}
	return fmt.Errorf("retryclient: %w", err)
}

// apply copies the fields present in w onto p.
func (w *policyWire) apply(p *Policy) error {
	if w.MaxAttempts != nil {
		p.MaxAttempts = *w.MaxAttempts
	}
	if b := w.Backoff; b != nil {
		if b.Kind != nil {
			if !contains(backoffKinds, string(*b.Kind)) {
				return unknownWord("backoff kind", string(*b.Kind), backoffKinds)
			}
			p.Backoff.Kind = BackoffKind(*b.Kind)
		}
		if b.Jitter != nil {
			if !contains(jitterKinds, string(*b.Jitter)) {
				return unknownWord("jitter", string(*b.Jitter), jitterKinds)
			}
			p.Backoff.Jitter = JitterKind(*b.Jitter)
		}
		if b.Initial != nil {
			p.Backoff.Initial = time.Duration(*b.Initial)
		}
		if b.Multiplier != nil {
			p.Backoff.Multiplier = *b.Multiplier
		}
		if b.Max != nil {
			p.Backoff.Max = time.Duration(*b.Max)
		}
		if b.RandomizationFactor != nil {
			p.Backoff.RandomizationFactor = *b.RandomizationFactor
		}
		if b.MaxJitter != nil {
			p.Backoff.MaxJitter = time.Duration(*b.MaxJitter)
		}
		if b.Min != nil {
			p.Backoff.Min = time.Duration(*b.Min)
		}
	}
	if w.RetryStatuses != nil {
		p.RetryStatuses = append([]int(nil), (*w.RetryStatuses)...)
	}
	if ra := w.RetryAfter; ra != nil {
		if ra.Honor != nil {
			p.RetryAfter.Honor = *ra.Honor
		}
		if ra.Cap != nil {
			p.RetryAfter.Cap = time.Duration(*ra.Cap)
		}
	}
	if w.MaxElapsed != nil {
		p.MaxElapsed = time.Duration(*w.MaxElapsed)
	}
	if w.AttemptTimeout != nil {
		p.AttemptTimeout = time.Duration(*w.AttemptTimeout)
	}
	if w.MaxBufferedBody != nil {
		p.MaxBufferedBody = *w.MaxBufferedBody
	}
	if w.RetryDNSErrors != nil {
		p.RetryDNSErrors = *w.RetryDNSErrors
	}
	return nil
}

func unknownWord(what, got string, valid []string) error {
	msg := fmt.Sprintf("unknown %s %q", what, got)
	if s := nearest(got, valid); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += fmt.Sprintf(" (want one of %q)", valid)
	}
	return errors.New(msg)
}

func contains(words []string, w string) bool {
	for _, v := range words {
		if v == w {
			return true
		}
	}
	return false
}

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
	return policyWire{
		MaxAttempts:     &maxAttempts,
		Backoff:         backoff,
		RetryStatuses:   &statuses,
		RetryAfter:      &retryAfterWire{Honor: &honor, Cap: &raCap},
		MaxElapsed:      &elapsed,
		AttemptTimeout:  &timeout,
		MaxBufferedBody: &buffered,
		RetryDNSErrors:  &dns,
	}
}

// MarshalYAML renders p with kebab-case keys and duration strings, the form
// [ParsePolicy] reads.
func (p Policy) MarshalYAML() (any, error) { return p.wire(), nil }

// UnmarshalYAML decodes p strictly from a YAML node (goccy/go-yaml), as
// [ParsePolicy] does; missing fields keep their [DefaultPolicy] values.
func (p *Policy) UnmarshalYAML(node ast.Node) error {
	v := DefaultPolicy()
	if err := decodePolicyNode(node, &v); err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalJSON renders p with the same keys as YAML and duration strings.
func (p Policy) MarshalJSON() ([]byte, error) { return json.Marshal(p.wire()) }

// UnmarshalJSON decodes p strictly: keys must match exactly (case
// included) and appear once, unknown fields and values of the wrong type
// are errors; missing fields keep their [DefaultPolicy] values. The result
// is validated.
func (p *Policy) UnmarshalJSON(b []byte) error {
	if err := checkJSONKeys(b); err != nil {
		return fmt.Errorf("retryclient: decoding policy: %w", err)
	}
	var w policyWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("retryclient: decoding policy: %w", jsonTypeError(err))
	}
	v := DefaultPolicy()
	if err := w.apply(&v); err != nil {
		return fmt.Errorf("retryclient: decoding policy: %w", err)
	}
	if err := v.Validate(); err != nil {
		return err
	}
	*p = v
	return nil
}

// nearest returns the word in valid closest to w (edit distance at most 2,
// or a prefix relation), or "".
func nearest(w string, valid []string) string {
	best, bestD := "", 3
	for _, v := range valid {
		d := editDistance(w, v)
		if d < bestD {
			best, bestD = v, d
		}
	}
	if best == "" {
		for _, v := range valid {
			if len(w) >= 3 && (len(v) > len(w) && v[:len(w)] == w) {
				return v
			}
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
