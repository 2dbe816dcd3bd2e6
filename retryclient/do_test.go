package retryclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/retrylab/retrylab/retryclient"
)

// failing returns a call that fails with errs in turn, then returns value.
func failing[T any](value T, errs ...error) (call func(context.Context) (T, error), calls *int) {
	n := 0
	return func(ctx context.Context) (T, error) {
		n++
		if n <= len(errs) {
			var zero T
			return zero, errs[n-1]
		}
		return value, nil
	}, &n
}

// constant is the default policy with a constant 1s backoff, no jitter.
func constant() retryclient.Policy {
	return retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(time.Second))
}

var errUnavailable = errors.New("unavailable")

func TestDo(t *testing.T) {
	cases := []struct {
		name     string
		errs     []error
		policy   retryclient.Policy
		opts     []retryclient.Option
		calls    int
		took     time.Duration
		reason   retryclient.Reason // "" for a success
		wantErr  error              // reached through errors.Is
		timeline string             // the GiveUpError's timeline
	}{
		{name: "transient errors then success", errs: []error{retryclient.Transient(errUnavailable), retryclient.Transient(errUnavailable)},
			calls: 3, took: 2 * time.Second},
		{name: "a permanent error stops at once", errs: []error{retryclient.Permanent(errUnavailable)},
			calls: 1, reason: retryclient.ReasonNotRetryableError, wantErr: errUnavailable,
			timeline: "#1 +0s charge → error (permanent): unavailable · gave up (error-not-retryable)"},
		{name: "an unmarked error is not retried", errs: []error{errUnavailable},
			calls: 1, reason: retryclient.ReasonNotRetryableError, wantErr: errUnavailable},
		{name: "transient errors until max attempts", errs: slices.Repeat([]error{retryclient.Transient(errUnavailable)}, 5),
			calls: 3, took: 2 * time.Second, reason: retryclient.ReasonMaxAttempts, wantErr: errUnavailable,
			timeline: "#1 +0s charge → error (transient): unavailable · retry in 1s (transient-error)\n" +
				"#2 +1s charge → error (transient): unavailable · retry in 1s (transient-error)\n" +
				"#3 +2s charge → error (transient): unavailable · gave up (max-attempts)"},
		{name: "a requested wait replaces the backoff", errs: []error{retryclient.RetryAfter(errUnavailable, 7*time.Second)},
			calls: 2, took: 7 * time.Second},
		{name: "a requested wait above the cap stops", errs: []error{retryclient.RetryAfter(errUnavailable, 2*time.Minute)},
			calls: 1, reason: retryclient.ReasonRetryAfterTooLong, wantErr: errUnavailable},
		{name: "a retryable StatusError with Retry-After", errs: []error{&retryclient.StatusError{Status: 503, RetryAfter: 3 * time.Second}},
			calls: 2, took: 3 * time.Second},
		{name: "a StatusError of 404 is not retried", errs: []error{&retryclient.StatusError{Status: 404}},
			calls: 1, reason: retryclient.ReasonNotRetryableStatus,
			timeline: "#1 +0s charge → error: retryclient: retryable status 404 Not Found · done (status-not-retryable)"},
		{name: "a classifier marks its own errors transient", errs: []error{io.ErrUnexpectedEOF, io.ErrUnexpectedEOF},
			opts: []retryclient.Option{retryclient.WithClassifier(func(err error) retryclient.ErrorClass {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return retryclient.ClassTransient
				}
				return retryclient.ClassNone
			})},
			calls: 3, took: 2 * time.Second},
		{name: "MaxElapsed stops before a sleep past it", errs: slices.Repeat([]error{retryclient.Transient(errUnavailable)}, 5),
			policy: constant().WithMaxAttempts(10).WithMaxElapsed(2500 * time.Millisecond),
			calls:  3, took: 2 * time.Second, reason: retryclient.ReasonMaxElapsed, wantErr: errUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := c.policy
				if p.MaxAttempts == 0 {
					p = constant()
				}
				r := retryclient.NewRetrier(p, c.opts...)
				call, calls := failing("receipt-1", c.errs...)
				start := time.Now()
				v, err := retryclient.Do(t.Context(), r, "charge", call)
				if took := time.Since(start); took != c.took {
					t.Errorf("took %v; want %v", took, c.took)
				}
				if *calls != c.calls {
					t.Errorf("%d calls; want %d", *calls, c.calls)
				}
				if c.reason == "" {
					if err != nil || v != "receipt-1" {
						t.Fatalf("Do = %q, %v; want the value and no error", v, err)
					}
					return
				}
				var gu *retryclient.GiveUpError
				if !errors.As(err, &gu) || gu.Reason != c.reason || gu.Attempts != c.calls {
					t.Fatalf("err = %#v; want a GiveUpError after %d attempts (%s)", err, c.calls, c.reason)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Errorf("errors.Is(%v, %v) is false", err, c.wantErr)
				}
				if c.timeline != "" && gu.Timeline.String() != c.timeline {
					t.Errorf("timeline:\n%s\nwant:\n%s", gu.Timeline, c.timeline)
				}
			})
		})
	}
}

func TestDoStopsAtOnceWhenTheCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		r := retryclient.NewRetrier(retryclient.DefaultPolicy().WithBackoff(retryclient.ConstantBackoff(time.Hour)))
		call, calls := failing(1, retryclient.Transient(errUnavailable), retryclient.Transient(errUnavailable))
		time.AfterFunc(10*time.Second, cancel)
		start := time.Now()
		_, err := retryclient.Do(ctx, r, "query", call)
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("Do returned after %v; want at the cancel, 10s", took)
		}
		var gu *retryclient.GiveUpError
		if !errors.As(err, &gu) || gu.Reason != retryclient.ReasonCanceled || !errors.Is(err, context.Canceled) || *calls != 1 {
			t.Errorf("err = %v after %d calls; want a canceled GiveUpError wrapping context.Canceled after 1", err, *calls)
		}
	})
}

func TestDoRetriesAnAttemptThatTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retryclient.NewRetrier(constant().WithAttemptTimeout(5 * time.Second))
		n := 0
		call := func(ctx context.Context) (string, error) {
			n++
			if n == 1 {
				<-ctx.Done() // a hung call, ended by the attempt timeout
				return "", fmt.Errorf("query: %w", ctx.Err())
			}
			return "row", nil
		}
		start := time.Now()
		v, err := retryclient.Do(t.Context(), r, "query", call)
		if err != nil || v != "row" || n != 2 {
			t.Fatalf("Do = %q, %v after %d calls; want row after 2", v, err, n)
		}
		if took := time.Since(start); took != 6*time.Second {
			t.Errorf("took %v; want the 5s timeout and 1s backoff", took)
		}
	})
}

func TestDoRecordsAttemptsAndLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu  sync.Mutex
			tl  retryclient.Timeline
			log strings.Builder
		)
		r := retryclient.NewRetrier(constant(),
			retryclient.WithObserver(func(a retryclient.Attempt) { mu.Lock(); tl = append(tl, a); mu.Unlock() }),
			retryclient.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
		call, _ := failing(1, retryclient.Transient(errUnavailable))
		if _, err := retryclient.Do(t.Context(), r, "GetUser", call); err != nil {
			t.Fatal(err)
		}
		want := "#1 +0s GetUser → error (transient): unavailable · retry in 1s (transient-error)\n" +
			"#2 +1s GetUser → ok · done (success)"
		if tl.String() != want {
			t.Errorf("observed:\n%s\nwant:\n%s", tl, want)
		}
		if !strings.Contains(log.String(), "retryclient: retrying") || !strings.Contains(log.String(), "url=GetUser") {
			t.Errorf("log lacks the retry of GetUser:\n%s", log.String())
		}
	})
}

func TestDoWithBudgetAndBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A budget of 1 token (ratio 1) allows one retry, then refuses.
		b := retryclient.NewBudget(2, 1)
		r := retryclient.NewRetrier(constant().WithMaxAttempts(10), retryclient.WithBudget(b))
		call, calls := failing(1, slices.Repeat([]error{retryclient.Transient(errUnavailable)}, 10)...)
		_, err := retryclient.Do(t.Context(), r, "op", call)
		var gu *retryclient.GiveUpError
		if !errors.As(err, &gu) || gu.Reason != retryclient.ReasonBudgetExhausted {
			t.Errorf("err = %v after %d calls; want budget-exhausted", err, *calls)
		}

		cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
			Name: "db", Timeout: time.Minute,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 },
		})
		r = retryclient.NewRetrier(constant().WithMaxAttempts(5), retryclient.WithBreaker(cb))
		call, calls = failing(1, slices.Repeat([]error{retryclient.Transient(errUnavailable)}, 10)...)
		_, err = retryclient.Do(t.Context(), r, "op", call)
		if !errors.As(err, &gu) || gu.Reason != retryclient.ReasonCircuitOpen || !errors.Is(err, gobreaker.ErrOpenState) || *calls != 2 {
			t.Errorf("err = %v after %d calls; want circuit-open after 2", err, *calls)
		}
	})
}

func TestDoWithAnInvalidPolicy(t *testing.T) {
	r := retryclient.NewRetrier(retryclient.DefaultPolicy().WithMaxAttempts(0))
	called := false
	_, err := retryclient.Do(context.Background(), r, "op", func(context.Context) (int, error) { called = true; return 1, nil })
	if err == nil || err != r.Err() || called {
		t.Errorf("Do = %v (called %v); want the policy error %v without a call", err, called, r.Err())
	}
}

func TestDoSuccessAllocatesNothing(t *testing.T) {
	r := retryclient.NewRetrier(retryclient.DefaultPolicy())
	ctx := context.Background()
	call := func(context.Context) (int, error) { return 1, nil }
	if n := testing.AllocsPerRun(100, func() { _, _ = retryclient.Do(ctx, r, "op", call) }); n != 0 {
		t.Errorf("a successful Do allocates %v times; want 0", n)
	}
}

func BenchmarkDo(b *testing.B) {
	r := retryclient.NewRetrier(retryclient.DefaultPolicy())
	ctx := context.Background()
	call := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = retryclient.Do(ctx, r, "op", call)
	}
}

// rtFunc is an http.RoundTripper made of a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportClassifiesWithTheSameRules(t *testing.T) {
	errQuota := errors.New("proxy quota")
	cases := []struct {
		name  string
		err   error
		opts  []retryclient.Option
		calls int
	}{
		{"a Transient error of the wrapped RoundTripper is retried", retryclient.Transient(errQuota), nil, 3},
		{"a Permanent mark wins over a connection error", retryclient.Permanent(io.ErrUnexpectedEOF), nil, 1},
		{"WithClassifier applies to the Transport", errQuota, []retryclient.Option{retryclient.WithClassifier(func(err error) retryclient.ErrorClass {
			if errors.Is(err, errQuota) {
				return retryclient.ClassTransient
			}
			return retryclient.ClassNone
		})}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				next := rtFunc(func(*http.Request) (*http.Response, error) { calls++; return nil, c.err })
				client := &http.Client{Transport: retryclient.New(next, constant(), c.opts...)}
				_, err := client.Get("http://svc.invalid/")
				if err == nil || calls != c.calls {
					t.Errorf("err = %v after %d calls; want an error after %d", err, calls, c.calls)
				}
			})
		})
	}
}
