package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// TestRunTextColumnsStayAligned: attempt durations of a millisecond or
// more added " in 1ms" to varying rows of `make demo`, pushing their
// decision column out of line, and a Retry-After from a date printed with
// nanoseconds.
func TestRunTextColumnsStayAligned(t *testing.T) {
	s := faultinject.NewScenario("cols").Route("GET /x", faultinject.Status(200)).MustBuild()
	res := runResult{
		spec: runSpec{scenario: s, policy: retryclient.DefaultPolicy(), method: "GET", path: "/x"},
		attempts: retryclient.Timeline{
			{Number: 1, Duration: 300 * time.Microsecond, Status: 503, Retry: true, Delay: 100 * time.Millisecond, Reason: retryclient.ReasonRetryableStatus},
			{Number: 2, Offset: 101 * time.Millisecond, Duration: 1200 * time.Microsecond, Status: 429, RetryAfterSeen: true,
				RetryAfter: 2521115175 * time.Nanosecond, Retry: true, Delay: 2521115175 * time.Nanosecond, Reason: retryclient.ReasonRetryableStatus},
			{Number: 3, Offset: 2623 * time.Millisecond, Duration: time.Second, Err: errors.New("timeout"), ErrClass: retryclient.ClassTimeout,
				Retry: true, Delay: 247 * time.Millisecond, Reason: retryclient.ReasonAttemptTimeout},
			{Number: 4, Offset: 3870 * time.Millisecond, Duration: 2 * time.Millisecond, Status: 200, Reason: retryclient.ReasonSuccess},
		},
		status:  200,
		elapsed: 3872 * time.Millisecond,
	}
	var b strings.Builder
	if err := res.writeText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "2.521115175s") || !strings.Contains(out, "[Retry-After 2.521s]") || !strings.Contains(out, "wait 2.521s") {
		t.Errorf("Retry-After not rounded to the millisecond:\n%s", out)
	}
	col := -1
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "  #") {
			continue
		}
		rows++
		i := strings.Index(line, "wait ")
		if i < 0 {
			i = strings.Index(line, "stop ")
		}
		if i < 0 {
			i = strings.Index(line, "then")
		}
		if col == -1 {
			col = i
		}
		if i != col {
			t.Errorf("decision column at %d, want %d, in row %q\n%s", i, col, line, out)
		}
		if strings.HasSuffix(line, " ") {
			t.Errorf("trailing space in %q", line)
		}
	}
	if rows != 5 {
		t.Errorf("%d rows, want a header and 4 attempts:\n%s", rows, out)
	}
}

func TestDescribePolicy(t *testing.T) {
	p := retryclient.DefaultPolicy()
	none := p.WithBackoff(p.Backoff.WithJitter(retryclient.JitterNone))
	for _, tc := range []struct {
		name string
		p    retryclient.Policy
		want string
	}{
		{"full jitter", p, ", full jitter,"},
		{"none jitter read badly", none, ", no jitter,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describePolicy(tc.p); !strings.Contains(got, tc.want) {
				t.Errorf("describePolicy = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// TestRunJournalRetryAfterIsADuration: journal[].retry_after was the raw
// header ("1") while attempts[].retry_after was a duration ("1s").
func TestRunJournalRetryAfterIsADuration(t *testing.T) {
	for _, tc := range []struct{ scenario, header string }{
		{"retry-after-seconds", "2"},
		{"retry-after-date", ""},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			_, rep, _ := runJSON(t, "--scenario", tc.scenario)
			c := rep.Journal[0]
			d, err := time.ParseDuration(c.RetryAfter)
			if err != nil {
				t.Fatalf("journal retry_after %q is not a duration: %v", c.RetryAfter, err)
			}
			if tc.header != "" && c.RetryAfterHeader != tc.header {
				t.Errorf("retry_after_header = %q, want %q", c.RetryAfterHeader, tc.header)
			}
			if _, err := time.Parse(time.RFC1123, c.RetryAfterHeader); tc.header == "" && err != nil {
				t.Errorf("retry_after_header = %q, want the HTTP-date as sent", c.RetryAfterHeader)
			}
			if a := rep.Attempts[0].RetryAfter; a != c.RetryAfter && tc.header != "" {
				t.Errorf("journal says %s, the attempt %s", c.RetryAfter, a)
			}
			if d <= 0 || d > 3*time.Second {
				t.Errorf("retry_after = %v, want (0, 3s]", d)
			}
		})
	}
}

// TestScenarioFileWithoutExtension: a file named without .yaml was taken
// for a catalogue name, and the error gave no hint.
func TestScenarioFileWithoutExtension(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("my-outage", []byte("name: my-outage\nroutes:\n  - route: GET /x\n    steps: [{respond: 503}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadScenario(context.Background(), "my-outage")
	if err != nil || s.Name != "my-outage" {
		t.Fatalf("loadScenario(my-outage) = %v, %v; want the file in the working directory", s, err)
	}
	// A catalogue name wins over a file of the same name.
	if err := os.WriteFile("outage", []byte("name: not-the-catalogue\nroutes: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := loadScenario(context.Background(), "outage"); err != nil || s.Name != "outage" {
		t.Errorf("loadScenario(outage) = %v, %v; want the embedded scenario", s, err)
	}
	_, err = loadScenario(context.Background(), "no-such-thing")
	if err == nil || !strings.HasSuffix(err.Error(), "; a scenario file is named by a path that contains a / or ends in .yaml or .yml") {
		t.Errorf("error %v, want a hint on how to name a file", err)
	}
}
