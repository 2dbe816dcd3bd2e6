package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/fixtures"
)

// decodedReport is the --json output as a consumer reads it: the attempts
// decoded by their documented keys, not through runAttempt.
type decodedReport struct {
	runReport
	Attempts []decodedAttempt `json:"attempts"`
}

// decodedAttempt is one of the --json output's attempts (README: schema
// retrylab.run/v2).
type decodedAttempt struct {
	RequestID        uint64 `json:"request_id"`
	Number           int    `json:"number"`
	Method           string `json:"method"`
	URL              string `json:"url"`
	Start            string `json:"start"`
	Offset           string `json:"offset"`
	Duration         string `json:"duration"`
	Status           int    `json:"status"`
	Error            string `json:"error"`
	ErrorClass       string `json:"error_class"`
	BodyError        string `json:"body_error"`
	RetryAfter       string `json:"retry_after"`
	RetryAfterHeader string `json:"retry_after_header"`
	Retry            bool   `json:"retry"`
	Delay            string `json:"delay"`
	Reason           string `json:"reason"`
}

// runJSON runs `retrylab run args... --json` through Main inside a
// synctest bubble (the pipe server and the client run in virtual time) and
// returns the exit status and the decoded report.
func runJSON(t *testing.T, args ...string) (int, decodedReport, string) {
	t.Helper()
	var code int
	var stdout, stderr bytes.Buffer
	synctest.Test(t, func(t *testing.T) {
		code = Main(t.Context(), append(append([]string{"run"}, args...), "--json"), &stdout, &stderr)
	})
	var rep decodedReport
	if code != 2 {
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("status %d; --json output does not parse: %v\n%s\nstderr: %s", code, err, stdout.Bytes(), stderr.Bytes())
		}
	}
	return code, rep, stderr.String()
}

// TestCatalogueWithDefaults runs every embedded scenario through `run`
// with the CLI's defaults and checks the outcome against what the
// scenario's opening comment promises a correct client does. A scenario
// added to the catalogue without an expectation here fails the test.
func TestCatalogueWithDefaults(t *testing.T) {
	type want struct {
		code     int    // exit status
		status   int    // final status, 0 for none
		attempts int    // attempts made
		reason   string // outcome reason
		check    func(t *testing.T, rep decodedReport)
	}
	cases := map[string]want{
		// "retries GETs through the noise within its attempt limit"
		"chaos-mix": {0, 200, 3, "success", func(t *testing.T, rep decodedReport) {
			for _, a := range rep.Attempts[:len(rep.Attempts)-1] {
				if a.ErrorClass != "connection" {
					t.Errorf("attempt %d: class %q, want a connection error from the chaos", a.Number, a.ErrorClass)
				}
			}
		}},
		// With the default three attempts: the 503, the 429, then the hang
		// is abandoned at the attempt timeout and no attempt is left.
		"default": {1, 0, 3, "max-attempts", func(t *testing.T, rep decodedReport) {
			if a := rep.Attempts[1]; a.Status != 429 || a.RetryAfter != "1s" || a.Delay != "1s" {
				t.Errorf("attempt 2 = %+v, want the 429 honoured for exactly 1s", a)
			}
			if a := rep.Attempts[2]; a.ErrorClass != "timeout" || a.Duration != runAttemptTimeout.String() {
				t.Errorf("attempt 3 = %+v, want a timeout after %v", a, runAttemptTimeout)
			}
			if want := "retryclient: gave up after 3 attempts: attempt 3 timed out after 2s (max-attempts)"; rep.Outcome.Error != want {
				t.Errorf("outcome error %q, want %q", rep.Outcome.Error, want)
			}
		}},
		// "sees an EOF before any response, a connection error, and retries a GET"
		"empty-reply": {0, 200, 2, "success", func(t *testing.T, rep decodedReport) {
			if a := rep.Attempts[0]; a.ErrorClass != "connection" || a.Reason != "connection-error" {
				t.Errorf("attempt 1 = %+v, want a retried connection error", a)
			}
		}},
		// "abandons the hung attempt at its per-attempt timeout and retries"
		"hang-then-success": {0, 200, 2, "success", func(t *testing.T, rep decodedReport) {
			if a := rep.Attempts[0]; a.ErrorClass != "timeout" || a.Reason != "attempt-timeout" || a.Duration != runAttemptTimeout.String() {
				t.Errorf("attempt 1 = %+v, want an attempt timeout after %v", a, runAttemptTimeout)
			}
		}},
		// "one call, returns the 501"
		"not-implemented": {0, 501, 1, "status-not-retryable", nil},
		// "stops at its attempt or elapsed-time limit and returns the last 503"
		"outage": {0, 503, 3, "max-attempts", nil},
		// "retries each request within its limits and returns the 503 while
		// the outage lasts"
		"outage-then-recovery": {0, 503, 3, "max-attempts", nil},
		// "makes exactly one call per route and returns the 4xx as is"
		"permanent-4xx": {0, 400, 1, "status-not-retryable", nil},
		// "the caller's read of the body fails ... the Transport does not retry it"
		"reset-mid-body": {1, 200, 1, "body-error", func(t *testing.T, rep decodedReport) {
			if a := rep.Attempts[0]; a.Reason != "body-error" || a.BodyError == "" {
				t.Errorf("attempt 1 = %+v, want it marked as a body error", a)
			}
			if !strings.HasPrefix(rep.Outcome.Error, "reading the body: ") {
				t.Errorf("outcome error %q, want the body error", rep.Outcome.Error)
			}
		}},
		// "treats the reset as a transient connection error and retries a GET"
		"reset": {0, 200, 2, "success", nil},
		// "parses the date and waits until then (about 3 s) before the retry"
		"retry-after-date": {0, 200, 2, "success", func(t *testing.T, rep decodedReport) {
			d, err := time.ParseDuration(rep.Attempts[0].Delay)
			if err != nil || d <= 2*time.Second || d > 3*time.Second || rep.Attempts[0].RetryAfter != rep.Attempts[0].Delay {
				t.Errorf("attempt 1 = %+v, want a wait of the date's 2-3 s", rep.Attempts[0])
			}
		}},
		// "waits exactly 2 s (not its own backoff) before the retry"
		"retry-after-seconds": {0, 200, 2, "success", func(t *testing.T, rep decodedReport) {
			if rep.Attempts[0].Delay != "2s" {
				t.Errorf("waited %s, want 2s", rep.Attempts[0].Delay)
			}
		}},
		// "gives up at once ... and returns the 503 to the caller"
		"retry-after-too-long": {0, 503, 1, "retry-after-above-cap", nil},
		// "returns the 200 ... and the caller reads the whole body slowly"
		"slow-body": {0, 200, 1, "success", func(t *testing.T, rep decodedReport) {
			if rep.Outcome.BodyBytes != 50 || rep.Outcome.Elapsed != "300ms" {
				t.Errorf("outcome = %+v, want all 50 bytes, read over 300ms", rep.Outcome)
			}
		}},
		// "waits exactly 1 s as asked ... returns the 200 with the whole JSON document"
		"maintenance": {0, 200, 2, "success", func(t *testing.T, rep decodedReport) {
			if a := rep.Attempts[0]; a.Status != 503 || a.Delay != "1s" || rep.Outcome.BodyBytes != 92 {
				t.Errorf("attempt 1 = %+v, outcome %+v; want the 503 honoured for 1s, then the 92-byte JSON body", a, rep.Outcome)
			}
		}},
		// "retries twice with growing backoff and returns the 200"
		"transient-503": {0, 200, 3, "success", nil},
	}
	for _, name := range fixtures.Names() {
		t.Run(name, func(t *testing.T) {
			w, ok := cases[name]
			if !ok {
				t.Fatalf("no expectation for the catalogue scenario %q: add what its comment promises", name)
			}
			code, rep, stderr := runJSON(t, "--scenario", name)
			if code != w.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, w.code, stderr)
			}
			o := rep.Outcome
			if o.Status != w.status || o.Attempts != w.attempts || o.Reason != w.reason {
				t.Fatalf("outcome %+v, want status %d after %d attempts, reason %q", o, w.status, w.attempts, w.reason)
			}
			if len(rep.Journal) != w.attempts {
				t.Errorf("%d journaled calls, want one per attempt (%d)", len(rep.Journal), w.attempts)
			}
			if w.check != nil {
				w.check(t, rep)
			}
		})
	}
}

// TestRunDeadlineIsNotACancellation: the run's own deadline used to be
// reported as "context deadline exceeded (canceled)".
func TestRunDeadlineIsNotACancellation(t *testing.T) {
	code, rep, _ := runJSON(t, "--scenario", "hang-then-success", "--attempt-timeout", "0", "--timeout", "5s")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if rep.Outcome.Reason != reasonDeadline || rep.Outcome.Error != "no response within the run's deadline (--timeout 5s)" {
		t.Errorf("outcome %+v, want the run's deadline named", rep.Outcome)
	}
	if a := rep.Attempts[0]; a.Reason != reasonDeadline || a.ErrorClass != classDeadline || a.Duration != "5s" {
		t.Errorf("attempt 1 = %+v, want it cut off by the deadline after 5s", a)
	}
}
