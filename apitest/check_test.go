package apitest_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/apitest"
	fi "github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// The checks serve plain go test: these tests use no Ginkgo or Gomega.

// pinnedRun plays 503, 429 with Retry-After 1s, 200 through a fixture's
// client without jitter, in the bubble of t.
func pinnedRun(t *testing.T) *apitest.Fixture {
	t.Helper()
	ctx := apitest.Context(t)
	s := fi.NewScenario("pinned").
		Route("GET /users/{id}", fi.Status(503), fi.Status(429).RetryAfter(time.Second), fi.Status(200)).
		MustBuild()
	fx := apitest.New(ctx, s, apitest.WithPolicy(noJitter()))
	resp, err := fx.Get(ctx, "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return fx
}

func TestChecksInPlainGoTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := pinnedRun(t)
		ms := time.Millisecond
		for _, err := range []error{
			apitest.CheckAttempts(fx, 3),
			apitest.CheckCalls(fx, "GET /users/{id}", 3),
			apitest.CheckWaited(fx, 100*ms, time.Second),
			apitest.CheckWaitedBetween(fx, 100*ms, time.Second),
			apitest.CheckBackedOffWithin(fx, retryclient.Backoff{Kind: retryclient.BackoffConstant, Initial: 100 * ms}),
			apitest.CheckHonoredRetryAfter(fx),
			apitest.CheckHonoredRetryAfter(fx.Attempts()),
			apitest.CheckSentSameBody(fx),
			apitest.CheckGivenUpWith(fx, retryclient.ReasonSuccess),
		} {
			if err != nil {
				t.Error(err)
			}
		}
		err := apitest.CheckAttempts(fx, 2)
		var ce *apitest.CheckError
		if !errors.As(err, &ce) {
			t.Fatalf("CheckAttempts(fx, 2) = %v; want a *CheckError", err)
		}
		if ce.Expected != "make 2 attempts" || ce.Problem != "it made 3" {
			t.Errorf("CheckError{Expected: %q, Problem: %q}; want \"make 2 attempts\", \"it made 3\"", ce.Expected, ce.Problem)
		}
		if ce.Timeline != fx.GomegaString() {
			t.Errorf("CheckError.Timeline is\n%s\nwant the fixture's timeline\n%s", ce.Timeline, fx.GomegaString())
		}
		if !strings.HasPrefix(err.Error(), "apitest: Expected the retry client to make 2 attempts, but it made 3.\n\nTimeline:\n  client attempts (3):") {
			t.Errorf("error text:\n%s", err)
		}
	})
}

// TestMatchersWrapTheirChecks: for every matcher, over every kind of
// actual value, the matcher succeeds exactly when its check returns nil,
// its failure message is the check's error text without "apitest: ", and
// an error that keeps it from matching is the check's error too.
func TestMatchersWrapTheirChecks(t *testing.T) {
	ms := time.Millisecond
	constant := retryclient.Backoff{Kind: retryclient.BackoffConstant, Initial: 100 * ms, Jitter: retryclient.JitterEqual}
	type pair struct {
		name  string
		check func(actual any) error
		m     interface {
			Match(any) (bool, error)
			FailureMessage(any) string
		}
	}
	pairs := []pair{
		{"attempts 3", func(a any) error { return apitest.CheckAttempts(a, 3) }, apitest.HaveAttempts(3)},
		{"attempts 2", func(a any) error { return apitest.CheckAttempts(a, 2) }, apitest.HaveAttempts(2)},
		{"calls", func(a any) error { return apitest.CheckCalls(a, "GET /users/{id}", 1) }, apitest.HaveCalls("GET /users/{id}", 1)},
		{"calls to a typo", func(a any) error { return apitest.CheckCalls(a, "GET /user/{id}", 1) }, apitest.HaveCalls("GET /user/{id}", 1)},
		{"not retried", apitest.CheckNotRetried, apitest.HaveNotRetried()},
		{"waited", func(a any) error { return apitest.CheckWaited(a, 100*ms) }, apitest.HaveWaited(100 * ms)},
		{"waited between", func(a any) error { return apitest.CheckWaitedBetween(a, 0, 500*ms) }, apitest.HaveWaitedBetween(0, 500*ms)},
		{"waited between, bounds reversed", func(a any) error { return apitest.CheckWaitedBetween(a, time.Second, 0) }, apitest.HaveWaitedBetween(time.Second, 0)},
		{"exponential", func(a any) error { return apitest.CheckBackedOffExponentially(a, 50*ms, 2) }, apitest.HaveBackedOffExponentially(50*ms, 2)},
		{"exponential capped", func(a any) error { return apitest.CheckBackedOffExponentially(a, 100*ms, 2, 150*ms) }, apitest.HaveBackedOffExponentially(100*ms, 2, 150*ms)},
		{"within", func(a any) error { return apitest.CheckBackedOffWithin(a, constant) }, apitest.HaveBackedOffWithin(constant)},
		{"retry-after", apitest.CheckHonoredRetryAfter, apitest.HaveHonoredRetryAfter()},
		{"same body", apitest.CheckSentSameBody, apitest.HaveSentSameBody()},
		{"same key", apitest.CheckSentSameIdempotencyKey, apitest.HaveSentSameIdempotencyKey()},
		{"given up", func(a any) error { return apitest.CheckGivenUpWith(a, retryclient.ReasonMaxAttempts) }, apitest.HaveGivenUpWith(retryclient.ReasonMaxAttempts)},
	}
	synctest.Test(t, func(t *testing.T) {
		fx := pinnedRun(t)
		actuals := map[string]any{
			"fixture":  fx,
			"timeline": fx.Attempts(),
			"attempts": []retryclient.Attempt(fx.Attempts()),
			"journal":  fx.Journal(),
			"calls":    fx.Journal().Calls(),
			"give-up":  &retryclient.GiveUpError{Attempts: 3, Reason: retryclient.ReasonMaxAttempts, Timeline: fx.Attempts()},
			"other":    42,
		}
		failures := 0
		for _, p := range pairs {
			for kind, actual := range actuals {
				ok, merr := p.m.Match(actual)
				err := p.check(actual)
				var ce *apitest.CheckError
				switch {
				case merr != nil:
					if err == nil || err.Error() != merr.Error() || errors.As(err, &ce) {
						t.Errorf("%s on %s: the matcher cannot match (%v) but the check returned %#v", p.name, kind, merr, err)
					}
				case ok:
					if err != nil {
						t.Errorf("%s on %s: the matcher succeeds but the check returned %v", p.name, kind, err)
					}
				default:
					failures++
					if !errors.As(err, &ce) {
						t.Errorf("%s on %s: the matcher fails but the check returned %#v", p.name, kind, err)
						continue
					}
					if msg := p.m.FailureMessage(actual); "apitest: "+msg != err.Error() {
						t.Errorf("%s on %s: the failure message\n%s\nis not the check's error text\n%s", p.name, kind, msg, err)
					}
					if !strings.HasSuffix(err.Error(), "Timeline:\n"+indent(ce.Timeline)) {
						t.Errorf("%s on %s: the error does not end with its timeline:\n%s", p.name, kind, err)
					}
				}
			}
		}
		if failures < len(pairs) {
			t.Errorf("only %d failing matches: the table does not exercise every failure message", failures)
		}
	})
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// Regression: HaveNotRetried indexed the attempt before the first record
// and panicked on a timeline that starts with a retry (a truncated one).
func TestNotRetriedOnATimelineStartingWithARetry(t *testing.T) {
	tl := retryclient.Timeline{{Number: 2, Method: "GET", URL: "/x", Status: 200, Reason: retryclient.ReasonSuccess}}
	err := apitest.CheckNotRetried(tl)
	if err == nil || !strings.HasPrefix(err.Error(), "apitest: Expected the retry client to make no retry, but attempt #2 has no attempt before it in the timeline.") {
		t.Errorf("CheckNotRetried = %v", err)
	}
	if ok, err := apitest.HaveNotRetried().Match(tl); ok || err != nil {
		t.Errorf("HaveNotRetried().Match = %v, %v; want false, nil", ok, err)
	}
}

func TestCheckErrorsForValuesItCannotRead(t *testing.T) {
	for name, err := range map[string]error{
		"an int":                 apitest.CheckAttempts(42, 1),
		"calls of a timeline":    apitest.CheckCalls(retryclient.Timeline{}, "GET /x", 1),
		"bodies of a timeline":   apitest.CheckSentSameBody(retryclient.Timeline{}),
		"give-up of a journal":   apitest.CheckGivenUpWith([]fi.Call{}, retryclient.ReasonSuccess),
		"an invalid backoff":     apitest.CheckBackedOffWithin(retryclient.Timeline{}, retryclient.Backoff{Kind: "wobbly"}),
		"a nil *apitest.Fixture": apitest.CheckAttempts((*apitest.Fixture)(nil), 1),
	} {
		var ce *apitest.CheckError
		if err == nil || errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "apitest: ") {
			t.Errorf("%s: %#v; want an apitest error that is not a *CheckError", name, err)
		}
	}
}
