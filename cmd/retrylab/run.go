package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

const runExamples = `  retrylab run --scenario default --attempts 4 --attempt-timeout 1s
  retrylab run --scenario transient-503 --json
  retrylab run --scenario my-outage.yaml --policy policy.yaml --request 'POST /orders' --body '{"id":7}' --header 'Idempotency-Key: k1'
  retrylab run --scenario retry-after-seconds --svg timeline.svg
`

// runSpec is everything a run needs.
type runSpec struct {
	scenario *faultinject.Scenario
	policy   retryclient.Policy
	method   string
	path     string
	body     []byte
	header   http.Header
	tcp      bool
	seed     uint64
	timeout  time.Duration
}

// runReport is the --json output of run: schema "retrylab.run/v1".
// Durations are Go duration strings ("1.5s"), offsets are from the first
// attempt's start.
type runReport struct {
	Schema   string             `json:"schema"`
	Scenario string             `json:"scenario"`
	Request  runRequest         `json:"request"`
	Policy   retryclient.Policy `json:"policy"`
	Attempts []runAttempt       `json:"attempts"`
	Outcome  runOutcome         `json:"outcome"`
	Journal  []runCall          `json:"journal"`
}

type runRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   int    `json:"body_bytes"`
}

type runAttempt struct {
	Number     int    `json:"number"`
	Offset     string `json:"offset"`
	Duration   string `json:"duration"`
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	ErrorClass string `json:"error_class,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Retry      bool   `json:"retry"`
	Delay      string `json:"delay,omitempty"`
	Reason     string `json:"reason"`
}

type runOutcome struct {
	Status    int    `json:"status,omitempty"`
	Error     string `json:"error,omitempty"`
	Reason    string `json:"reason"`
	Attempts  int    `json:"attempts"`
	Elapsed   string `json:"elapsed"`
	Waited    string `json:"waited"`
	BodyBytes int    `json:"body_bytes"`
}

type runCall struct {
	Seq        int    `json:"seq"`
	Offset     string `json:"offset"`
	Route      string `json:"route"`
	Action     string `json:"action"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
}

// runResult is a run's raw material, for text, JSON and SVG.
type runResult struct {
	spec     runSpec
	attempts retryclient.Timeline
	calls    []faultinject.Call
	status   int
	err      error
	body     int
	elapsed  time.Duration
}

func cmdRun(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("run", "--scenario NAME|FILE [flags]", runExamples, stdout)
	scenarioArg := fs.String("scenario", "", "embedded scenario name (see 'retrylab scenarios') or YAML file")
	policyFile := fs.String("policy", "", "retry policy YAML file (default: retryclient.DefaultPolicy)")
	attempts := fs.Int("attempts", 0, "override the policy's max attempts")
	attemptTimeout := fs.Duration("attempt-timeout", 0, "override the policy's per-attempt timeout")
	request := fs.String("request", "", "request to send, 'METHOD /path' (default: the scenario's first route)")
	body := fs.String("body", "", "request body")
	var headers []string
	fs.Func("header", "request header 'Name: value' (repeatable)", func(s string) error {
		if _, _, ok := strings.Cut(s, ":"); !ok {
			return fmt.Errorf("%q is not 'Name: value'", s)
		}
		headers = append(headers, s)
		return nil
	})
	tcp := fs.Bool("tcp", false, "serve the scenario on a TCP port of 127.0.0.1 instead of in memory")
	seed := fs.Uint64("seed", 1, "seed of the client's jitter")
	timeout := fs.Duration("timeout", time.Minute, "overall deadline of the request")
	asJSON := fs.Bool("json", false, "print the run as JSON (schema retrylab.run/v1)")
	svgFile := fs.String("svg", "", "also draw the timeline to this SVG file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := loadScenario(ctx, *scenarioArg)
	if err != nil {
		return err
	}
	p := retryclient.DefaultPolicy()
	if *policyFile != "" {
		if p, err = loadPolicy(*policyFile); err != nil {
			return err
		}
	}
	if *attempts != 0 {
		p = p.WithMaxAttempts(*attempts)
	}
	if *attemptTimeout != 0 {
		p = p.WithAttemptTimeout(*attemptTimeout)
	}
	if err := p.Validate(); err != nil {
		return usageError{err.Error()}
	}
	spec := runSpec{scenario: s, policy: p, tcp: *tcp, seed: *seed, timeout: *timeout, header: http.Header{}}
	spec.method, spec.path = defaultRequest(s)
	if *request != "" {
		m, path, ok := strings.Cut(strings.TrimSpace(*request), " ")
		if !ok || !strings.HasPrefix(strings.TrimSpace(path), "/") {
			return usagef("--request %q: want 'METHOD /path'", *request)
		}
		spec.method, spec.path = strings.ToUpper(m), strings.TrimSpace(path)
	}
	if *body != "" {
		spec.body = []byte(*body)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		spec.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive, got %v", *timeout)
	}
	// Bad request input is bad input, found before anything runs.
	if _, err := http.NewRequest(spec.method, faultinject.PipeURL+spec.path, nil); err != nil {
		return usagef("--request %q: %v", spec.method+" "+spec.path, unwrapURLError(err))
	}
	for k, vs := range spec.header {
		if !httpguts.ValidHeaderFieldName(k) {
			return usagef("--header: %q is not a valid header name", k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return usagef("--header %s: %q is not a valid header value", k, v)
			}
		}
	}
	if *svgFile != "" {
		if err := writable(*svgFile); err != nil {
			return err
		}
	}

	res := execute(ctx, spec)
	if *svgFile != "" {
		if err := writeFile(*svgFile, func(w io.Writer) error { return timelineSVG(w, res) }); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res.report())
	} else {
		err = res.writeText(stdout)
	}
	if err != nil {
		return err
	}
	if res.err != nil {
		// The timeline is printed; the status says the request failed.
		return errRequestFailed
	}
	return nil
}

// errRequestFailed ends a run whose request got no response; its timeline
// has been printed already.
var errRequestFailed = errors.New("the request failed (see the outcome above)")

// unwrapURLError returns the reason inside a *url.Error.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// execute serves the scenario, sends the request through the retry client
// and collects what happened. It runs in virtual time when called inside a
// testing/synctest bubble with a pipe server.
func execute(ctx context.Context, spec runSpec) runResult {
	var srv *faultinject.Server
	if spec.tcp {
		srv = faultinject.NewServer(spec.scenario)
	} else {
		srv = faultinject.NewPipeServer(spec.scenario)
	}
	defer srv.Close()

	var mu sync.Mutex
	var timeline retryclient.Timeline
	rt := retryclient.New(srv.Transport(), spec.policy,
		retryclient.WithRand(rand.NewPCG(spec.seed, 0x72756e)),
		retryclient.WithAttemptHeader(faultinject.AttemptHeader),
		retryclient.WithObserver(func(a retryclient.Attempt) {
			mu.Lock()
			timeline = append(timeline, a)
			mu.Unlock()
		}))
	defer rt.CloseIdleConnections()
	client := &http.Client{Transport: rt}

	ctx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	res := runResult{spec: spec}
	var body io.Reader
	if spec.body != nil {
		body = bytes.NewReader(spec.body)
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, spec.method, srv.URL+spec.path, body)
	if err != nil {
		res.err = err
		return res
	}
	for k, vs := range spec.header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err == nil {
		res.status = resp.StatusCode
		n, rerr := io.Copy(io.Discard, resp.Body)
		res.body = int(n)
		resp.Body.Close()
		if rerr != nil {
			res.err = fmt.Errorf("reading the body: %w", rerr)
		}
	} else {
		res.err = err
	}
	res.elapsed = time.Since(start)
	mu.Lock()
	res.attempts = timeline
	mu.Unlock()
	rt.CloseIdleConnections()
	srv.Close()
	res.calls = srv.Journal().Calls()
	return res
}

func (r runResult) reason() string {
	var gu *retryclient.GiveUpError
	if errors.As(r.err, &gu) {
		return string(gu.Reason)
	}
	if n := len(r.attempts); n > 0 {
		return string(r.attempts[n-1].Reason)
	}
	return ""
}

func (r runResult) report() runReport {
	rep := runReport{
		Schema:   "retrylab.run/v1",
		Scenario: r.spec.scenario.Name,
		Request:  runRequest{Method: r.spec.method, Path: r.spec.path, Body: len(r.spec.body)},
		Policy:   r.spec.policy,
		Attempts: []runAttempt{},
		Journal:  []runCall{},
	}
	for _, a := range r.attempts {
		ra := runAttempt{
			Number: a.Number, Offset: a.Offset.String(), Duration: a.Duration.String(),
			Status: a.Status, ErrorClass: string(a.ErrClass), Retry: a.Retry, Reason: string(a.Reason),
		}
		if a.Err != nil {
			ra.Error = a.Err.Error()
		}
		if a.RetryAfterSeen {
			ra.RetryAfter = a.RetryAfter.String()
		}
		if a.Retry {
			ra.Delay = a.Delay.String()
		}
		rep.Attempts = append(rep.Attempts, ra)
	}
	rep.Outcome = runOutcome{Status: r.status, Reason: r.reason(), Attempts: len(r.attempts),
		Elapsed: r.elapsed.String(), Waited: r.attempts.Total().String(), BodyBytes: r.body}
	if r.err != nil {
		rep.Outcome.Error = r.err.Error()
	}
	var t0 time.Time
	if len(r.calls) > 0 {
		t0 = r.calls[0].Start
	}
	for _, c := range r.calls {
		rep.Journal = append(rep.Journal, runCall{Seq: c.Seq, Offset: c.Start.Sub(t0).String(), Route: c.Route,
			Action: c.Action, Status: c.Status, RetryAfter: c.RetryAfter, Attempt: c.Attempt, Outcome: c.Outcome})
	}
	return rep
}

// writeText prints the human timeline.
func (r runResult) writeText(w io.Writer) error {
	var b strings.Builder
	src := r.spec.scenario.Source
	if src == "" {
		src = "built in"
	}
	fmt.Fprintf(&b, "scenario %s (%s)\n", r.spec.scenario.Name, src)
	fmt.Fprintf(&b, "policy   %s\n", describePolicy(r.spec.policy))
	fmt.Fprintf(&b, "request  %s %s\n\n", r.spec.method, r.spec.path)
	for _, a := range r.attempts {
		fmt.Fprintf(&b, "  #%-2d %9s  %-44s", a.Number, "+"+a.Offset.Round(time.Millisecond).String(), attemptResult(a))
		switch {
		case a.Retry:
			why := string(a.Reason)
			if a.RetryAfterSeen {
				why += ", Retry-After"
			}
			fmt.Fprintf(&b, " wait %-8s (%s)\n", a.Delay.Round(time.Millisecond), why)
		default:
			fmt.Fprintf(&b, " stop (%s)\n", a.Reason)
		}
	}
	b.WriteString("\n")
	switch {
	case r.err != nil:
		fmt.Fprintf(&b, "outcome  error after %s in %v: %v\n", plural(len(r.attempts), "attempt"), r.elapsed.Round(time.Millisecond), r.err)
	default:
		fmt.Fprintf(&b, "outcome  %d %s after %s in %v (%v of it waiting), %d body bytes\n", r.status, http.StatusText(r.status),
			plural(len(r.attempts), "attempt"), r.elapsed.Round(time.Millisecond), r.attempts.Total().Round(time.Millisecond), r.body)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func attemptResult(a retryclient.Attempt) string {
	var s string
	switch {
	case a.Err != nil:
		s = "error: " + string(a.ErrClass)
		if a.ErrClass == "" {
			s = "error"
		}
	case a.Status != 0:
		s = fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status))
	default:
		s = "no response"
	}
	if a.RetryAfterSeen {
		s += fmt.Sprintf(" [Retry-After %v]", a.RetryAfter)
	}
	if d := a.Duration.Round(time.Millisecond); d >= time.Millisecond {
		s += fmt.Sprintf(" in %v", d)
	}
	return "→ " + s
}

func describePolicy(p retryclient.Policy) string {
	b := p.Backoff
	s := fmt.Sprintf("%d attempts, %s backoff from %v", p.MaxAttempts, b.Kind, b.Initial)
	if b.Kind == retryclient.BackoffExponential {
		s += fmt.Sprintf(" ×%v", b.Multiplier)
	}
	if b.Max > 0 {
		s += fmt.Sprintf(" capped at %v", b.Max)
	}
	s += fmt.Sprintf(", %s jitter", b.Jitter)
	if p.RetryAfter.Honor {
		s += fmt.Sprintf(", Retry-After up to %v", p.RetryAfter.Cap)
	}
	if p.AttemptTimeout > 0 {
		s += fmt.Sprintf(", %v per attempt", p.AttemptTimeout)
	}
	if p.MaxElapsed > 0 {
		s += fmt.Sprintf(", %v in all", p.MaxElapsed)
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
