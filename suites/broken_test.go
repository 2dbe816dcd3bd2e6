package suites_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/suites"
)

// loop is a hand-written retry loop: the kind of code teams write. Its zero
// flags make a correct client: 3 attempts; 100ms·2^i waits without jitter;
// retries 408, 425, 429, 5xx except 501 and 505, and connection errors;
// POST and PATCH only with an Idempotency-Key; Retry-After (seconds or
// date) up to 60s; bodies replayed with GetBody; discarded bodies closed;
// sleeps cut short by the caller's context. Each flag breaks one rule.
type loop struct {
	next http.RoundTripper

	retries400       bool  // also retries 400
	ignoresRetry     bool  // ignores Retry-After
	noBackoff        bool  // retries at once
	oneTooMany       bool  // makes one attempt more than promised
	losesBody        bool  // sends an empty body on retries
	dropsKey         bool  // drops the Idempotency-Key on retries
	ignoresCancel    bool  // sleeps without watching the context
	leaksBodies      bool  // never closes discarded responses
	retriesUnkeyed   bool  // retries POST without a key
	retriesForever   bool  // 501/505 retried too
	sleepsPastTheCap bool  // honours any Retry-After, however long
	sleepsAfterLast  bool  // sleeps its backoff after the last attempt too
	notRetried       []int // statuses it does not retry (a documented choice)
	secondsOnly      bool  // reads Retry-After as delta-seconds only
}

func (l *loop) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := 3
	if l.oneTooMany {
		attempts = 4
	}
	ctx := req.Context()
	for i := 1; ; i++ {
		r := req.Clone(ctx)
		if i > 1 && req.GetBody != nil {
			body, _ := req.GetBody()
			if l.losesBody {
				body = io.NopCloser(bytes.NewReader(nil))
				r.ContentLength = 0
			}
			r.Body = body
		}
		if i > 1 && l.dropsKey {
			r.Header.Del("Idempotency-Key")
		}
		resp, err := l.next.RoundTrip(r)
		if ctx.Err() != nil {
			return resp, err
		}
		retryable := err != nil
		var wait time.Duration
		if err == nil {
			switch c := resp.StatusCode; {
			case c == 400 && l.retries400:
				retryable = true
			case c == 501 || c == 505:
				retryable = l.retriesForever
			case slices.Contains(l.notRetried, c):
				retryable = false
			case c == 408 || c == 425 || c == 429 || c >= 500:
				retryable = true
			}
			if ra := resp.Header.Get("Retry-After"); ra != "" && !l.ignoresRetry {
				if secs, perr := strconv.Atoi(ra); perr == nil {
					wait = time.Duration(secs) * time.Second
				} else if t, perr := http.ParseTime(ra); perr == nil && !l.secondsOnly {
					wait = max(0, time.Until(t))
				}
				if wait > time.Minute && !l.sleepsPastTheCap {
					return resp, nil
				}
			}
		}
		idempotent := req.Method != "POST" && req.Method != "PATCH" || req.Header.Get("Idempotency-Key") != "" || l.retriesUnkeyed
		if !retryable || !idempotent || i >= attempts {
			if l.sleepsAfterLast && retryable && idempotent {
				time.Sleep(100 * time.Millisecond << (i - 1))
			}
			return resp, err
		}
		if resp != nil && !l.leaksBodies {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if wait == 0 && !l.noBackoff {
			wait = 100 * time.Millisecond << (i - 1)
		}
		if l.ignoresCancel {
			time.Sleep(wait)
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func loopSubject(l loop) suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			l := l
			l.next = base
			return &http.Client{Transport: &l}
		},
		Promise: suites.Promise{
			MaxAttempts:    3,
			InitialBackoff: 100 * time.Millisecond, Multiplier: 2, MaxBackoff: 10 * time.Second,
			RetryAfter: true, RetryAfterCap: time.Minute,
			IdempotencyKeys: true,
		},
	}
}

// brokenRules runs every applicable rule against s, each in its own
// virtual-time bubble, and returns the names of the rules it broke.
func brokenRules(t *testing.T, s suites.Subject) []string {
	var broken []string
	for _, rule := range suites.Rules() {
		if !rule.Applies(s.Promise) {
			continue
		}
		synctest.Test(t, func(t *testing.T) {
			if err := rule.Check(t.Context(), s); err != nil {
				broken = append(broken, rule.Name)
				t.Logf("%v", err)
			}
		})
	}
	return broken
}

// TestEachBrokenClientIsCaughtByItsRule: a client broken in one way breaks
// the rule meant for it and no unrelated rule.
func TestEachBrokenClientIsCaughtByItsRule(t *testing.T) {
	cases := []struct {
		name string
		l    loop
		want []string
	}{
		{"correct", loop{}, nil},
		{"retries 400", loop{retries400: true}, []string{"does not retry a non-transient 4xx"}},
		{"retries 501", loop{retriesForever: true}, []string{"does not retry 501 or 505"}},
		{"retries POST without key", loop{retriesUnkeyed: true}, []string{"does not retry a POST or PATCH without an Idempotency-Key"}},
		{"ignores Retry-After", loop{ignoresRetry: true}, []string{"honours Retry-After in seconds", "honours Retry-After as an HTTP-date"}},
		{"sleeps past the cap", loop{sleepsPastTheCap: true}, []string{"never sleeps beyond its Retry-After cap"}},
		{"no backoff", loop{noBackoff: true}, []string{"waits before every retry", "keeps its waits inside the promised envelope"}},
		{"one attempt too many", loop{oneTooMany: true}, []string{"never makes more attempts than promised"}},
		{"loses the body on retry", loop{losesBody: true}, []string{"sends the same body and Idempotency-Key on every attempt"}},
		{"drops the key on retry", loop{dropsKey: true}, []string{"sends the same body and Idempotency-Key on every attempt"}},
		{"ignores cancellation", loop{ignoresCancel: true}, []string{"stops at once when the caller cancels"}},
		{"leaks bodies", loop{leaksBodies: true}, []string{"closes the bodies of the responses it discards"}},
		{"sleeps after its last attempt", loop{sleepsAfterLast: true}, []string{"returns promptly after its last attempt"}},
		{"reads Retry-After in seconds only", loop{secondsOnly: true}, []string{"honours Retry-After as an HTTP-date"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := brokenRules(t, loopSubject(c.l))
			if !slices.Equal(got, c.want) {
				t.Errorf("broken rules:\n  got  %q\n  want %q", got, c.want)
			}
		})
	}
}

// TestRulesRunInVirtualTime: the whole rule set against one
// subject runs on the fake clock.
func TestRulesRunInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := loopSubject(loop{})
		for _, rule := range suites.Rules() {
			if rule.Applies(s.Promise) {
				if err := rule.Check(context.Background(), s); err != nil {
					t.Error(err)
				}
			}
		}
		if virtual := time.Since(start); virtual < 5*time.Second {
			t.Errorf("the rules waited only %v of virtual time; the scenarios script more", virtual)
		}
	})
}

// TestViolationShowsFaultinjectsTimeline: a broken rule's error ends with
// the server's calls as faultinject renders them (route, connection, how
// long each answer took), not a second format of the suites' own.
func TestViolationShowsFaultinjectsTimeline(t *testing.T) {
	s := loopSubject(loop{retries400: true})
	for _, rule := range suites.Rules() {
		if rule.Name != "does not retry a non-transient 4xx" {
			continue
		}
		synctest.Test(t, func(t *testing.T) {
			err := rule.Check(t.Context(), s)
			if err == nil {
				t.Fatal("a loop that retries 400 passed the rule")
			}
			_, timeline, ok := strings.Cut(err.Error(), "\nserver timeline:\n")
			if !ok {
				t.Fatalf("no server timeline in %q", err)
			}
			lines := strings.Split(timeline, "\n")
			if len(lines) < 2 || !strings.HasPrefix(lines[0], "  #1 +0s GET ") || !strings.Contains(lines[0], " conn 1 → 400") {
				t.Errorf("timeline is not faultinject's, indented:\n%s", timeline)
			}
			if !regexp.MustCompile(`^  #2 \+\S+ GET \S+ \[[^]]+ #2\] conn 1 \(reused\) → `).MatchString(lines[1]) {
				t.Errorf("second call is not faultinject's line:\n%s", lines[1])
			}
		})
		return
	}
	t.Fatal("no rule named \"does not retry a non-transient 4xx\"")
}
