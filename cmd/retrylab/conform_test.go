package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
)

// conform runs Main with args and returns its status and output.
func conform(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), append([]string{"conform"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestConformUsage: bad input is one clear line on stderr and status 2,
// before any command runs.
func TestConformUsage(t *testing.T) {
	dir := t.TempDir()
	badPromise := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badPromise, []byte("max-attempts: 3\nretry-afterr: true\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "--exec is required"},
		{"command not found", []string{"--exec", "retrylab-no-such-client --x"}, `--exec: "retrylab-no-such-client" is not found on PATH`},
		{"script not found", []string{"--exec", "./no/such/client.sh"}, "--exec: ./no/such/client.sh: no such file or directory"},
		{"bad rule pattern", []string{"--exec", "true", "--rules", "retry[("}, `--rules "retry[(": missing closing ]`},
		{"unknown rule pattern", []string{"--exec", "true", "--rules", "teleports"}, `--rules "teleports" matches no rule (rules: "does not retry`},
		{"missing promise", []string{"--exec", "true", "--promise", filepath.Join(dir, "none.yaml")}, "cannot read promise file " + filepath.Join(dir, "none.yaml") + ": no such file or directory"},
		{"unreadable promise", []string{"--exec", "true", "--promise", dir}, "cannot read promise file " + dir + ": is a directory"},
		{"bad promise", []string{"--exec", "true", "--promise", badPromise}, badPromise + `:2:1: unknown key "retry-afterr"`},
		{"json and junit", []string{"--exec", "true", "--json", "--junit", filepath.Join(dir, "j.xml")}, "--json and --junit are exclusive"},
		{"cancel after timeout", []string{"--exec", "true", "--timeout", "1s", "--cancel-after", "2s"}, "--cancel-after must be positive and shorter than --timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := conform(t, tc.args...)
			if code != 2 || !strings.HasPrefix(stderr, "retrylab conform: ") || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
				t.Errorf("got status %d, stderr %q, stdout %q\nwant 2 and one line with %q", code, stderr, stdout, tc.want)
			}
		})
	}
}

// TestConformCommandNeverSends: a command that exits at once on every
// request breaks every rule it is checked on, each saying why; status 1.
func TestConformCommandNeverSends(t *testing.T) {
	code, stdout, stderr := conform(t, "--exec", "echo no network here >&2; exit 7", "--rules", "4xx|501")
	if code != 1 || stderr != "retrylab conform: 2 of 2 rules broken (see above)\n" {
		t.Errorf("got status %d, stderr %q", code, stderr)
	}
	if n := strings.Count(stdout, "the command exited without sending the request: \"echo no network here >&2; exit 7\": exit status 7; its output ends: no network here"); n != 2 {
		t.Errorf("want the reason under both rules, got:\n%s", stdout)
	}
}

// curlClient returns the shipped curl subject's script, or skips.
func curlClient(t *testing.T) string {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not on PATH")
	}
	return "../../examples/conform/curl/client.sh"
}

// TestConformJSON: the versioned report of a run with kept, not checkable
// and not promised rules, and status 0.
func TestConformJSON(t *testing.T) {
	client := curlClient(t)
	code, stdout, stderr := conform(t, "--exec", client, "--promise", "../../examples/conform/curl/promise.yaml",
		"--rules", "non-transient 4xx|501|closes|attempt timeout", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %q\n%s", code, stderr, stdout)
	}
	var rep conformReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != "retrylab.conform/v1" || rep.Command != client || len(rep.Rules) != 4 {
		t.Fatalf("report: %+v", rep)
	}
	want := map[string]string{
		"does not retry a non-transient 4xx":             "kept",
		"does not retry 501 or 505":                      "kept",
		"closes the bodies of the responses it discards": "not-checkable",
		"abandons a hung attempt at its attempt timeout": "not-promised",
	}
	for _, r := range rep.Rules {
		if want[r.Name] != r.Verdict {
			t.Errorf("%q: verdict %q, want %q", r.Name, r.Verdict, want[r.Name])
		}
		if r.Verdict == "not-checkable" && r.Reason == "" {
			t.Errorf("%q: not checkable without a reason", r.Name)
		}
	}
	if rep.Summary["kept"] != 2 || rep.Summary["not-checkable"] != 1 || rep.Summary["not-promised"] != 1 || rep.Summary["broken"] != 0 {
		t.Errorf("summary %v", rep.Summary)
	}
}

// TestConformJUnit: one testcase per rule; a failure for a broken rule,
// skipped for not promised and not checkable.
func TestConformJUnit(t *testing.T) {
	client := curlClient(t)
	file := filepath.Join(t.TempDir(), "conform.xml")
	code, stdout, _ := conform(t, "--exec", client, "--promise", "../../examples/conform/curl/promise.yaml",
		"--rules", "non-transient 4xx|without an Idempotency-Key|closes|attempt timeout", "--junit", file)
	if code != 1 {
		t.Fatalf("status %d, want 1 (curl retries an unkeyed POST)\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "  BROKEN         does not retry a POST or PATCH without an Idempotency-Key") || !strings.Contains(stdout, "server timeline:\n        #1 +0s POST /orders [POST /orders #1] conn 1 → 503") {
		t.Errorf("text report:\n%s", stdout)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	set := doc.Suites[0]
	if set.Tests != 4 || set.Failures != 1 || set.Skipped != 2 || len(set.Cases) != 4 {
		t.Fatalf("suite %+v", set)
	}
	for _, c := range set.Cases {
		switch c.Name {
		case "does not retry a POST or PATCH without an Idempotency-Key":
			if c.Failure == nil || !strings.Contains(c.Failure.Text, "server timeline:") {
				t.Errorf("%s: %+v", c.Name, c)
			}
		case "closes the bodies of the responses it discards", "abandons a hung attempt at its attempt timeout":
			if c.Skipped == nil || c.Skipped.Message == "" {
				t.Errorf("%s: %+v", c.Name, c)
			}
		default:
			if c.Failure != nil || c.Skipped != nil || c.Error != nil {
				t.Errorf("%s: %+v", c.Name, c)
			}
		}
	}
}

// TestConformInterrupted: SIGINT (a done context) ends the running command
// and reports the rules as not run, with status 1.
func TestConformInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := filepath.Join(t.TempDir(), "started")
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"conform", "--exec", "touch " + started + "; sleep 30", "--rules", "non-transient 4xx|501"}, &stdout, &stderr)
	}()
	// Interrupt once a command runs, so that it is ended mid-request.
	gomega.NewWithT(t).Eventually(func() error { _, err := os.Stat(started); return err }).WithTimeout(10 * time.Second).Should(gomega.Succeed())
	cancel()
	code := <-done
	if code != 1 || stderr.String() != "retrylab conform: interrupted: 2 rules not run\n" || strings.Count(stdout.String(), "  not run        ") != 2 {
		t.Errorf("status %d, stderr %q\n%s", code, stderr.String(), stdout.String())
	}
}
