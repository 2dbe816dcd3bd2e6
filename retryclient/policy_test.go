package retryclient

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	want := Policy{
		MaxAttempts:     3,
		Backoff:         Backoff{Kind: BackoffExponential, Initial: 100 * time.Millisecond, Multiplier: 2, Max: 10 * time.Second, Jitter: JitterFull},
		RetryStatuses:   []int{408, 425, 429, 500, 502, 503, 504},
		RetryAfter:      RetryAfterPolicy{Honor: true, Cap: 60 * time.Second},
		MaxBufferedBody: 1 << 20,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("DefaultPolicy() = %+v\nwant %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	p.RetryStatuses[0] = 999
	if DefaultPolicy().RetryStatuses[0] != 408 {
		t.Error("DefaultPolicy shares its RetryStatuses slice")
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Policy
		want []string
	}{
		{"zero attempts", DefaultPolicy().WithMaxAttempts(0), []string{"retryclient: MaxAttempts must be >= 1, got 0"}},
		{"bad status", DefaultPolicy().WithRetryStatuses(503, 42), []string{"retryclient: RetryStatuses must hold HTTP status codes (100-999), got 42"}},
		{"negative durations", DefaultPolicy().WithMaxElapsed(-1).WithAttemptTimeout(-time.Second).WithRetryAfter(false, -time.Minute), []string{
			"retryclient: RetryAfter.Cap must be >= 0, got -1m0s",
			"retryclient: MaxElapsed must be >= 0, got -1ns",
			"retryclient: AttemptTimeout must be >= 0, got -1s"}},
		// Regression: Cap 0 meant an uncapped Retry-After.
		{"uncapped Retry-After", DefaultPolicy().WithRetryAfter(true, 0), []string{
			"retryclient: RetryAfter.Cap must be > 0 when Retry-After is honoured (an uncapped Retry-After lets a server park the client), got 0s"}},
		{"negative Retry-After cap while honoured", DefaultPolicy().WithRetryAfter(true, -time.Minute), []string{
			"retryclient: RetryAfter.Cap must be > 0 when Retry-After is honoured (an uncapped Retry-After lets a server park the client), got -1m0s"}},
		{"cap 0 is fine when not honoured", DefaultPolicy().WithRetryAfter(false, 0), nil},
		{"negative buffer", DefaultPolicy().WithMaxBufferedBody(-1), []string{"retryclient: MaxBufferedBody must be >= 0, got -1"}},
		{"zero policy", Policy{}, []string{
			"retryclient: MaxAttempts must be >= 1, got 0",
			`retryclient: Backoff.Kind must be constant, linear or exponential, got ""`,
			`retryclient: Backoff.Jitter must be none, full, equal, decorrelated, randomized or additive, got ""`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate() =\n%s\nwant\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestPolicyWithMethodsReturnCopies(t *testing.T) {
	base := DefaultPolicy()
	statuses := []int{503}
	changed := base.WithMaxAttempts(7).WithBackoff(ConstantBackoff(time.Second)).WithRetryStatuses(statuses...).
		WithRetryAfter(false, time.Second).WithMaxElapsed(time.Minute).WithAttemptTimeout(2 * time.Second).
		WithMaxBufferedBody(5).WithRetryDNSErrors(true)
	if !reflect.DeepEqual(base, DefaultPolicy()) {
		t.Errorf("With… changed the receiver: %+v", base)
	}
	statuses[0] = 500
	want := Policy{MaxAttempts: 7, Backoff: ConstantBackoff(time.Second), RetryStatuses: []int{503},
		RetryAfter: RetryAfterPolicy{Honor: false, Cap: time.Second}, MaxElapsed: time.Minute,
		AttemptTimeout: 2 * time.Second, MaxBufferedBody: 5, RetryDNSErrors: true}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("got %+v\nwant %+v", changed, want)
	}
}

func TestParsePolicy(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		want    func(p Policy) Policy // applied to DefaultPolicy
		wantErr string
	}{
		{"empty keeps defaults", "", func(p Policy) Policy { return p }, ""},
		{"comment only", "# nothing\n", func(p Policy) Policy { return p }, ""},
		{"partial", "max-attempts: 5\nbackoff:\n  initial: 250ms\n  jitter: none\n",
			func(p Policy) Policy {
				p.MaxAttempts = 5
				p.Backoff.Initial = 250 * time.Millisecond
				p.Backoff.Jitter = JitterNone
				return p
			}, ""},
		{"everything", `max-attempts: 4
backoff: {kind: linear, initial: 1s, multiplier: 1, max: 5s, jitter: equal}
retry-statuses: [503, 429]
retry-after: {honor: false, cap: 30s}
max-elapsed: 1m
attempt-timeout: 2s
max-buffered-body: 4096
retry-dns-errors: true
`, func(Policy) Policy {
			return Policy{MaxAttempts: 4, Backoff: Backoff{Kind: BackoffLinear, Initial: time.Second, Multiplier: 1, Max: 5 * time.Second, Jitter: JitterEqual},
				RetryStatuses: []int{503, 429}, RetryAfter: RetryAfterPolicy{Honor: false, Cap: 30 * time.Second},
				MaxElapsed: time.Minute, AttemptTimeout: 2 * time.Second, MaxBufferedBody: 4096, RetryDNSErrors: true}
		}, ""},
		{"randomized jitter", "backoff: {initial: 500ms, multiplier: 1.5, jitter: randomized, randomization-factor: 0.5}\n",
			func(p Policy) Policy {
				p.Backoff.Initial, p.Backoff.Multiplier = 500*time.Millisecond, 1.5
				p.Backoff.Jitter, p.Backoff.RandomizationFactor = JitterRandomized, 0.5
				return p
			}, ""},
		{"additive jitter with a floor", "backoff: {jitter: additive, max-jitter: 100ms, min: 50ms}\n",
			func(p Policy) Policy {
				p.Backoff.Jitter, p.Backoff.MaxJitter, p.Backoff.Min = JitterAdditive, 100*time.Millisecond, 50*time.Millisecond
				return p
			}, ""},
		{"randomization factor above 1", "backoff:\n  jitter: randomized\n  randomization-factor: 2\n", nil, "policy.yaml:3:3: Backoff.RandomizationFactor must be between 0 and 1, got 2"},
		{"bare integer max-jitter", "backoff: {max-jitter: 100}\n", nil, `policy.yaml:1:23: durations are strings like "250ms", got 100`},
		{"misspelt randomization factor", "backoff:\n  randomisation-factor: 0.5\n", nil, `policy.yaml:2:3: unknown field "randomisation-factor" (did you mean "randomization-factor"?)`},
		{"unknown field", "max-attempts: 3\nmax-attemps: 5\n", nil, `policy.yaml:2:1: unknown field "max-attemps" (did you mean "max-attempts"?)`},
		{"unknown nested field", "backoff:\n  intial: 1s\n", nil, `policy.yaml:2:3: unknown field "intial" (did you mean "initial"?)`},
		{"bare integer duration", "max-elapsed: 250\n", nil, `policy.yaml:1:14: durations are strings like "250ms", got 250`},
		{"bad duration", "attempt-timeout: 2 seconds\n", nil, `policy.yaml:1:18: invalid duration "2 seconds" (want a string like "250ms")`},
		{"unknown kind", "backoff:\n  kind: expo\n", nil, `policy.yaml:2:9: unknown backoff kind "expo" (did you mean "exponential"?)`},
		{"unknown jitter", "backoff:\n  jitter: ful\n", nil, `policy.yaml:2:11: unknown jitter "ful" (did you mean "full"?)`},
		{"uncapped retry-after", "retry-after: {cap: 0s}\n", nil, "policy.yaml:1:15: RetryAfter.Cap must be > 0 when Retry-After is honoured"},
		// Regression: validation errors had no line:column.
		{"invalid value", "max-attempts: 0\n", nil, "policy.yaml:1:1: MaxAttempts must be >= 1, got 0"},
		{"invalid nested value", "backoff:\n  kind: exponential\n  multiplier: 0.5\n", nil, "policy.yaml:3:3: Backoff.Multiplier must be a finite number >= 1, got 0.5"},
		{"every invalid value positioned", "max-attempts: 0\nmax-elapsed: -1s\n", nil,
			"policy.yaml:1:1: MaxAttempts must be >= 1, got 0\npolicy.yaml:2:1: MaxElapsed must be >= 0, got -1s"},
		// Regression: strings and floats were accepted as integers.
		{"quoted integer", "max-attempts: \"4\"\n", nil, `policy.yaml:1:15: max-attempts must be an integer, got "4"`},
		{"float for an integer", "max-attempts: 2.0\n", nil, `policy.yaml:1:15: max-attempts must be an integer, got 2.0`},
		{"quoted status", "retry-statuses: [503, '429']\n", nil, `policy.yaml:1:23: retry-statuses must hold integers, got '429'`},
		{"string for a number", "backoff: {multiplier: \"2\"}\n", nil, `policy.yaml:1:23: backoff.multiplier must be a number, got "2"`},
		// Regression: a type error named an internal type ("Go struct field
		// policyWire.RetryAfter of type bool").
		{"integer for a bool", "retry-after:\n  honor: 5\n", nil, `policy.yaml:2:10: retry-after.honor must be true or false, got 5`},
		{"scalar for a mapping", "backoff: 5\n", nil, `policy.yaml:1:10: backoff must be a mapping, got 5`},
		// Scenarios and policies share one decoder, and one wording.
		{"duplicate key", "max-attempts: 3\nmax-attempts: 4\n", nil, `policy.yaml:2:1: duplicate field "max-attempts"`},
		{"integer through an alias", "max-attempts: &n 4\nmax-buffered-body: *n\n", func(p Policy) Policy { p.MaxAttempts, p.MaxBufferedBody = 4, 4; return p }, ""},
		{"not a mapping", "- 1\n", nil, "policy.yaml:1:1: a policy is a mapping of keys like max-attempts and backoff"},
		{"syntax error", "max-attempts: [\n", nil, "policy.yaml:1:15: "},
		{"two documents", "max-attempts: 2\n---\nmax-attempts: 3\n", nil, "policy.yaml:2:1: a policy file holds one YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy("policy.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "Wire") {
					t.Errorf("err %q names an internal type", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want(DefaultPolicy()); !reflect.DeepEqual(p, want) {
				t.Errorf("got  %+v\nwant %+v", p, want)
			}
		})
	}
}

func TestParsePolicyErrorIsPositionError(t *testing.T) {
	_, err := ParsePolicy("p.yaml", []byte("backoff:\n  kind: cubic\n"))
	var pe *PositionError
	if !errors.As(err, &pe) || pe.Name != "p.yaml" || pe.Line != 2 || pe.Column != 9 {
		t.Errorf("err = %#v, want a PositionError at p.yaml:2:9", err)
	}
	if !strings.Contains(err.Error(), `want one of ["constant" "linear" "exponential"]`) {
		t.Errorf("err = %v, want the valid words listed", err)
	}
}

func TestPolicyRoundTrips(t *testing.T) {
	p := DefaultPolicy().WithMaxAttempts(6).WithBackoff(Backoff{Kind: BackoffLinear, Initial: 250 * time.Millisecond,
		Multiplier: 1, Max: 3 * time.Second, Jitter: JitterDecorrelated, RandomizationFactor: 0.25, MaxJitter: time.Second, Min: time.Millisecond}).WithMaxElapsed(90*time.Second).
		WithAttemptTimeout(1500*time.Millisecond).WithRetryAfter(true, 90*time.Second).WithRetryStatuses(503)
	t.Run("yaml", func(t *testing.T) {
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "attempt-timeout: 1.5s") || !strings.Contains(string(b), "initial: 250ms") {
			t.Errorf("durations not written as strings:\n%s", b)
		}
		got, err := ParsePolicy("rt.yaml", b)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("round trip: %+v, %v\nwant %+v\n%s", got, err, p, b)
		}
	})
	t.Run("json", func(t *testing.T) {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"max-elapsed":"1m30s"`) {
			t.Errorf("durations not written as strings: %s", b)
		}
		var got Policy
		if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("round trip: %+v, %v\nwant %+v\n%s", got, err, p, b)
		}
	})
	t.Run("embedded yaml", func(t *testing.T) {
		var doc struct {
			Policy Policy `yaml:"policy"`
		}
		if err := yaml.Unmarshal([]byte("policy:\n  max-attempts: 9\n"), &doc); err != nil {
			t.Fatal(err)
		}
		if want := DefaultPolicy().WithMaxAttempts(9); !reflect.DeepEqual(doc.Policy, want) {
			t.Errorf("got %+v", doc.Policy)
		}
		err := yaml.Unmarshal([]byte("policy:\n  max-attempt: 9\n"), &doc)
		if err == nil || !strings.Contains(err.Error(), `unknown field "max-attempt"`) {
			t.Errorf("err = %v, want unknown field", err)
		}
	})
}

func TestPolicyJSONIsStrict(t *testing.T) {
	cases := map[string]string{
		// Regression: encoding/json matched keys case-insensitively and
		// took the last of duplicate keys.
		"key in the wrong case":        `{"MAX-ATTEMPTS": 3}`,
		"nested key in the wrong case": `{"backoff": {"Kind": "linear"}}`,
		"duplicate key":                `{"max-attempts": 3, "max-attempts": 4}`,
		"duplicate nested key":         `{"retry-after": {"cap": "1s", "cap": "2s"}}`,
		"float for an integer":         `{"max-attempts": 4.0}`,
		"string for an integer":        `{"max-attempts": "4"}`,
		"unknown field":                `{"max-attempt": 3}`,
		"integer duration":             `{"max-elapsed": 5}`,
		"bad duration":                 `{"max-elapsed": "5 min"}`,
		"unknown kind":                 `{"backoff": {"kind": "cubic"}}`,
		"invalid after decode":         `{"max-attempts": 0}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			var p Policy
			if err := json.Unmarshal([]byte(in), &p); err == nil {
				t.Errorf("Unmarshal(%s) = nil error, policy %+v", in, p)
			}
		})
	}
	msgs := map[string]string{
		`{"MAX-ATTEMPTS": 3}`:                    `retryclient: decoding policy: unknown field "MAX-ATTEMPTS" (did you mean "max-attempts"?)`,
		`{"max-attempts": 3, "max-attempts": 4}`: `retryclient: decoding policy: duplicate key "max-attempts"`,
		`{"max-attempts": "4"}`:                  `retryclient: decoding policy: max-attempts must be an integer, got string`,
		`{"retry-after": {"honor": 1}}`:          `retryclient: decoding policy: retry-after.honor must be true or false, got number`,
	}
	for in, want := range msgs {
		var p Policy
		if err := json.Unmarshal([]byte(in), &p); err == nil || err.Error() != want {
			t.Errorf("Unmarshal(%s) = %v, want %q", in, err, want)
		}
	}
	var p Policy
	if err := json.Unmarshal([]byte(`{"max-attempts": 4}`), &p); err != nil || !reflect.DeepEqual(p, DefaultPolicy().WithMaxAttempts(4)) {
		t.Errorf("partial JSON: %+v, %v", p, err)
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{"", "max-attempts: 5\n", "backoff:\n  initial: 250ms\n", "backoff: {kind: expo}\n",
		"max-elapsed: 250\n", "- 1\n", "max-attempts: [\n", "retry-after:\n  cap: 1h\n  honor: false\n", "a: &x 1\nb: *x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if verr := p.Validate(); verr != nil {
			t.Errorf("ParsePolicy returned an invalid policy: %v", verr)
		}
	})
}
