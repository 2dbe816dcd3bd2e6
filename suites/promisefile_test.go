package suites_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

func TestParsePromise(t *testing.T) {
	p, err := suites.ParsePromise("p.yaml", []byte("max-attempts: 4\nretried-statuses: [429, 503]\nretry-after: true\nretry-after-cap: 6h\n"+
		"backoff: {initial: 100ms, multiplier: 2, jitter: equal, min: 100ms}\nattempt-timeout: 500ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := suites.Promise{MaxAttempts: 4, RetriedStatuses: []int{429, 503}, RetryAfter: true, RetryAfterCap: 6 * time.Hour,
		Backoff:        retryclient.Backoff{Initial: 100 * time.Millisecond, Multiplier: 2, Jitter: retryclient.JitterEqual, Min: 100 * time.Millisecond},
		AttemptTimeout: 500 * time.Millisecond}
	if p.MaxAttempts != want.MaxAttempts || p.RetryAfterCap != want.RetryAfterCap || p.Backoff != want.Backoff || p.AttemptTimeout != want.AttemptTimeout || len(p.RetriedStatuses) != 2 {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	if _, err := suites.ParsePromise("p.json", []byte(`{"max-attempts": 3, "retry-after": true}`)); err != nil {
		t.Errorf("JSON: %v", err)
	}
}

func TestParsePromiseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown key", "max-attempts: 3\nretry-afterr: true\n", `p.yaml:2:1: unknown key "retry-afterr"`},
		{"bare integer duration", "attempt-timeout: 500\n", `p.yaml:1:18: durations are strings like "250ms", got 500`},
		{"bad duration", "retry-after-cap: 6 hours\n", `p.yaml:1:18: invalid duration "6 hours"`},
		{"wrong type", "max-attempts: three\n", "p.yaml:1:15:"},
		{"duplicate key", "max-attempts: 3\nmax-attempts: 4\n", "p.yaml:2:1:"},
		{"unknown jitter", "jitter: fulll\n", `p.yaml:1:9: unknown jitter "fulll"`},
		{"forbidden status", "# what the client documents\nretried-statuses: [501]\n", "p.yaml:2:1: suites: Promise.RetriedStatuses holds 501"},
		{"empty", "\n", "p.yaml:1:1: the promise is empty"},
		{"unknown backoff jitter", "max-attempts: 3\nbackoff:\n  initial: 1s\n  jitter: ful\n", `p.yaml:4:11: unknown jitter "ful"`},
		{"not a mapping", "- 3\n", "p.yaml:1:1: a promise is a mapping"},
		{"too deep", strings.Repeat("[", 50), "p.yaml:1:8: nested deeper than 8 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := suites.ParsePromise("p.yaml", []byte(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v\nwant a line starting %q", err, tc.want)
			}
		})
	}
}

// TestShippedPromisesParse: every promise file under examples/conform reads.
func TestShippedPromisesParse(t *testing.T) {
	files, _ := filepath.Glob("../examples/conform/*/promise.yaml")
	if len(files) == 0 {
		t.Fatal("no promise files under examples/conform")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := suites.ParsePromise(f, data); err != nil {
			t.Error(err)
		}
	}
}
