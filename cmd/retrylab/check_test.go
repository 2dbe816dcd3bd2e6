package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	acceptedPolicy  = "../../examples/policies/accepted.yaml"
	regressedPolicy = "../../examples/policies/regressed.yaml"
)

// check runs `retrylab check args...` in process.
func check(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"check"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestCheckShippedPolicies is the CI gate on the two shipped policies: the
// regressed one fails against the accepted one, the accepted one passes
// against itself.
func TestCheckShippedPolicies(t *testing.T) {
	code, out, errs := check(t, "--policy", regressedPolicy, "--baseline", acceptedPolicy)
	if code != 1 || !strings.Contains(errs, "gates failed") {
		t.Fatalf("regressed vs accepted: exit %d, stderr %q; want 1 and the failed gates\n%s", code, errs, out)
	}
	for _, want := range []string{
		"FAIL amplification no worse than the baseline (capacity, 1000 clients): new 7.83, baseline 3.94, limit 4.34",
		"FAIL success no worse than the baseline (capacity, 1000 clients): new 10.3%, baseline 12.8%, limit 11.5%",
		"ok   p99 no worse than the baseline (chaos): new 6.21s, baseline 6.162s, limit 6.778s",
		"ok   p99 no worse than the baseline (capacity, 100 clients)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, out, errs := check(t, "--policy", acceptedPolicy, "--baseline", acceptedPolicy); code != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("accepted vs itself: exit %d, stderr %q\n%s", code, errs, out)
	}
}

func TestCheckThresholds(t *testing.T) {
	code, out, _ := check(t, "--policy", regressedPolicy, "--max-amplification", "5", "--min-success", "5%", "--max-p99", "10s")
	if code != 1 || !strings.Contains(out, "FAIL amplification at most 5.00 (capacity, 100 clients): new 6.82, limit 5.00") ||
		!strings.Contains(out, "ok   p99 at most 10s (chaos): new 6.21s, limit 10s") || !strings.Contains(out, "ok   success at least 5.0% (capacity, 100 clients)") {
		t.Errorf("exit %d\n%s", code, out)
	}
	if code, out, _ := check(t, "--policy", acceptedPolicy, "--max-amplification", "5", "--max-p99", "10s"); code != 0 {
		t.Errorf("accepted under loose thresholds: exit %d\n%s", code, out)
	}
}

func TestCheckJSONAndJUnit(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "check.xml")
	code, out, _ := check(t, "--policy", regressedPolicy, "--baseline", acceptedPolicy, "--json", "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep struct {
		Schema   string
		Passed   bool
		Policies []struct{ Role, Name string }
		Gates    []struct {
			Name, New, Baseline, Limit string
			Passed                     bool
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json does not parse: %v\n%s", err, out)
	}
	if rep.Schema != checkSchema || rep.Passed || len(rep.Policies) != 2 || rep.Policies[0].Role != "new" || rep.Policies[1].Name != "accepted" || len(rep.Gates) != 9 || rep.Gates[0].Name != "lint: retry-after-cap-over-deadline" {
		t.Errorf("report = %+v", rep)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("JUnit XML does not parse into one suite: %v\n%s", err, data)
	}
	suite := doc.Suites[0]
	failed := 0
	for _, g := range rep.Gates {
		if !g.Passed {
			failed++
		}
	}
	if suite.Tests != len(rep.Gates) || len(suite.Cases) != len(rep.Gates) || suite.Failures != failed || failed == 0 {
		t.Errorf("JUnit: %d tests, %d cases, %d failures; want %d gates, %d failed", suite.Tests, len(suite.Cases), suite.Failures, len(rep.Gates), failed)
	}
	for _, c := range suite.Cases {
		if c.Failure != nil && !strings.Contains(c.Failure.Message, "beyond the limit of") && !strings.Contains(c.Failure.Message, "(fix: ") {
			t.Errorf("failure message %q", c.Failure.Message)
		}
	}
}

func TestCheckUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("max-attempts: 3\nbackof: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "retrylab check: --policy is required: the policy file to gate"},
		{[]string{"--policy", acceptedPolicy}, "retrylab check: nothing to check: give --baseline, or a threshold (--max-amplification, --max-p99, --min-success)"},
		{[]string{"--policy", acceptedPolicy, "--min-success", "150%"}, `retrylab check: --min-success "150%": a success rate is above 0 and at most 1 (100%)`},
		{[]string{"--policy", acceptedPolicy, "--min-success", "most"}, `retrylab check: --min-success "most": want a fraction such as 0.95 or a percentage such as 95%`},
		{[]string{"--policy", acceptedPolicy, "--max-amplification", "0.5"}, "retrylab check: --max-amplification 0.5: every request makes at least one call, so the limit must be 1 or more"},
		{[]string{"--policy", acceptedPolicy, "--baseline", acceptedPolicy, "--tolerance", "-0.1"}, "retrylab check: --tolerance -0.1: must be a fraction from 0 (no regression allowed) to below 1"},
		{[]string{"--policy", acceptedPolicy, "--max-p99", "-1s"}, "retrylab check: --max-p99 must not be negative, got -1s"},
		{[]string{"--policy", bad, "--max-p99", "1s"}, "retrylab check: " + bad + `:2:1: unknown field "backof" (did you mean "backoff"?)`},
	} {
		code, _, errs := check(t, c.args...)
		if code != 2 || strings.TrimSpace(errs) != c.want {
			t.Errorf("check %q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}

func TestLint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lintRun := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"lint"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	risky := write("risky.yaml", `max-attempts: 6
backoff:
  kind: constant
  initial: 100ms
  jitter: none
retry-statuses: [429, 503, 404]
retry-methods: [POST]
retry-after:
  honor: true
  cap: 5m
`)
	code, out, errs := lintRun("--policy", risky, "--deadline", "30s", "--layers", "3")
	if code != 1 || errs != "retrylab lint: 4 findings at error level\n" {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		risky + ":10:3: error [retry-after-cap-over-deadline] Retry-After is honoured up to 5m0s",
		risky + ":7:1: error [non-idempotent-retried] POST is retried without an Idempotency-Key",
		risky + ":6:1: error [non-transient-status-retried] retry-statuses holds 404",
		risky + ":1:1: error [layered-amplification] with 3 layers each making 6 attempts, one user request can make 216 attempts",
		risky + ":1:1: warning [no-attempt-timeout]",
		risky + ":5:3: warning [no-jitter]",
		risky + ":1:1: warning [no-budget] 6 attempts and no retry budget",
		"worst case of one logical request: unbounded; 7 findings",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	slow := write("slow.yaml", "max-attempts: 3\nattempt-timeout: 10s\nmax-elapsed: 40s\n")
	code, out, _ = lintRun("--policy", slow, "--deadline", "30s", "--json")
	var rep lintReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json does not parse: %v\n%s", err, out)
	}
	// The default Retry-After cap (60s) is over the deadline too.
	if code != 1 || rep.Schema != lintSchema || rep.Worst != "50s" || len(rep.Findings) != 2 ||
		rep.Findings[0].ID != "worst-case-over-deadline" || rep.Findings[0].Line != 3 || rep.Findings[0].Field != "max-elapsed" ||
		rep.Findings[1].ID != "retry-after-cap-over-deadline" || rep.Findings[1].Line != 1 {
		t.Errorf("exit %d, report %+v", code, rep)
	}

	if code, out, _ := lintRun("--policy", acceptedPolicy, "--deadline", "30s"); code != 0 || !strings.Contains(out, "worst case of one logical request: 22s; 1 finding") {
		t.Errorf("accepted policy: exit %d\n%s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "retrylab lint: --policy is required: the policy file to lint"},
		{[]string{"--policy", slow, "--layers", "0"}, "retrylab lint: --layers must be between 1 and 10, got 0"},
		{[]string{"--policy", slow, "--deadline", "-1s"}, "retrylab lint: --deadline must not be negative, got -1s"},
		{[]string{"--policy", write("bad.yaml", "max-atempts: 3\n")}, "retrylab lint: " + filepath.Join(dir, "bad.yaml") + `:1:1: unknown field "max-atempts" (did you mean "max-attempts"?)`},
	} {
		if code, _, errs := lintRun(c.args...); code != 2 || strings.TrimSpace(errs) != c.want {
			t.Errorf("lint %q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
