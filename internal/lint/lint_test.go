package lint

import (
	"slices"
	"testing"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func TestWorstCase(t *testing.T) {
	noJitter := func(b retryclient.Backoff) retryclient.Backoff { return b.WithJitter(retryclient.JitterNone) }
	def := retryclient.DefaultPolicy()
	cases := []struct {
		name      string
		p         retryclient.Policy
		want      time.Duration
		unbounded bool
	}{
		{"no attempt timeout", def, 0, true},
		{"attempts, timeouts and the Retry-After cap", def.WithAttemptTimeout(time.Second), 3*time.Second + 2*time.Minute, false},
		{"backoff waits when Retry-After is not honoured",
			def.WithAttemptTimeout(time.Second).WithRetryAfter(false, 0).WithBackoff(noJitter(retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: time.Second, Multiplier: 2, Max: time.Minute})),
			3*time.Second + time.Second + 2*time.Second, false},
		{"max-elapsed bounds the waits", def.WithAttemptTimeout(time.Second).WithMaxElapsed(10 * time.Second), 11 * time.Second, false},
		{"one attempt", def.WithAttemptTimeout(time.Second).WithMaxAttempts(1), time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, unbounded := WorstCase(c.p)
			if got != c.want || unbounded != c.unbounded {
				t.Errorf("WorstCase = %v, %v; want %v, %v", got, unbounded, c.want, c.unbounded)
			}
		})
	}
}

func TestCheckFindings(t *testing.T) {
	ids := func(fs []Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, string(f.Severity)+" "+f.ID)
		}
		return out
	}
	good := retryclient.DefaultPolicy().WithAttemptTimeout(2*time.Second).WithMaxElapsed(20*time.Second).WithRetryAfter(true, 10*time.Second)
	if fs := Check(good, Options{Deadline: 30 * time.Second}); len(fs) != 0 {
		t.Errorf("a careful policy has findings: %q", ids(fs))
	}
	// Errors come first.
	bad := good.WithMaxAttempts(5).WithRetryMethods("POST").WithBackoff(retryclient.ConstantBackoff(time.Second))
	want := []string{"error non-idempotent-retried", "error layered-amplification", "warning no-jitter", "warning no-budget"}
	if got := ids(Check(bad, Options{Deadline: 30 * time.Second, Layers: 3})); !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	// Two layers of 3 attempts (9) are below the warning; 4 attempts (16) warn.
	if got := ids(Check(good, Options{Layers: 2})); len(got) != 0 {
		t.Errorf("3 attempts on 2 layers: %q", got)
	}
	if got := ids(Check(good.WithMaxAttempts(4).WithBudget(10, 0.1), Options{Layers: 2})); !slices.Equal(got, []string{"warning layered-amplification"}) {
		t.Errorf("4 attempts on 2 layers: %q", got)
	}
}
