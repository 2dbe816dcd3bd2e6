package suites

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/retrylab/retrylab/faultinject"
)

// Exec is a client under test that runs outside the Go process: a command,
// in any language, that performs one logical request through the client
// and exits. The rules run it over real TCP, in real time, once for every
// request a check sends, and judge what reached the fault server.
//
// The command is run by /bin/sh -c in its own process group, with the
// request in its environment:
//
//	RETRYLAB_URL              the full URL, http://127.0.0.1:PORT/path
//	RETRYLAB_METHOD           GET, POST, PATCH …
//	RETRYLAB_BODY_FILE        a file holding the request body; empty: no body
//	RETRYLAB_HEADERS          the request headers, one "Name: value" a line
//	RETRYLAB_IDEMPOTENCY_KEY  the Idempotency-Key header's value, or empty
//	RETRYLAB_DEADLINE         the caller's deadline, RFC 3339 with nanoseconds (UTC)
//	RETRYLAB_TIMEOUT          seconds from the command's start to that deadline ("1.500")
//	RETRYLAB_RULE             the rule being checked, for logs
//	RETRYLAB_SCENARIO         the fault scenario, for logs
//
// The command prints a line to its standard output as soon as the client
// returns (the status, say): that moment is when the client returned, so an
// interpreter's slow exit is not counted against it (a command that prints
// nothing returns when it exits). It exits 0 when the client returned a
// response (whatever its status) and non-zero when it returned an error. The deadline is the
// caller's: no attempt may start after it. A command still running at its
// deadline (plus a grace period, see [ExecGrace]) is ended with SIGKILL to
// its whole process group, and always reaped.
//
// An Exec is a plain value; the checks only read it.
type Exec struct {
	// Command is the shell command line.
	Command string
	// Dir is the command's working directory ("" : the caller's).
	Dir string
	// Env holds extra "NAME=value" variables, added to the caller's
	// environment.
	Env []string
	// Timeout is the deadline of one request when the rule sets none:
	// the command is ended once it has run this long. 0 means
	// [DefaultExecTimeout].
	Timeout time.Duration
	// CancelAfter is when the caller gives up in the rule "stops at once
	// when the caller cancels", counted from the command's start. It must
	// leave the command time to start its interpreter and send its first
	// request. 0 means [DefaultExecCancelAfter].
	CancelAfter time.Duration
}

// Defaults of [Exec].
const (
	// DefaultExecTimeout is the default deadline of one request.
	DefaultExecTimeout = 30 * time.Second
	// DefaultExecCancelAfter is the default time at which the caller
	// cancels in the cancellation rule.
	DefaultExecCancelAfter = 1500 * time.Millisecond
	// ExecGrace is how long after the caller's deadline a command may go
	// on running before its process group is killed. Attempts that start
	// in it break the cancellation rule, so it is longer than the gap
	// between two attempts of a client with short backoffs: a client whose
	// next attempt would come later is killed first, and kept the rule by
	// being ended, as a caller without a deadline would end it.
	ExecGrace = 1500 * time.Millisecond
)

// ExecSubject returns the Subject of an external client: command (run by
// /bin/sh -c, see [Exec]) and what it promises.
func ExecSubject(command string, p Promise) Subject {
	return Subject{Exec: &Exec{Command: command}, Promise: p}
}

// NotCheckableError is returned by a Rule's Check for a rule that cannot
// be observed for the subject: for an [Exec] subject, what happens inside
// the client's process (whether it closes the bodies it discards), or a
// wait longer than a request may last. It is never a pass.
type NotCheckableError struct {
	Rule   string
	Reason string
}

// Error says which rule cannot be checked and why.
func (e *NotCheckableError) Error() string {
	return fmt.Sprintf("suites: rule %q is not checkable: %s", e.Rule, e.Reason)
}

// timing holds the waits and tolerances of the checks, which differ between
// an in-process client on the fake clock (exact) and an external command
// over real TCP (short real waits, tolerances for a process on a busy
// machine).
type timing struct {
	real bool
	// pause is the shortest gap counted as a wait before a retry.
	pause time.Duration
	// overshoot is how much a wait or an attempt timeout may exceed its
	// bound, and how late a client may return after its last answer.
	overshoot time.Duration
	// cancelAfter is when the caller cancels in the cancellation rule.
	cancelAfter time.Duration
	// retryAfterDelta and retryAfterDate are the waits the Retry-After
	// rules ask for; dateTolerance absorbs the one-second resolution of
	// HTTP-dates.
	retryAfterDelta, retryAfterDate, dateTolerance time.Duration
}

// timingOf returns the timing of the checks for subj.
func timingOf(subj Subject) timing {
	if subj.Exec == nil {
		return timing{pause: 1, cancelAfter: 50 * time.Millisecond, retryAfterDelta: 3 * time.Second, retryAfterDate: 4 * time.Second}
	}
	cancel := subj.Exec.CancelAfter
	if cancel <= 0 {
		cancel = DefaultExecCancelAfter
	}
	return timing{
		real: true,
		// Over loopback a retry without a wait arrives within a few
		// milliseconds of the answer, even from an interpreter.
		pause:           50 * time.Millisecond,
		overshoot:       250 * time.Millisecond,
		cancelAfter:     cancel,
		retryAfterDelta: time.Second,
		retryAfterDate:  3 * time.Second,
		dateTolerance:   time.Second,
	}
}

// pauseFor returns the shortest gap counted as a wait before a retry of a
// client promising p: over real TCP, the pause, or less when p's schedule
// allows shorter waits (full jitter may wait next to nothing: then only
// the means over several runs, in the envelope rule, tell a client that
// does not back off).
func (t timing) pauseFor(p Promise) time.Duration {
	if !t.real {
		return t.pause
	}
	if b, ok := p.Schedule(); ok {
		if lo, _ := b.Bounds(1, 0); lo < 2*t.pause {
			return max(lo/2, 1)
		}
	}
	return t.pause
}

// timeout returns the deadline of one request of an Exec subject.
func (e *Exec) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return DefaultExecTimeout
}

// problemsKey carries a check's *problems in its context.
type problemsKey struct{}

// problems collects what went wrong with an external command during one
// check: it exited without sending the request, or overran its deadline.
type problems struct {
	mu   sync.Mutex
	errs []error
}

func (p *problems) add(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

func (p *problems) first() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) == 0 {
		return nil
	}
	return p.errs[0]
}

// ruleKey carries the rule's name to the command's environment.
type ruleKey struct{}

// stampWriter records when its first byte arrives, then writes to w.
type stampWriter struct {
	w     *tailBuffer
	mu    sync.Mutex
	first time.Time
}

func (s *stampWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.first.IsZero() && len(p) > 0 {
		s.first = time.Now()
	}
	s.mu.Unlock()
	return s.w.Write(p)
}

func (s *stampWriter) firstByte() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// maxOutput bounds the command output kept for messages.
const maxOutput = 4 << 10

// tailBuffer keeps the last maxOutput bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > maxOutput {
		t.buf = t.buf[len(t.buf)-maxOutput:]
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, []byte("?"))))
}

// sendExec serves s on TCP, runs the subject's command once with the
// request in its environment and collects what happened. cancelAfter > 0
// makes the caller cancel that long after the command starts; otherwise the
// deadline is ctx's or the Exec's timeout, whichever comes first.
func sendExec(ctx context.Context, subj Subject, s *faultinject.Scenario, req request) (*exchange, []faultinject.Call) {
	e := subj.Exec
	srv := faultinject.NewServer(s)
	defer srv.Close()
	x := &exchange{}
	dir, err := os.MkdirTemp("", "retrylab-conform-")
	if err != nil {
		x.err = fmt.Errorf("cannot write the request body: %w", err)
		problemsOf(ctx).add(x.err)
		return x, nil
	}
	defer os.RemoveAll(dir)
	bodyFile := ""
	if req.body != nil {
		bodyFile = filepath.Join(dir, "body")
		if err := os.WriteFile(bodyFile, req.body, 0o600); err != nil {
			x.err = fmt.Errorf("cannot write the request body: %w", err)
			problemsOf(ctx).add(x.err)
			return x, nil
		}
	}
	var headers strings.Builder
	for _, k := range slices.Sorted(maps.Keys(req.header)) {
		for _, v := range req.header[k] {
			fmt.Fprintf(&headers, "%s: %s\n", k, v)
		}
	}

	start := time.Now()
	deadline := start.Add(e.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	kill := deadline
	if req.cancelAfter > 0 {
		deadline = start.Add(req.cancelAfter)
		kill = deadline.Add(ExecGrace)
	}
	rule, _ := ctx.Value(ruleKey{}).(string)
	cmd := exec.Command("/bin/sh", "-c", e.Command)
	cmd.Dir = e.Dir
	cmd.Env = append(os.Environ(), e.Env...)
	cmd.Env = append(cmd.Env,
		"RETRYLAB_URL="+srv.URL+req.path,
		"RETRYLAB_METHOD="+req.method,
		"RETRYLAB_BODY_FILE="+bodyFile,
		"RETRYLAB_HEADERS="+headers.String(),
		"RETRYLAB_IDEMPOTENCY_KEY="+req.header.Get("Idempotency-Key"),
		"RETRYLAB_DEADLINE="+deadline.UTC().Format(time.RFC3339Nano),
		"RETRYLAB_TIMEOUT="+strconv.FormatFloat(deadline.Sub(start).Seconds(), 'f', 3, 64),
		"RETRYLAB_RULE="+rule,
		"RETRYLAB_SCENARIO="+s.Name,
	)
	var out tailBuffer
	stdout := &stampWriter{w: &out}
	cmd.Stdout, cmd.Stderr = stdout, &out
	ownGroup(cmd)
	// A grandchild that keeps the output pipe open cannot hold Wait.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		x.err = fmt.Errorf("suites: cannot start %q: %w", e.Command, err)
		problemsOf(ctx).add(x.err)
		return x, nil
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(time.Until(kill))
	defer timer.Stop()
	var waitErr error
	killed, canceled := false, false
	select {
	case waitErr = <-done:
	case <-timer.C:
		killed = true
	case <-ctx.Done():
		canceled = true
	}
	// The whole group: an interpreter's children go too, and so do those
	// a command that exited left behind.
	killGroup(cmd)
	if killed || canceled {
		waitErr = <-done
	}
	x.returned = time.Now()
	if t := stdout.firstByte(); !t.IsZero() {
		x.returned = t
	}
	x.took = x.returned.Sub(start)
	x.deadline = deadline
	x.killed = killed
	srv.Close()
	calls := srv.Journal().Calls()
	if waitErr != nil {
		x.err = fmt.Errorf("%q: %w", e.Command, waitErr)
		if o := out.String(); o != "" {
			x.err = fmt.Errorf("%w; its output ends: %s", x.err, lastLines(o, 3))
		}
	} else if n := len(calls); n > 0 {
		x.status = calls[n-1].Status
	}
	switch {
	case canceled:
		problemsOf(ctx).add(fmt.Errorf("the run was interrupted: %w", context.Cause(ctx)))
	case killed && req.cancelAfter == 0:
		problemsOf(ctx).add(fmt.Errorf("the command was still running %v after it started, at the request's deadline; its process group was killed", roundMs(kill.Sub(start))))
	case !killed && waitErr != nil && len(calls) == 0 && !(req.cancelAfter > 0 && !x.returned.Before(deadline)):
		// (A client whose deadline passed before it could send rightly
		// sends nothing; the cancellation rule tries again with more time.)
		problemsOf(ctx).add(fmt.Errorf("the command exited without sending the request: %v", x.err))
	}
	return x, calls
}

// problemsOf returns the problems of the check running with ctx (a
// throwaway when there is none).
func problemsOf(ctx context.Context) *problems {
	if p, ok := ctx.Value(problemsKey{}).(*problems); ok {
		return p
	}
	return &problems{}
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func roundMs(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// Verdict is the result of one rule for one subject.
type Verdict string

// The verdicts of [RuleResult].
const (
	// Kept: the rule was checked and the client kept it.
	Kept Verdict = "kept"
	// Broken: the client broke the rule, or the check could not run the
	// client (the reason says which).
	Broken Verdict = "broken"
	// NotPromised: the Promise does not declare what the rule checks.
	NotPromised Verdict = "not-promised"
	// NotCheckable: the rule cannot be observed for this subject.
	NotCheckable Verdict = "not-checkable"
	// NotRun: the run was interrupted before the rule ran.
	NotRun Verdict = "not-run"
)

// RuleResult is what [CheckAll] found for one rule.
type RuleResult struct {
	Rule    Rule
	Verdict Verdict
	// Reason is the broken rule's error (with the server timeline), or
	// why the rule was not promised, not checkable or not run; "" when
	// kept.
	Reason string
	// Took is the rule's wall time.
	Took time.Duration
}

// CheckAll runs each rule against subj, at most parallel at a time (1 if
// parallel < 1), and returns their results in the order of rules. It is
// the entry point for an [Exec] subject from plain go test or any program
// (retrylab conform uses it): real TCP, real time, no bubble needed. For a
// Subject with a Client it must run inside a testing/synctest bubble, like
// Rule.Check. A rule whose Promise does not apply is NotPromised without
// running; once ctx is done, the rules not yet started are NotRun.
func CheckAll(ctx context.Context, subj Subject, rules []Rule, parallel int) []RuleResult {
	out := make([]RuleResult, len(rules))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, rule := range rules {
		out[i].Rule = rule
		if !rule.Applies(subj.Promise) {
			out[i].Verdict, out[i].Reason = NotPromised, fmt.Sprintf("the Promise does not declare what %q checks", rule.Name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				out[i].Verdict, out[i].Reason = NotRun, "the run was interrupted before this rule started"
				return
			}
			start := time.Now()
			err := rule.Check(ctx, subj)
			out[i].Took = time.Since(start)
			var nc *NotCheckableError
			switch {
			case err == nil:
				out[i].Verdict = Kept
			case errors.As(err, &nc):
				out[i].Verdict, out[i].Reason = NotCheckable, nc.Reason
			case ctx.Err() != nil:
				out[i].Verdict, out[i].Reason = NotRun, "the run was interrupted while this rule ran"
			default:
				out[i].Verdict, out[i].Reason = Broken, err.Error()
			}
		}()
	}
	wg.Wait()
	return out
}
