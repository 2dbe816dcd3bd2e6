package suites_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/retrylab/retrylab/retryclient"
	"github.com/retrylab/retrylab/suites"
)

// retryablehttpSubject is go-retryablehttp as its README sets it up:
// NewClient with the defaults (RetryMax 4, RetryWaitMin 1s, RetryWaitMax
// 30s, DefaultBackoff, DefaultRetryPolicy) and StandardClient.
func retryablehttpSubject() suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			c := retryablehttp.NewClient()
			c.Logger = nil
			c.HTTPClient.Transport = base
			return c.StandardClient()
		},
		// What its documentation promises: 5 attempts, exponential waits
		// from 1s doubling up to 30s without jitter, connection errors, 429
		// and "500-range responses (except 501)" retried, Retry-After
		// honoured on 429 and 503 (no cap is documented).
		Promise: suites.Promise{
			MaxAttempts:    5,
			InitialBackoff: time.Second, Multiplier: 2, MaxBackoff: 30 * time.Second,
			RetriedStatuses: []int{429, 500, 502, 503, 504},
			RetryAfter:      true,
		},
	}
}

// restyClient adapts a resty client to http.RoundTripper, so the suite can
// drive it like any *http.Client.
type restyClient struct{ c *resty.Client }

func (a restyClient) RoundTrip(req *http.Request) (*http.Response, error) {
	r := a.c.R().SetContext(req.Context())
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		r.SetBody(b)
	}
	resp, err := r.Execute(req.Method, req.URL.String())
	if err != nil {
		return nil, err
	}
	raw := resp.RawResponse
	raw.Body = io.NopCloser(bytes.NewReader(resp.Body()))
	return raw, nil
}

// restySubject is resty configured as its README's retry section suggests:
// SetRetryCount(3) with the default waits (100ms up to 2s, jittered) and a
// retry condition for 429 and 5xx answers that keeps "err != nil", as the
// README says a condition must to go on retrying connection errors.
func restySubject() suites.Subject {
	return restySubjectWith(func(r *resty.Response, err error) bool {
		// "Including err != nil emulates the default retry behavior for
		// errors encountered during the request."
		return err != nil || r.StatusCode() == http.StatusTooManyRequests || r.StatusCode() >= 500
	})
}

// restyWithoutErrSubject is resty with a retry condition that forgets
// "err != nil": the condition replaces resty's default decision, so
// connection errors are no longer retried.
func restyWithoutErrSubject() suites.Subject {
	return restySubjectWith(func(r *resty.Response, err error) bool {
		return r != nil && (r.StatusCode() == http.StatusTooManyRequests || r.StatusCode() >= 500)
	})
}

func restySubjectWith(condition resty.RetryConditionFunc) suites.Subject {
	return suites.Subject{
		Client: func(base http.RoundTripper) *http.Client {
			c := resty.New().SetLogger(quietLogger{}).SetTransport(base).SetRetryCount(3).
				SetRetryWaitTime(100 * time.Millisecond).SetRetryMaxWaitTime(2 * time.Second).
				AddRetryCondition(condition)
			return &http.Client{Transport: restyClient{c}}
		},
		// What its documentation promises: 4 attempts; waits from
		// RetryWaitTime doubling up to RetryMaxWaitTime, jittered ("backoff
		// with jitter"): its jitterBackoff draws between half the capped
		// schedule and the schedule, and never below RetryWaitTime.
		Promise: suites.Promise{
			MaxAttempts: 4,
			Backoff: retryclient.Backoff{
				Initial: 100 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second,
				Jitter: retryclient.JitterEqual, Min: 100 * time.Millisecond,
			},
			RetriedStatuses: []int{429, 500, 502, 503, 504},
		},
	}
}

// brokenByDefault are the two rules every library here breaks as
// configured: see docs/compat.md.
var brokenByDefault = []string{
	"does not retry 501 or 505",
	"does not retry a POST or PATCH without an Idempotency-Key",
}

// peer is a client of TestPeers and TestChaosPeers with its expected
// results, which docs/compat.md reports.
type peer struct {
	name    string
	column  string // its column in docs/compat.md's table; "" for none
	subject func() suites.Subject
	// broken are the rules it breaks, in the order of suites.Rules.
	broken []string
	// chaos are the chaos sequences of seeds 1 to chaosSeeds it fails, by
	// chaosKind; nil when TestChaosPeers does not run it.
	chaos map[string][]uint64
}

// peers are the pinned results: a change in a peer, a Promise or a rule
// makes TestPeers or TestChaosPeers fail.
var peers = []peer{
	{name: "retryclient", column: "retryclient (default policy)", subject: retryclientSubject},
	{
		name: "go-retryablehttp", column: "go-retryablehttp v0.7.8", subject: retryablehttpSubject,
		broken: brokenByDefault,
		chaos: map[string][]uint64{
			"retries an unkeyed POST": {13, 24, 26, 33, 38, 45, 48, 49, 54},
		},
	},
	{
		name: "resty", column: "resty v2.17.2", subject: restySubject,
		broken: brokenByDefault,
		chaos: map[string][]uint64{
			"retries a final answer":  {12, 20, 33, 35},
			"retries an unkeyed POST": {2, 4, 13, 24, 42, 43, 45, 46, 48, 51, 54, 57, 58},
		},
	},
	{
		name: "failsafe-go", column: "failsafe-go v0.9.8 (failsafehttp)", subject: failsafeSubject,
		broken: append(slices.Clip(brokenByDefault),
			"closes the bodies of the responses it discards",
			"honours Retry-After as an HTTP-date",
		),
		chaos: map[string][]uint64{
			"leaves discarded responses open": {1, 3, 6, 7, 8, 9, 10, 14, 15, 17, 22, 23, 26, 29, 30, 31, 37, 38, 39, 47, 49, 52, 53, 55, 56, 59, 60},
			"retries an unkeyed POST":         {2, 4, 13, 24, 33, 42, 43, 45, 46, 48, 51, 54, 57, 58},
		},
	},
	{
		name: "heimdall", column: "heimdall v7.0.3", subject: heimdallSubject,
		broken: append(slices.Clip(brokenByDefault),
			"stops at once when the caller cancels",
			"returns promptly after its last attempt",
		),
		chaos: map[string][]uint64{
			"leaves discarded responses open": {1, 10, 39, 42, 43, 51},
			"retries a final answer":          {2, 5, 12, 13, 35, 54},
			"retries an unkeyed POST":         {24, 26, 33, 38, 45, 48, 49},
		},
	},
	{
		name: "retry-go", column: "avast/retry-go v4.7.0 loop", subject: retrygoSubject,
		broken: brokenByDefault,
		chaos: map[string][]uint64{
			"retries a final answer":  {6, 8, 10, 12, 19, 20, 24, 26, 35, 48, 54},
			"retries an unkeyed POST": {4, 5, 7, 18, 29, 30, 32, 33, 36, 41, 43, 47, 51, 53, 56, 57},
		},
	},
	{
		name: "cenkalti/backoff", column: "cenkalti/backoff v5.0.3 loop", subject: backoffSubject,
		broken: brokenByDefault,
		chaos: map[string][]uint64{
			"retries a final answer":  {2, 5, 12, 13, 35, 54},
			"retries an unkeyed POST": {24, 26, 33, 38, 45, 48, 49},
		},
	},
	{
		name: "sethvargo/go-retry", column: "sethvargo/go-retry v0.5.0 loop", subject: goretrySubject,
		broken: brokenByDefault,
		chaos: map[string][]uint64{
			"retries a final answer":  {2, 5, 12, 13, 35, 54},
			"retries an unkeyed POST": {24, 26, 33, 38, 45, 48, 49},
		},
	},
	// Two set-ups that break a rule by configuration alone.
	{
		name: "resty, condition without err != nil", subject: restyWithoutErrSubject,
		broken: append(slices.Clip(brokenByDefault), "makes the promised attempts on transient failures"),
	},
	{
		name: "retry-go without retry.Context", subject: retrygoWithoutContextSubject,
		broken: append(slices.Clip(brokenByDefault), "stops at once when the caller cancels"),
	},
}

// TestPeers records which rules each peer breaks (see peers).
func TestPeers(t *testing.T) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			got := brokenRules(t, p.subject())
			if !slices.Equal(got, p.broken) {
				t.Errorf("broken rules:\n  got  %q\n  want %q", got, p.broken)
			}
		})
	}
}

// quietLogger keeps resty's retry log out of the test output.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// chaosSeeds is how many chaos sequences TestChaosPeers runs per peer.
const chaosSeeds = 60

// chaosKind names the invariant a chaos failure broke, from its message.
func chaosKind(err error) string {
	switch msg := err.Error(); {
	case strings.Contains(msg, "POST without Idempotency-Key was sent"):
		return "retries an unkeyed POST"
	case strings.Contains(msg, "followed a final"):
		return "retries a final answer"
	case strings.Contains(msg, "were never closed"):
		return "leaves discarded responses open"
	case strings.Contains(msg, "the final answer was reachable"):
		return "gives up before the final answer"
	default:
		return msg
	}
}

// TestChaosPeers records which chaos sequences each peer fails, and why
// (see peers). Scripts draw only the statuses a peer promises to retry, so
// none fails for a status it never claimed (regression: chaos blamed four
// peers for not retrying 408, and heimdall for 429).
func TestChaosPeers(t *testing.T) {
	for _, p := range peers {
		if p.chaos == nil {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			got := map[string][]uint64{}
			for seed := uint64(1); seed <= chaosSeeds; seed++ {
				synctest.Test(t, func(t *testing.T) {
					if err := suites.CheckChaos(t.Context(), p.subject(), seed); err != nil {
						kind := chaosKind(err)
						got[kind] = append(got[kind], seed)
						t.Logf("seed %d: %v", seed, err)
					}
				})
			}
			if !maps.EqualFunc(got, p.chaos, slices.Equal) {
				t.Errorf("failed sequences:\n  got  %s\n  want %s", formatKinds(got), formatKinds(p.chaos))
			}
		})
	}
}

// formatKinds prints failed sequences by kind, in a stable order, as Go
// source ready to paste.
func formatKinds(m map[string][]uint64) string {
	var b strings.Builder
	b.WriteString("{")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "\n\t%q: {%s},", k, strings.Trim(strings.Join(strings.Fields(fmt.Sprint(m[k])), ", "), "[]"))
	}
	b.WriteString("\n}")
	return b.String()
}

// TestCompatDocMatchesPeers: the results table of docs/compat.md says what
// TestPeers and TestChaosPeers pin: a ❌ exactly where a peer breaks a rule,
// and the number of chaos sequences each fails, in all and by kind.
func TestCompatDocMatchesPeers(t *testing.T) {
	doc, err := os.ReadFile("../docs/compat.md")
	if err != nil {
		t.Fatal(err)
	}
	table := resultsTable(string(doc))
	if len(table) == 0 {
		t.Fatal(`docs/compat.md has no table starting with "| rule |"`)
	}
	rows := map[string][]string{}
	for _, row := range table[1:] {
		rows[row[0]] = row
	}
	for _, rule := range suites.Rules() {
		if rows[rule.Name] == nil {
			t.Errorf("docs/compat.md: no row for rule %q", rule.Name)
		}
	}
	totalRow := fmt.Sprintf("chaos: sequences failed of %d", chaosSeeds)
	for _, p := range peers {
		if p.column == "" {
			continue
		}
		col := slices.Index(table[0], p.column)
		if col < 0 {
			t.Errorf("docs/compat.md: no column %q", p.column)
			continue
		}
		for _, rule := range suites.Rules() {
			row := rows[rule.Name]
			if row == nil {
				continue
			}
			if doc, pinned := strings.HasPrefix(row[col], "❌"), slices.Contains(p.broken, rule.Name); doc != pinned {
				t.Errorf("docs/compat.md: %s, %q says %q; TestPeers pins broken=%v", p.column, rule.Name, row[col], pinned)
			}
		}
		if p.chaos == nil {
			continue
		}
		total := 0
		for _, seeds := range p.chaos {
			total += len(seeds)
		}
		if got := leadingInt(rows[totalRow], col); got != total {
			t.Errorf("docs/compat.md: %s, %q says %d; TestChaosPeers pins %d", p.column, totalRow, got, total)
		}
		for kind, seeds := range p.chaos {
			if rows["· "+kind] == nil {
				t.Errorf("docs/compat.md: no row %q", "· "+kind)
			}
			if got := leadingInt(rows["· "+kind], col); got != len(seeds) {
				t.Errorf("docs/compat.md: %s, %q says %d; TestChaosPeers pins %d", p.column, kind, got, len(seeds))
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

// resultsTable returns the cells of the Markdown table whose header starts
// with "| rule |", header first, without its delimiter row.
func resultsTable(doc string) [][]string {
	var table [][]string
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| rule |"):
			table = [][]string{cells(line)}
		case table == nil || strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, "|"):
			table = append(table, cells(line))
		default:
			return table
		}
	}
	return table
}

// leadingInt reads the number a table cell starts with; "–", a missing row
// or a missing cell count as 0.
func leadingInt(row []string, col int) int {
	if col >= len(row) {
		return 0
	}
	cell := row[col]
	end := strings.IndexFunc(cell, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(cell)
	}
	n, _ := strconv.Atoi(cell[:end])
	return n
}
