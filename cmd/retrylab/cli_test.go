package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary builds the retrylab command once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "retrylab-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "retrylab")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building retrylab: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

type result struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// TestBinaryUsageErrors: bad input gives one line on stderr and status 2,
// never a stack trace.
func TestBinaryUsageErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("name: broken\nroutes:\n  - route: GET /x\n    steps:\n      - fault: rest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badPolicy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(badPolicy, []byte("max-attempts: 3\nbackof: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tabbed := filepath.Join(dir, "tabbed.yaml")
	if err := os.WriteFile(tabbed, []byte("name: tabbed\nroutes:\n  - route: GET /x\n    steps:\n\t- respond: 200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tabbedPolicy := filepath.Join(dir, "tabbed-policy.yaml")
	if err := os.WriteFile(tabbedPolicy, []byte("max-attempts: 3\nbackoff:\n\tkind: constant\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, ""},
		{"upstream that is not http", []string{"serve", "--scenario", "default", "--upstream", "ftp://files.example"}, `retrylab serve: --upstream "ftp://files.example": want an http or https URL with a host`},
		{"unknown command", []string{"launch"}, `retrylab: unknown command "launch" (commands: run, serve, storm, record, lint, check, scenarios, conform)`},
		{"bad flag", []string{"run", "--scenaro", "default"}, "retrylab run: flag provided but not defined: -scenaro"},
		{"missing scenario", []string{"run"}, "retrylab run: --scenario is required: an embedded scenario name ("},
		{"unknown scenario", []string{"run", "--scenario", "nope"}, `retrylab run: fixtures: unknown scenario "nope" (known: chaos-mix, default,`},
		{"unreadable file", []string{"run", "--scenario", filepath.Join(dir, "missing.yaml")}, "retrylab run: cannot read scenario file " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"},
		{"invalid file", []string{"run", "--scenario", broken}, "retrylab run: " + broken + `:5:16: unknown fault "rest" (did you mean "reset"?)`},
		{"invalid policy", []string{"run", "--scenario", "default", "--policy", badPolicy}, "retrylab run: " + badPolicy + ":2:1:"},
		{"bad request", []string{"run", "--scenario", "default", "--request", "users"}, `retrylab run: --request "users": want 'METHOD /path'`},
		{"bad attempts", []string{"run", "--scenario", "default", "--attempts", "-1"}, "retrylab run: --attempts must be at least 1, got -1"},
		{"zero attempts accepted silently", []string{"run", "--scenario", "default", "--attempts", "0"}, "retrylab run: --attempts must be at least 1, got 0"},
		{"negative attempt timeout", []string{"run", "--scenario", "default", "--attempt-timeout", "-1s"}, "retrylab run: --attempt-timeout must not be negative, got -1s"},
		{"bad model", []string{"storm", "--model", "tsunami"}, `retrylab storm: unknown model "tsunami" (models: capacity, occ)`},
		{"bad clients", []string{"storm", "--clients", "10,x"}, `retrylab storm: --clients: "x" is not a whole number between 1 and 100000 (the most the capacity model takes)`},
		{"too many clients", []string{"storm", "--clients", "9000000000000000000"}, `retrylab storm: --clients: "9000000000000000000" is not a whole number between 1 and 100000 (the most the capacity model takes)`},
		{"occ clients that ran out of memory", []string{"storm", "--model", "occ", "--clients", "10000000"}, `retrylab storm: --clients: "10000000" is not a whole number between 1 and 1000 (the most the occ model takes)`},
		{"runs accepted without bound", []string{"storm", "--model", "occ", "--runs", "2000000000"}, "retrylab storm: --runs must be between 1 and 1000, got 2000000000"},
		{"zero runs accepted silently", []string{"storm", "--model", "occ", "--runs", "0"}, "retrylab storm: --runs must be between 1 and 1000, got 0"},
		{"empty clients accepted silently", []string{"storm", "--clients", ""}, "retrylab storm: --clients is empty: give client counts such as 1000"},
		{"capacity flag ignored by occ", []string{"storm", "--model", "occ", "--outage", "10s"}, "retrylab storm: --outage applies only to --model capacity"},
		{"timeouts flag ignored by occ", []string{"storm", "--model", "occ", "--timeouts"}, "retrylab storm: --timeouts applies only to --model capacity"},
		{"runs flag ignored by capacity", []string{"storm", "--runs", "5"}, "retrylab storm: --runs applies only to --model occ"},
		{"negative duration names no flag", []string{"storm", "--spread", "-1s"}, "retrylab storm: --spread must not be negative, got -1s"},
		{"zero capacity", []string{"storm", "--capacity", "0"}, "retrylab storm: --capacity must be a positive number of requests per second, got 0"},
		{"endless policy file", []string{"run", "--scenario", "default", "--policy", "/dev/zero"}, "retrylab run: policy file /dev/zero is larger than 1048576 bytes (1 MiB), the most retrylab reads"},
		{"endless storm policy file", []string{"storm", "--policy", "/dev/zero"}, "retrylab storm: policy file /dev/zero is larger than 1048576 bytes (1 MiB), the most retrylab reads"},
		{"endless scenario file", []string{"run", "--scenario", "/dev/zero"}, "retrylab run: scenario file /dev/zero is larger than 4194304 bytes (4 MiB), the most retrylab reads"},
		{"tab in scenario read as a bad token", []string{"run", "--scenario", tabbed}, "retrylab run: " + tabbed + ":5:1: tabs are not allowed for indentation in YAML; indent with spaces"},
		{"tab in policy read as a bad token", []string{"run", "--scenario", "default", "--policy", tabbedPolicy}, "retrylab run: " + tabbedPolicy + ":3:1: tabs are not allowed for indentation in YAML; indent with spaces"},
		{"port out of range leaks a package prefix", []string{"serve", "--scenario", "default", "--addr", "127.0.0.1:99999"}, `retrylab serve: --addr "127.0.0.1:99999": address 99999: invalid port`},
		{"bad method", []string{"run", "--scenario", "default", "--request", "G@T /x"}, `retrylab run: --request "G@T /x": net/http: invalid method "G@T"`},
		{"bad path", []string{"run", "--scenario", "default", "--request", "GET /users/%zz"}, `retrylab run: --request "GET /users/%zz": invalid URL escape "%zz"`},
		{"bad header", []string{"run", "--scenario", "default", "--header", ": v"}, `retrylab run: --header: "" is not a valid header name`},
		{"unwritable svg", []string{"run", "--scenario", "default", "--svg", "/nonexistent/dir/x.svg"}, `retrylab run: cannot write /nonexistent/dir/x.svg: no such file or directory`},
		{"unwritable chart", []string{"storm", "--svg", "/nonexistent/dir/x.svg"}, `retrylab storm: cannot write /nonexistent/dir/x.svg: no such file or directory`},
		{"stray argument", []string{"scenarios", "extra"}, `retrylab scenarios: unexpected argument "extra"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBinary(t, c.args...)
			if r.code != 2 {
				t.Errorf("exit status %d, want 2 (stderr %q)", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", r.stderr)
			}
			// Regression: a bad flag printed the whole help on stdout.
			if r.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", r.stdout)
			}
			if c.want == "" {
				return
			}
			if strings.Count(strings.TrimRight(r.stderr, "\n"), "\n") != 0 {
				t.Errorf("stderr is not one line:\n%s", r.stderr)
			}
			if !strings.HasPrefix(r.stderr, c.want) {
				t.Errorf("stderr = %q, want it to start with %q", r.stderr, c.want)
			}
			if strings.Contains(r.stderr, "faultinject: ") || strings.Contains(r.stderr, "storm: ") && !strings.HasPrefix(r.stderr, "retrylab storm: ") {
				t.Errorf("stderr %q leaks an internal package prefix", r.stderr)
			}
		})
	}
}

func TestBinaryHelp(t *testing.T) {
	for _, cmd := range []string{"run", "serve", "storm", "scenarios"} {
		r := runBinary(t, cmd, "-h")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: retrylab "+cmd) || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s -h: status %d, stdout:\n%s", cmd, r.code, r.stdout)
		}
	}
	r := runBinary(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "storm") {
		t.Errorf("--help: status %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestBinaryRun(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "t.svg")
	r := runBinary(t, "run", "--scenario", "transient-503", "--json", "--svg", svg)
	if r.code != 0 {
		t.Fatalf("status %d, stderr %s", r.code, r.stderr)
	}
	var rep decodedReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	if rep.Outcome.Status != 200 || len(rep.Attempts) != 3 || len(rep.Journal) != 3 {
		t.Errorf("want 200 after 3 attempts and 3 journaled calls, got %+v", rep.Outcome)
	}
	doc, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, doc, map[string]int{"mark": 3, "wait backoff": 2})

	r = runBinary(t, "run", "--scenario", "permanent-4xx", "--request", "GET /status/409", "--tcp")
	if r.code != 0 || !strings.Contains(r.stdout, "409 Conflict") || !strings.Contains(r.stdout, "after 1 attempt ") {
		t.Errorf("409 over TCP: status %d, stdout:\n%s", r.code, r.stdout)
	}

	// A request that ends without a response prints its timeline and exits 1.
	r = runBinary(t, "run", "--scenario", "reset", "--attempts", "1")
	if r.code != 1 || !strings.Contains(r.stdout, "outcome  error after 1 attempt") ||
		r.stderr != "retrylab run: the request failed (see the outcome above)\n" {
		t.Errorf("reset with 1 attempt: status %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

func TestBinaryStorm(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "storm.svg")
	r := runBinary(t, "storm", "--model", "occ", "--clients", "10,20", "--runs", "3", "--json", "--svg", svg)
	if r.code != 0 {
		t.Fatalf("status %d, stderr %s", r.code, r.stderr)
	}
	var rep stormReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.OCCRes) != 10 {
		t.Errorf("%d results, want 5 policies × 2 client counts", len(rep.OCCRes))
	}
	again := runBinary(t, "storm", "--model", "occ", "--clients", "10,20", "--runs", "3", "--json")
	if again.stdout != r.stdout {
		t.Error("the same seed gave different numbers")
	}
	doc, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, doc, nil)

	r = runBinary(t, "storm", "--clients", "200")
	if r.code != 0 || !strings.Contains(r.stdout, "amplification") || !strings.Contains(r.stdout, "full-jitter+budget") {
		t.Errorf("capacity table: status %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestBinaryScenarios(t *testing.T) {
	r := runBinary(t, "scenarios")
	if r.code != 0 || !strings.Contains(r.stdout, "default") || !strings.Contains(r.stdout, "transient-503") {
		t.Errorf("status %d, stdout:\n%s", r.code, r.stdout)
	}
}
