package suites_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// execClientEnv makes the test binary act as an external client (see
// TestMain): one request through retryclient, as a command written in any
// language would make it.
const execClientEnv = "SUITES_TEST_EXEC_CLIENT"

func TestMain(m *testing.M) {
	if os.Getenv(execClientEnv) != "" {
		os.Exit(execClient())
	}
	os.Exit(m.Run())
}

// execClient makes the request of the RETRYLAB_ variables through
// retryclient with a 20ms constant backoff and a 300ms attempt timeout,
// under the caller's deadline.
func execClient() int {
	deadline, err := time.Parse(time.RFC3339Nano, os.Getenv("RETRYLAB_DEADLINE"))
	if err != nil {
		fmt.Println(err)
		return 2
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	p := retryclient.DefaultPolicy().WithAttemptTimeout(300 * time.Millisecond)
	p.Backoff = retryclient.Backoff{Kind: retryclient.BackoffConstant, Initial: 40 * time.Millisecond, Jitter: retryclient.JitterNone}
	var body io.Reader
	if f := os.Getenv("RETRYLAB_BODY_FILE"); f != "" {
		b, _ := os.ReadFile(f)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, os.Getenv("RETRYLAB_METHOD"), os.Getenv("RETRYLAB_URL"), body)
	if err != nil {
		fmt.Println(err)
		return 2
	}
	for line := range strings.Lines(os.Getenv("RETRYLAB_HEADERS")) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := retryclient.NewClient(p).Do(req)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	return 0
}

// execControl is the test binary as an external client, and what it
// promises.
func execControl() suites.Subject {
	return suites.Subject{
		Exec: &suites.Exec{Command: strconv.Quote(os.Args[0]), Env: []string{execClientEnv + "=1"}},
		Promise: suites.Promise{
			MaxAttempts: 3, InitialBackoff: 40 * time.Millisecond, Multiplier: 1,
			IdempotencyKeys: true, AttemptTimeout: 300 * time.Millisecond,
		},
	}
}

// The control keeps every rule it is checked on, over real TCP.
var _ = suites.RetryConformanceExec("retryclient as an external command", execControl)

// rule returns the rule of that name.
func rule(t *testing.T, name string) suites.Rule {
	for _, r := range suites.Rules() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %q", name)
	return suites.Rule{}
}

// TestExecBadCommands: a command that cannot run, exits at once, or hangs
// gets the rule failed with a line saying what went wrong; no goroutine
// (server, timer, process waiter) outlives the check.
func TestExecBadCommands(t *testing.T) {
	g := gomega.NewWithT(t)
	before := gleak.Goroutines()
	for _, tc := range []struct {
		name, command string
		timeout       time.Duration
		want          string
	}{
		{"not found", "retrylab-no-such-client --flag", 0, "the command exited without sending the request: \"retrylab-no-such-client --flag\": exit status 127; its output ends: "},
		{"exits at once", "echo refusing >&2; exit 3", 0, "the command exited without sending the request: \"echo refusing >&2; exit 3\": exit status 3; its output ends: refusing"},
		{"hangs past the deadline", "sleep 30", 300 * time.Millisecond, "the command was still running 300ms after it started, at the request's deadline; its process group was killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := suites.Subject{Exec: &suites.Exec{Command: tc.command, Timeout: tc.timeout}}
			r := suites.CheckAll(context.Background(), s, []suites.Rule{rule(t, "does not retry a non-transient 4xx")}, 1)[0]
			if r.Verdict != suites.Broken || !strings.Contains(r.Reason, tc.want) {
				t.Errorf("got %s: %s\nwant broken: …%s…", r.Verdict, r.Reason, tc.want)
			}
			if first, _, _ := strings.Cut(r.Reason, "\n"); !strings.HasPrefix(first, `suites: rule "does not retry a non-transient 4xx" broken: `) {
				t.Errorf("first line %q does not name the rule", first)
			}
		})
	}
	g.Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(before))
}

// TestExecNotCheckable: a rule the server cannot observe for an external
// client is reported as not checkable, with the reason, never as kept.
func TestExecNotCheckable(t *testing.T) {
	s := suites.ExecSubject("exit 0", suites.Promise{RetryAfter: true, RetryAfterCap: time.Hour})
	for _, name := range []string{"closes the bodies of the responses it discards", "never sleeps beyond its Retry-After cap"} {
		err := rule(t, name).Check(context.Background(), s)
		var nc *suites.NotCheckableError
		if !errors.As(err, &nc) || nc.Reason == "" {
			t.Errorf("%s: got %v, want a *NotCheckableError with a reason", name, err)
		}
	}
}

// TestExecInterrupted: once the caller's context is done, the running
// command is killed and the rules report not run, not broken.
func TestExecInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range suites.CheckAll(ctx, execControl(), suites.Rules()[:3], 2) {
		if r.Verdict != suites.NotRun {
			t.Errorf("%s: got %s (%s), want not run", r.Rule.Name, r.Verdict, r.Reason)
		}
	}
}

// TestExecSlowStartIsGivenMoreTime: a command that sends its first request
// only after the caller's deadline (an interpreter slow to start on a busy
// machine) is run again with a later deadline instead of being blamed for
// an attempt after it (regression: a slow start broke the cancellation
// rule of clients that keep it).
func TestExecSlowStartIsGivenMoreTime(t *testing.T) {
	s := execControl()
	s.Exec.Command = "sleep 0.4; exec " + s.Exec.Command
	s.Exec.CancelAfter = 300 * time.Millisecond
	r := suites.CheckAll(context.Background(), s, []suites.Rule{rule(t, "stops at once when the caller cancels")}, 1)[0]
	if r.Verdict != suites.Kept {
		t.Errorf("got %s: %s", r.Verdict, r.Reason)
	}
}

// TestExecEnvironment: the command gets the request, as documented on
// Exec, in RETRYLAB_ variables.
func TestExecEnvironment(t *testing.T) {
	dir := t.TempDir()
	command := fmt.Sprintf(`env | grep '^RETRYLAB_' > %[1]s/env; printf %%s "$RETRYLAB_HEADERS" > %[1]s/headers; cp "$RETRYLAB_BODY_FILE" %[1]s/body; exit 1`, dir)
	s := suites.Subject{Exec: &suites.Exec{Command: command}, Promise: suites.Promise{MaxAttempts: 2, IdempotencyKeys: true}}
	suites.CheckAll(context.Background(), s, []suites.Rule{rule(t, "retries a POST that carries an Idempotency-Key")}, 1)
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(env), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	if !strings.HasPrefix(got["RETRYLAB_URL"], "http://127.0.0.1:") || !strings.HasSuffix(got["RETRYLAB_URL"], "/orders") ||
		got["RETRYLAB_METHOD"] != "POST" || got["RETRYLAB_IDEMPOTENCY_KEY"] != "conformance-key-7" ||
		got["RETRYLAB_TIMEOUT"] != "30.000" || got["RETRYLAB_RULE"] != "retries a POST that carries an Idempotency-Key" ||
		got["RETRYLAB_SCENARIO"] != "keyed-post-503" {
		t.Errorf("environment:\n%s", env)
	}
	if _, err := time.Parse(time.RFC3339Nano, got["RETRYLAB_DEADLINE"]); err != nil {
		t.Errorf("RETRYLAB_DEADLINE: %v", err)
	}
	if headers, _ := os.ReadFile(filepath.Join(dir, "headers")); string(headers) != "Content-Type: application/json\nIdempotency-Key: conformance-key-7\n" {
		t.Errorf("RETRYLAB_HEADERS held %q", headers)
	}
	if body, _ := os.ReadFile(filepath.Join(dir, "body")); string(body) != `{"order": 7, "items": ["tea", "scones"]}` {
		t.Errorf("body file held %q", body)
	}
}
