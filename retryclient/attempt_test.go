package retryclient

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

func TestAttemptString(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		a    Attempt
		want string
	}{
		{"retry", Attempt{Number: 2, Offset: 100 * ms, Method: "GET", URL: "http://api.test/users?page=2", Status: 503,
			Retry: true, Delay: 200 * ms, Reason: ReasonRetryableStatus},
			"#2 +100ms GET /users?page=2 → 503 · retry in 200ms (retryable-status)"},
		{"success", Attempt{Number: 3, Offset: 300 * ms, Method: "GET", URL: "/users", Status: 200, Reason: ReasonSuccess},
			"#3 +300ms GET /users → 200 · done (success)"},
		{"status returned as is", Attempt{Number: 1, Method: "GET", URL: "/users", Status: 404, Reason: ReasonNotRetryableStatus},
			"#1 +0s GET /users → 404 · done (status-not-retryable)"},
		{"retry-after used", Attempt{Number: 1, Method: "GET", URL: "/", Status: 429, RetryAfter: 2 * time.Second, RetryAfterSeen: true,
			RetryAfterRaw: "2", Retry: true, Delay: 2 * time.Second, Reason: ReasonRetryableStatus},
			"#1 +0s GET / → 429 [Retry-After 2s] · retry in 2s (retryable-status)"},
		{"retry-after ignored", Attempt{Number: 1, Method: "GET", URL: "/", Status: 503, RetryAfterRaw: "soon",
			Retry: true, Delay: 100 * ms, Reason: ReasonRetryableStatus},
			`#1 +0s GET / → 503 [Retry-After "soon" ignored] · retry in 100ms (retryable-status)`},
		{"error gave up", Attempt{Number: 3, Offset: 300 * ms, Method: "PUT", URL: "/x", Err: errors.New("connection refused"),
			ErrClass: ClassConnection, Reason: ReasonMaxAttempts},
			"#3 +300ms PUT /x → error (connection): connection refused · gave up (max-attempts)"},
		{"retry-after above cap", Attempt{Number: 1, Start: t0, Method: "GET", URL: "/", Status: 429, RetryAfter: time.Hour,
			RetryAfterSeen: true, RetryAfterRaw: "3600", Reason: ReasonRetryAfterTooLong},
			"#1 +0s GET / → 429 [Retry-After 1h0m0s] · gave up (retry-after-above-cap)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestTimelineString(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := Timeline{
		{Number: 1, Start: t0, Method: "GET", URL: "/a", Status: 503, Retry: true, Delay: time.Second, Reason: ReasonRetryableStatus},
		{Number: 2, Start: t0.Add(1500 * ms), Method: "GET", URL: "/a", Status: 200, Reason: ReasonSuccess},
	}
	want := "#1 +0s GET /a → 503 · retry in 1s (retryable-status)\n#2 +1.5s GET /a → 200 · done (success)"
	if got := tl.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if tl.GomegaString() != want {
		t.Error("GomegaString differs from String")
	}
	if tl.Total() != time.Second {
		t.Errorf("Total() = %v", tl.Total())
	}
	if got := (Timeline{}).String(); got != "(no attempts)" {
		t.Errorf("empty timeline = %q", got)
	}
}

func TestGiveUpError(t *testing.T) {
	base := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	cases := []struct {
		name string
		e    *GiveUpError
		want string
	}{
		{"last error", &GiveUpError{Attempts: 3, LastErr: base, Reason: ReasonMaxAttempts},
			"retryclient: gave up after 3 attempts: dial tcp 127.0.0.1:1: connect: connection refused (max-attempts)"},
		{"status only", &GiveUpError{Attempts: 3, LastStatus: 503, Reason: ReasonMaxAttempts},
			"retryclient: gave up after 3 attempts: 503 Service Unavailable (max-attempts)"},
		{"one attempt", &GiveUpError{Attempts: 1, LastErr: base, Reason: ReasonNotRetryableError},
			"retryclient: gave up after 1 attempt: dial tcp 127.0.0.1:1: connect: connection refused (error-not-retryable)"},
		{"nothing", &GiveUpError{Reason: ReasonCircuitOpen}, "retryclient: gave up after 0 attempts: no response (circuit-open)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Error(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	var err error = &GiveUpError{Attempts: 2, LastErr: base}
	if !errors.Is(err, base) || errors.Unwrap(err) != base {
		t.Error("Unwrap does not reach LastErr")
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(10, 0.5)
	if b.Tokens() != 10 || !b.AllowRetry() {
		t.Fatalf("new budget: %v tokens", b.Tokens())
	}
	steps := []struct {
		op        string
		wantAllow bool
		wantTok   float64
	}{
		{"fail", true, 9}, {"fail", true, 8}, {"fail", true, 7}, {"fail", true, 6},
		{"fail", false, 5}, // not > 10/2
		{"ok", true, 5.5}, {"fail", false, 4.5}, {"fail", false, 3.5},
		{"fail", false, 2.5}, {"fail", false, 1.5}, {"fail", false, 0.5}, {"fail", false, 0}, {"fail", false, 0},
		{"ok", false, 0.5},
	}
	for i, s := range steps {
		var allow bool
		if s.op == "fail" {
			allow = b.RecordFailure()
		} else {
			b.RecordSuccess()
			allow = b.AllowRetry()
		}
		if allow != s.wantAllow || b.Tokens() != s.wantTok {
			t.Fatalf("step %d (%s): allow %v tokens %v, want %v %v", i, s.op, allow, b.Tokens(), s.wantAllow, s.wantTok)
		}
	}
	for range 100 {
		b.RecordSuccess()
	}
	if b.Tokens() != 10 {
		t.Errorf("tokens %v, want capped at 10", b.Tokens())
	}
	if c := NewBudget(0, -1); c.Tokens() != 1 {
		t.Errorf("NewBudget(0, -1) tokens %v, want clamped to 1", c.Tokens())
	}
}

func TestBudgetApply(t *testing.T) {
	p := noJitter().WithMaxAttempts(10)
	b := NewBudget(4, 1)
	cases := []struct {
		name       string
		o          Outcome
		wantReason Reason
		wantTokens float64
	}{
		{"503 takes a token, retry allowed", Outcome{Attempt: 1, Method: "GET", Status: 503}, ReasonRetryableStatus, 3},
		{"404 leaves tokens alone", Outcome{Attempt: 1, Method: "GET", Status: 404}, ReasonNotRetryableStatus, 3},
		{"503 at the last attempt still takes one", Outcome{Attempt: 10, Method: "GET", Status: 503}, ReasonMaxAttempts, 2},
		{"200 gives one back", Outcome{Attempt: 1, Method: "GET", Status: 200}, ReasonSuccess, 3},
		{"reset takes a token", Outcome{Attempt: 1, Method: "GET", Err: io.EOF}, ReasonBudgetExhausted, 2},
		{"canceled leaves tokens alone", Outcome{Attempt: 1, Method: "GET", Err: context.Canceled}, ReasonCanceled, 2},
	}
	for _, tc := range cases {
		d := b.Apply(p, tc.o, p.Decide(tc.o))
		if d.Reason != tc.wantReason || b.Tokens() != tc.wantTokens || (d.Reason == ReasonBudgetExhausted && (d.Retry || d.Delay != 0)) {
			t.Errorf("%s: %+v with %v tokens; want %s with %v", tc.name, d, b.Tokens(), tc.wantReason, tc.wantTokens)
		}
	}
	var nilBudget *Budget
	d := Decision{Retry: true, Delay: time.Second, Reason: ReasonRetryableStatus}
	if got := nilBudget.Apply(p, Outcome{Status: 503}, d); got != d {
		t.Errorf("nil budget changed the decision: %+v", got)
	}
}
