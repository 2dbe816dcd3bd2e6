package conform_test

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/retrylab/retrylab/suites"
)

// subject is a shipped external client and the verdicts it gets. Rules
// not listed are kept.
type subject struct {
	name    string
	column  string // its column in docs/compat.md's conform table
	dir     string
	command func(t *testing.T) string // "" skips, after t.Skip
	want    map[string]suites.Verdict
	// parallel is how many rules run at once: more for a client that
	// mostly sleeps, fewer for an interpreter that takes a core to start.
	parallel int
}

const closesBodies = "closes the bodies of the responses it discards"

var subjects = []subject{
	{
		name: "retryclient", column: "retryclient (Go control)", dir: "retryclient",
		command: func(t *testing.T) string {
			bin := filepath.Join(t.TempDir(), "retryclient")
			if out, err := exec.Command("go", "build", "-o", bin, "./retryclient").CombinedOutput(); err != nil {
				t.Fatalf("go build ./retryclient: %v\n%s", err, out)
			}
			return bin
		},
		want:     map[string]suites.Verdict{closesBodies: suites.NotCheckable},
		parallel: 4,
	},
	{
		name: "python requests + urllib3 Retry", column: "python requests 2.34 + urllib3 2.7 Retry", dir: "python-requests",
		command: func(t *testing.T) string {
			if _, err := exec.LookPath("python3"); err != nil {
				t.Skip("python3 is not on PATH")
			}
			if out, err := exec.Command("python3", "-c", "import requests, urllib3").CombinedOutput(); err != nil {
				t.Skipf("python3 cannot import requests and urllib3: %s", strings.TrimSpace(string(out)))
			}
			abs, _ := filepath.Abs("python-requests/client.py")
			return "python3 " + abs
		},
		want: map[string]suites.Verdict{
			"waits before every retry":                       suites.Broken,
			"stops at once when the caller cancels":          suites.Broken,
			closesBodies:                                     suites.NotCheckable,
			"never sleeps beyond its Retry-After cap":        suites.NotCheckable,
			"keeps its waits inside the promised envelope":   suites.NotPromised,
			"retries a POST that carries an Idempotency-Key": suites.NotPromised,
		},
		parallel: 2,
	},
	{
		name: "curl --retry", column: "curl --retry", dir: "curl",
		command: func(t *testing.T) string {
			if _, err := exec.LookPath("curl"); err != nil {
				t.Skip("curl is not on PATH")
			}
			abs, _ := filepath.Abs("curl/client.sh")
			return abs
		},
		want: map[string]suites.Verdict{
			"does not retry a POST or PATCH without an Idempotency-Key": suites.Broken,
			"makes the promised attempts on transient failures":         suites.Broken,
			closesBodies: suites.NotCheckable,
			"never sleeps beyond its Retry-After cap":        suites.NotPromised,
			"abandons a hung attempt at its attempt timeout": suites.NotPromised,
		},
		parallel: 5,
	},
}

// TestSubjects runs every rule against each shipped subject over real TCP
// and pins the verdicts docs/compat.md reports, so a change in a client, a
// script, a promise or a rule is noticed.
func TestSubjects(t *testing.T) {
	if testing.Short() {
		t.Skip("runs external clients in real time (about 15 s); not in -short")
	}
	for _, s := range subjects {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			command := s.command(t)
			data, err := os.ReadFile(filepath.Join(s.dir, "promise.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := suites.ParsePromise(filepath.Join(s.dir, "promise.yaml"), data)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]suites.Verdict{}
			for _, r := range suites.CheckAll(context.Background(), suites.ExecSubject(command, p), suites.Rules(), s.parallel) {
				if r.Verdict != suites.Kept {
					got[r.Rule.Name] = r.Verdict
				}
				if r.Verdict == suites.Broken || r.Verdict == suites.NotCheckable {
					t.Logf("%s: %s: %s", r.Rule.Name, r.Verdict, r.Reason)
				}
			}
			if !maps.Equal(got, s.want) {
				for _, rule := range suites.Rules() {
					if got[rule.Name] != s.want[rule.Name] {
						t.Errorf("%q: got %q, want %q", rule.Name, verdict(got[rule.Name]), verdict(s.want[rule.Name]))
					}
				}
			}
		})
	}
}

func verdict(v suites.Verdict) suites.Verdict {
	if v == "" {
		return suites.Kept
	}
	return v
}

// TestCompatDocMatchesSubjects: the conform table of docs/compat.md says
// what TestSubjects pins: ❌ exactly where a subject breaks a rule, "not
// checkable" and "not promised" where it gets those verdicts.
func TestCompatDocMatchesSubjects(t *testing.T) {
	doc, err := os.ReadFile("../../docs/compat.md")
	if err != nil {
		t.Fatal(err)
	}
	var table [][]string
	for line := range strings.Lines(string(doc)) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| conform rule |"):
			table = [][]string{cells(line)}
		case table == nil || strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, "|"):
			table = append(table, cells(line))
		}
		if table != nil && !strings.HasPrefix(line, "|") {
			break
		}
	}
	if len(table) == 0 {
		t.Fatal(`docs/compat.md has no table starting with "| conform rule |"`)
	}
	rows := map[string][]string{}
	for _, row := range table[1:] {
		rows[row[0]] = row
	}
	for _, s := range subjects {
		col := slices.Index(table[0], s.column)
		if col < 0 {
			t.Errorf("docs/compat.md: no column %q", s.column)
			continue
		}
		for _, rule := range suites.Rules() {
			row := rows[rule.Name]
			if row == nil || col >= len(row) {
				t.Errorf("docs/compat.md: no cell for rule %q, %s", rule.Name, s.column)
				continue
			}
			var doc suites.Verdict
			switch cell := row[col]; {
			case strings.HasPrefix(cell, "❌"):
				doc = suites.Broken
			case strings.HasPrefix(cell, "not checkable"):
				doc = suites.NotCheckable
			case strings.HasPrefix(cell, "not promised"):
				doc = suites.NotPromised
			case strings.HasPrefix(cell, "✅"):
				doc = suites.Kept
			default:
				t.Errorf("docs/compat.md: %s, %q: unknown cell %q", s.column, rule.Name, cell)
			}
			if want := verdict(s.want[rule.Name]); doc != want {
				t.Errorf("docs/compat.md: %s, %q says %s; TestSubjects pins %s", s.column, rule.Name, doc, want)
			}
		}
	}
}

// cells splits a Markdown table row into its trimmed cells.
func cells(row string) []string {
	parts := strings.Split(strings.Trim(row, "|"), "|")
	for i, c := range parts {
		parts[i] = strings.TrimSpace(c)
	}
	return parts
}

// TestReadmeShowsPythonVerdicts: the README's "Test a client in any
// language" output gives each rule the verdict TestSubjects pins for the
// Python subject.
func TestReadmeShowsPythonVerdicts(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, out, ok := strings.Cut(string(readme), "$ retrylab conform --exec 'python3 examples/conform/python-requests/client.py'")
	if !ok {
		t.Fatal("README.md shows no run of the Python subject")
	}
	out, _, _ = strings.Cut(out, "```")
	words := map[string]suites.Verdict{"kept": suites.Kept, "BROKEN": suites.Broken, "not checkable": suites.NotCheckable, "not promised": suites.NotPromised}
	seen := 0
	for _, rule := range suites.Rules() {
		for word, v := range words {
			if strings.Contains(out, "\n  "+padTo(word, 13)+"  "+rule.Name) {
				seen++
				if want := verdict(subjects[1].want[rule.Name]); v != want {
					t.Errorf("README.md shows %q %s; TestSubjects pins %s", rule.Name, v, want)
				}
			}
		}
	}
	if seen != len(suites.Rules()) {
		t.Errorf("README.md shows %d of %d rules", seen, len(suites.Rules()))
	}
}

func padTo(s string, n int) string { return s + strings.Repeat(" ", max(n-len(s), 0)) }
