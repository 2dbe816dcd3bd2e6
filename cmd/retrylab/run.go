package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/retrylab/retrylab/internal/words"

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

// runSchema names the --json output of run.
const runSchema = "retrylab.run/v2"

// runReport is the --json output of run: schema [runSchema], documented in
// the README. Durations are Go duration strings ("1.5s"); offsets are from
// the first attempt's start (attempts) or the first call's (journal).
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

// runAttempt is an attempt of the --json output: retryclient's JSON form of
// the attempt ([retryclient.Attempt.MarshalJSON]) with run's own reasons and
// classes, plus body_error when the response's body could not be read.
type runAttempt struct {
	attempt   retryclient.Attempt
	bodyError string
}

func (ra runAttempt) MarshalJSON() ([]byte, error) {
	b, err := ra.attempt.MarshalJSON()
	if err != nil || ra.bodyError == "" {
		return b, err
	}
	be, err := json.Marshal(ra.bodyError)
	if err != nil {
		return nil, err
	}
	// b is one JSON object: add the field before its closing brace.
	return append(append(append(b[:len(b)-1:len(b)-1], `,"body_error":`...), be...), '}'), nil
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
	Seq              int    `json:"seq"`
	Offset           string `json:"offset"`
	Route            string `json:"route"`
	Action           string `json:"action"`
	Status           int    `json:"status,omitempty"`
	RetryAfter       string `json:"retry_after,omitempty"`
	RetryAfterHeader string `json:"retry_after_header,omitempty"`
	Attempt          int    `json:"attempt,omitempty"`
	Outcome          string `json:"outcome,omitempty"`
}

// The reasons run reports beyond retryclient's own.
const (
	// reasonBodyError: the response arrived but reading its body failed.
	// The Transport's work ends with the headers, so it does not retry
	// this (see the README).
	reasonBodyError = "body-error"
	// reasonDeadline: the run's own deadline (--timeout) passed. retryclient
	// reports a caller's deadline as canceled; run tells the two apart.
	reasonDeadline = "deadline-exceeded"
	// classDeadline is the error class run reports for an attempt cut off
	// by the run's deadline.
	classDeadline = "deadline"
)

// runResult is a run's raw material, for text, JSON and SVG.
type runResult struct {
	spec     runSpec
	attempts retryclient.Timeline
	calls    []faultinject.Call
	status   int
	err      error // the request failed: no response, or its body could not be read
	bodyErr  error // the response's body could not be read in full
	deadline bool  // the run's deadline (--timeout) ended it
	body     int
	elapsed  time.Duration
}

// runAttemptTimeout is the per-attempt timeout run adds to
// retryclient.DefaultPolicy (which has none) when no --policy is given, so
// that a hung attempt is abandoned and retried, as the catalogue's hang
// scenarios expect, instead of holding the request until --timeout.
const runAttemptTimeout = 2 * time.Second

// runOutput says how a run is reported.
type runOutput struct {
	json bool
	svg  string
}

func cmdRun(ctx context.Context, args []string, stdout, _ io.Writer) error {
	spec, out, err := parseRun(ctx, args, stdout)
	if err != nil {
		return err
	}
	res := execute(ctx, spec)
	if out.svg != "" {
		if err := writeFile(out.svg, func(w io.Writer) error { return timelineSVG(w, res) }); err != nil {
			return err
		}
	}
	if out.json {
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

// parseRun turns run's command line into a runSpec, checking everything
// before any work is done.
func parseRun(ctx context.Context, args []string, stdout io.Writer) (runSpec, runOutput, error) {
	fs := newFlagSet("run", "--scenario NAME|FILE [flags]", runExamples, stdout)
	scenarioArg := fs.String("scenario", "", "embedded scenario name (see 'retrylab scenarios') or YAML file")
	policyFile := fs.String("policy", "", "retry policy YAML file (default: retryclient.DefaultPolicy with a "+runAttemptTimeout.String()+" attempt timeout)")
	attempts := fs.Int("attempts", 0, "override the policy's max attempts (at least 1)")
	attemptTimeout := fs.Duration("attempt-timeout", 0, "override the policy's per-attempt timeout (0 turns it off)")
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
	var out runOutput
	fs.BoolVar(&out.json, "json", false, "print the run as JSON (schema "+runSchema+")")
	fs.StringVar(&out.svg, "svg", "", "also draw the timeline to this SVG file")
	if err := parseFlags(fs, args); err != nil {
		return runSpec{}, out, err
	}
	set := fs.setFlags()
	s, err := loadScenario(ctx, *scenarioArg)
	if err != nil {
		return runSpec{}, out, err
	}
	p := retryclient.DefaultPolicy().WithAttemptTimeout(runAttemptTimeout)
	if *policyFile != "" {
		if p, err = loadPolicy(*policyFile); err != nil {
			return runSpec{}, out, err
		}
	}
	if set["attempts"] {
		if *attempts < 1 {
			return runSpec{}, out, usagef("--attempts must be at least 1, got %d", *attempts)
		}
		p = p.WithMaxAttempts(*attempts)
	}
	if set["attempt-timeout"] {
		if *attemptTimeout < 0 {
			return runSpec{}, out, usagef("--attempt-timeout must not be negative, got %v", *attemptTimeout)
		}
		p = p.WithAttemptTimeout(*attemptTimeout)
	}
	if err := p.Validate(); err != nil {
		return runSpec{}, out, usageError{err.Error()}
	}
	if *timeout <= 0 {
		return runSpec{}, out, usagef("--timeout must be positive, got %v", *timeout)
	}
	spec := runSpec{scenario: s, policy: p, tcp: *tcp, seed: *seed, timeout: *timeout, header: http.Header{}}
	spec.method, spec.path = defaultRequest(s)
	if *request != "" {
		m, path, ok := strings.Cut(strings.TrimSpace(*request), " ")
		if !ok || !strings.HasPrefix(strings.TrimSpace(path), "/") {
			return runSpec{}, out, usagef("--request %q: want 'METHOD /path'", *request)
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
	// Bad request input is bad input, found before anything runs.
	if _, err := http.NewRequest(spec.method, faultinject.PipeURL+spec.path, nil); err != nil {
		return runSpec{}, out, usagef("--request %q: %v", spec.method+" "+spec.path, unwrapURLError(err))
	}
	for k, vs := range spec.header {
		if !httpguts.ValidHeaderFieldName(k) {
			return runSpec{}, out, usagef("--header: %q is not a valid header name", k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return runSpec{}, out, usagef("--header %s: %q is not a valid header value", k, v)
			}
		}
	}
	if out.svg != "" {
		if err := writable(out.svg); err != nil {
			return runSpec{}, out, err
		}
	}
	return spec, out, nil
}

// setFlags returns the names of the flags given on the command line.
func (fs *flagSet) setFlags() map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
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

	runCtx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	res := runResult{spec: spec}
	var body io.Reader
	if spec.body != nil {
		body = bytes.NewReader(spec.body)
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(runCtx, spec.method, srv.URL+spec.path, body)
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
			res.bodyErr = rerr
			res.err = fmt.Errorf("reading the body: %w", rerr)
		}
	} else {
		res.err = err
	}
	// The run's own deadline, not the caller's cancellation (SIGINT) nor
	// an attempt timeout, ended the request.
	res.deadline = res.err != nil && ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) &&
		errors.Is(res.err, context.DeadlineExceeded)
	res.elapsed = time.Since(start)
	mu.Lock()
	res.attempts = timeline
	mu.Unlock()
	rt.CloseIdleConnections()
	srv.Close()
	res.calls = srv.Journal().Calls()
	return res
}

// reason is why the request ended.
func (r runResult) reason() string {
	switch {
	case r.deadline:
		return reasonDeadline
	case r.bodyErr != nil:
		return reasonBodyError
	}
	var gu *retryclient.GiveUpError
	if errors.As(r.err, &gu) {
		return string(gu.Reason)
	}
	if n := len(r.attempts); n > 0 {
		return string(r.attempts[n-1].Reason)
	}
	return ""
}

// errorText is the outcome's error, without the client's URL wrapping and
// with the run's deadline named as such.
func (r runResult) errorText() string {
	switch {
	case r.err == nil:
		return ""
	case r.deadline:
		return fmt.Sprintf("no response within the run's deadline (--timeout %v)", r.spec.timeout)
	}
	// An attempt timeout, not a deadline of the caller's, ended the last
	// attempt: say so rather than "context deadline exceeded".
	var gu *retryclient.GiveUpError
	if n := len(r.attempts); n > 0 && errors.As(r.err, &gu) && r.attempts[n-1].ErrClass == retryclient.ClassTimeout &&
		errors.Is(gu.LastErr, context.DeadlineExceeded) {
		last := r.attempts[n-1]
		return fmt.Sprintf("retryclient: gave up after %s: attempt %d timed out after %v (%s)",
			words.Plural(gu.Attempts, "attempt"), last.Number, roundDuration(last.Duration), gu.Reason)
	}
	return unwrapURLError(r.err).Error()
}

// lastCut reports whether attempt i is the one the run's deadline cut off.
func (r runResult) lastCut(i int) bool {
	return r.deadline && i == len(r.attempts)-1 && r.attempts[i].Err != nil
}

// bodyCut reports whether attempt i is the one whose body could not be read.
func (r runResult) bodyCut(i int) bool {
	return r.bodyErr != nil && i == len(r.attempts)-1 && r.attempts[i].Status != 0
}

// attemptReason is attempt i's reason as run reports it.
func (r runResult) attemptReason(i int) string {
	switch {
	case r.lastCut(i):
		return reasonDeadline
	case r.bodyCut(i):
		return reasonBodyError
	}
	return string(r.attempts[i].Reason)
}

// attemptClass is attempt i's error class as run reports it.
func (r runResult) attemptClass(i int) string {
	if r.lastCut(i) {
		return classDeadline
	}
	return string(r.attempts[i].ErrClass)
}

func (r runResult) report() runReport {
	rep := runReport{
		Schema:   runSchema,
		Scenario: r.spec.scenario.Name,
		Request:  runRequest{Method: r.spec.method, Path: r.spec.path, Body: len(r.spec.body)},
		Policy:   r.spec.policy,
		Attempts: []runAttempt{},
		Journal:  []runCall{},
	}
	for i, a := range r.attempts {
		a.Reason, a.ErrClass = retryclient.Reason(r.attemptReason(i)), retryclient.ErrorClass(r.attemptClass(i))
		ra := runAttempt{attempt: a}
		if r.bodyCut(i) {
			ra.bodyError = r.bodyErr.Error()
		}
		rep.Attempts = append(rep.Attempts, ra)
	}
	rep.Outcome = runOutcome{Status: r.status, Error: r.errorText(), Reason: r.reason(), Attempts: len(r.attempts),
		Elapsed: r.elapsed.String(), Waited: r.attempts.Total().String(), BodyBytes: r.body}
	var t0 time.Time
	if len(r.calls) > 0 {
		t0 = r.calls[0].Start
	}
	for _, c := range r.calls {
		rc := runCall{Seq: c.Seq, Offset: c.Start.Sub(t0).String(), Route: c.Route,
			Action: c.Action, Status: c.Status, RetryAfterHeader: c.RetryAfter, Attempt: c.Attempt, Outcome: c.Outcome}
		// The wait the header asked for, as a duration like the attempts'
		// retry_after: a date counts from the call's arrival.
		if d, ok := retryclient.ParseRetryAfter(c.RetryAfter, c.Start); ok {
			rc.RetryAfter = d.String()
		}
		rep.Journal = append(rep.Journal, rc)
	}
	return rep
}

// writeText prints the human timeline: one row per attempt, in columns
// that stay aligned whatever the values.
func (r runResult) writeText(w io.Writer) error {
	var b strings.Builder
	src := r.spec.scenario.Source
	if src == "" {
		src = "built in"
	}
	fmt.Fprintf(&b, "scenario %s (%s)\n", r.spec.scenario.Name, src)
	fmt.Fprintf(&b, "policy   %s\n", describePolicy(r.spec.policy))
	fmt.Fprintf(&b, "request  %s %s\n\n", r.spec.method, r.spec.path)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "  #\tstart\ttook\tresult\tthen\n")
	for i, a := range r.attempts {
		then := "stop (" + r.attemptReason(i) + ")"
		if a.Retry {
			why := string(a.Reason)
			if a.RetryAfterSeen {
				why += ", Retry-After"
			}
			then = fmt.Sprintf("wait %v (%s)", a.Delay.Round(time.Millisecond), why)
		}
		fmt.Fprintf(tw, "  #%d\t+%v\t%v\t%s\t%s\n", a.Number, a.Offset.Round(time.Millisecond),
			a.Duration.Round(time.Millisecond), r.attemptResult(i), then)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	n, elapsed := words.Plural(len(r.attempts), "attempt"), r.elapsed.Round(time.Millisecond)
	switch {
	case r.bodyErr != nil:
		fmt.Fprintf(&b, "outcome  %d %s after %s in %v, but %v after %d body bytes\n", r.status, http.StatusText(r.status),
			n, elapsed, r.err, r.body)
	case r.err != nil:
		fmt.Fprintf(&b, "outcome  error after %s in %v: %s\n", n, elapsed, r.errorText())
	default:
		fmt.Fprintf(&b, "outcome  %d %s after %s in %v (%v of it waiting), %d body bytes\n", r.status, http.StatusText(r.status),
			n, elapsed, r.attempts.Total().Round(time.Millisecond), r.body)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// attemptResult says what attempt i got: a status, an error class, or a
// cut-off body.
func (r runResult) attemptResult(i int) string {
	a := r.attempts[i]
	var s string
	switch {
	case r.lastCut(i):
		s = "error: no response before --timeout"
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
		s += fmt.Sprintf(" [Retry-After %v]", roundDuration(a.RetryAfter))
	}
	if r.bodyCut(i) {
		s += ", body cut off"
	}
	return s
}

// roundDuration rounds d for display: to the millisecond, or to the
// microsecond below a millisecond.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond && d > -time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
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
	if b.Jitter == retryclient.JitterNone {
		s += ", no jitter"
	} else {
		s += fmt.Sprintf(", %s jitter", b.Jitter)
	}
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
