package lint

import (
	"slices"
	"strings"
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

// Regression: a long policy overflowed WorstCase to a negative duration
// (and so passed the deadline check), and a huge max-attempts spun.
func TestWorstCaseSaturates(t *testing.T) {
	p := retryclient.DefaultPolicy().WithAttemptTimeout(time.Second).WithMaxAttempts(1_000_000_000).
		WithBackoff(retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: time.Second, Multiplier: 10})
	if got, _ := WorstCase(p); got != Forever {
		t.Errorf("WorstCase = %v, want Forever", got)
	}
	fs := Check(p, Options{Deadline: 30 * time.Second})
	if len(fs) == 0 || fs[0].ID != "worst-case-over-deadline" {
		t.Errorf("findings %+v; want worst-case-over-deadline first", fs)
	}
}

func TestCheckEdgeFindings(t *testing.T) {
	base := retryclient.DefaultPolicy().WithAttemptTimeout(2*time.Second).WithMaxElapsed(20*time.Second).WithRetryAfter(true, 10*time.Second)
	ids := func(fs []Finding) (out []string) {
		for _, f := range fs {
			out = append(out, f.ID+" "+f.Field)
		}
		return out
	}
	if got := ids(Check(base.WithRetryMethods("GET", "PUT"), Options{})); len(got) != 0 {
		t.Errorf("idempotent retry-methods reported: %q", got)
	}
	if got := ids(Check(base.WithBudget(2, 0.1), Options{})); !slices.Equal(got, []string{"budget-too-small budget.tokens"}) {
		t.Errorf("a 2-token budget: %q", got)
	}
	// An attempt timeout at the deadline points at attempt-timeout, not at a
	// max-elapsed of 0 (which means no limit).
	fs := Check(base.WithAttemptTimeout(30*time.Second), Options{Deadline: 30 * time.Second})
	if len(fs) == 0 || fs[0].Field != "attempt-timeout" || !strings.Contains(fs[0].Fix, "attempt-timeout well below") {
		t.Errorf("findings %+v", fs)
	}
}
