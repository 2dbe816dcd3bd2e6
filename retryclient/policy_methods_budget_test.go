package retryclient_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/goccy/go-yaml"

	"github.com/retrylab/retrylab/retryclient"
)

func TestPolicyRetryMethodsAndBudgetInFiles(t *testing.T) {
	p, err := retryclient.ParsePolicy("p.yaml", []byte("retry-methods: [POST]\nbudget: {tokens: 10, ratio: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RetryMethods) != 1 || p.RetryMethods[0] != "POST" || p.Budget != (retryclient.BudgetSpec{Tokens: 10, Ratio: 0.5}) {
		t.Errorf("decoded %+v", p)
	}
	out, err := p.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retryclient.ParsePolicy("again.yaml", mustYAML(t, out)); err != nil {
		t.Errorf("the encoded form does not decode: %v", err)
	}
	if _, err := retryclient.ParsePolicy("p.yaml", []byte("retry-methods: [post]\n")); err == nil || !strings.Contains(err.Error(), `upper-case method names such as POST, got "post"`) {
		t.Errorf("lower-case method: %v", err)
	}
	if _, err := retryclient.ParsePolicy("p.yaml", []byte("budget: {tokens: -1}\n")); err == nil || !strings.HasPrefix(err.Error(), "p.yaml:1:") {
		t.Errorf("negative budget: %v", err)
	}
	if _, err := retryclient.ParsePolicy("p.yaml", []byte("budget: {tokns: 1}\n")); err == nil || !strings.Contains(err.Error(), `did you mean "tokens"?`) {
		t.Errorf("misspelt budget key: %v", err)
	}
	// A policy without them encodes without them.
	def, _ := retryclient.DefaultPolicy().MarshalYAML()
	if s := string(mustYAML(t, def)); strings.Contains(s, "retry-methods") || strings.Contains(s, "budget") {
		t.Errorf("the default policy encodes unset fields:\n%s", s)
	}
}

func TestDecideRetryMethods(t *testing.T) {
	o := retryclient.Outcome{Attempt: 1, Method: "POST", Status: 503}
	if d := retryclient.DefaultPolicy().Decide(o); d.Retry || d.Reason != retryclient.ReasonNotIdempotent {
		t.Errorf("default policy: %+v; want an unkeyed POST not retried", d)
	}
	if d := retryclient.DefaultPolicy().WithRetryMethods("POST").Decide(o); !d.Retry {
		t.Errorf("RetryMethods POST: %+v; want it retried", d)
	}
	o.Method = "PATCH"
	if d := retryclient.DefaultPolicy().WithRetryMethods("POST").Decide(o); d.Retry {
		t.Errorf("RetryMethods POST retried a PATCH: %+v", d)
	}
}

func TestPolicyBudgetGivesTheTransportABudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := rtFunc(func(*http.Request) (*http.Response, error) {
			calls++
			return &http.Response{StatusCode: 503, Body: http.NoBody, Header: http.Header{}}, nil
		})
		// 2 tokens, none given back: the first failure leaves 1, no more
		// than half, so no retry at all.
		p := constant().WithMaxAttempts(5).WithBudget(2, 0)
		c := &http.Client{Transport: retryclient.New(next, p)}
		resp, err := c.Get("http://svc.invalid/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if calls != 1 {
			t.Errorf("%d calls; want the policy's budget to stop the retries after 1", calls)
		}
	})
}

// mustYAML encodes v (a Policy's MarshalYAML form) as YAML.
func mustYAML(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
