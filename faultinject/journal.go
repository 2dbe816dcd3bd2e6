package faultinject

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Call is the journal record of one request (or one refused dial).
type Call struct {
	// Seq numbers the calls of a journal from 1, in arrival order.
	Seq int
	// Route is the pattern of the route that served the call, "" if none
	// matched.
	Route string
	// Index numbers the calls of a route from 1.
	Index int
	// Start is when the request, body included, had arrived; End is when
	// the action finished.
	Start, End time.Time
	// Method and Path are the request's; both are "" for a refused dial.
	Method, Path string
	// Header is a copy of the request header.
	Header http.Header
	// IdempotencyKey is the request's Idempotency-Key header.
	IdempotencyKey string
	// Attempt is the integer value of the attempt header, 0 if absent.
	Attempt int
	// BodyLen and BodySHA256 (hex) describe the request body, which is not
	// kept.
	BodyLen    int64
	BodySHA256 string
	// ConnID numbers the server's connections from 1 (0 for httpmock and
	// refused dials); Reused says the connection had served a request before.
	ConnID uint64
	Reused bool
	// Action is what the server did: "respond", a fault word such as
	// "hang" or "reset", or "unmatched".
	Action string
	// Chaos says the action was chosen by chaos rather than by the script.
	Chaos bool
	// Status is the status code sent, 0 if none was sent.
	Status int
	// RetryAfter is the Retry-After header value sent, "" if none.
	RetryAfter string
	// Outcome notes how the action ended when it did not run to completion,
	// such as "client gone" or "server closed"; "" otherwise.
	Outcome string
}

// Journal records the calls a server or responder received, in order. A
// Journal is safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	calls   []*entry
	byRoute map[string]int
	name    string
}

func newJournal(name string) *Journal {
	return &Journal{byRoute: map[string]int{}, name: name}
}

// entry is a journaled call with its request header packed into one string
// ("Key: value\n" lines), which keeps the journal compact and cheap for the
// garbage collector; Calls unpacks it.
type entry struct {
	Call
	header string
}

func packHeader(h http.Header) string {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 3
		}
	}
	var b strings.Builder
	b.Grow(n)
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func unpackHeader(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}

// callHandle lets a front end complete the record of a call in progress.
type callHandle struct {
	j *Journal
	c *entry
}

// add appends c, numbering it; the caller holds the engine lock so numbering
// follows script order.
func (j *Journal) add(c *entry) *callHandle {
	j.mu.Lock()
	defer j.mu.Unlock()
	c.Seq = len(j.calls) + 1
	j.byRoute[c.Route]++
	c.Index = j.byRoute[c.Route]
	j.calls = append(j.calls, c)
	return &callHandle{j: j, c: c}
}

func (h *callHandle) sent(status int, retryAfter string) {
	h.j.mu.Lock()
	h.c.Status, h.c.RetryAfter = status, retryAfter
	h.j.mu.Unlock()
}

func (h *callHandle) outcome(o string) {
	h.j.mu.Lock()
	h.c.Outcome = o
	h.j.mu.Unlock()
}

func (h *callHandle) end() {
	now := time.Now()
	h.j.mu.Lock()
	h.c.End = now
	h.j.mu.Unlock()
}

func (j *Journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = nil
	j.byRoute = map[string]int{}
}

// Calls returns a copy of the calls recorded so far, in order.
func (j *Journal) Calls() []Call {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Call, len(j.calls))
	for i, c := range j.calls {
		out[i] = c.Call
		if c.Method != "" {
			out[i].Header = unpackHeader(c.header)
		}
	}
	return out
}

// Len returns the number of calls recorded.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.calls)
}

// Count returns the number of calls served by the route with the given
// pattern; "" counts the unmatched calls.
func (j *Journal) Count(route string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.byRoute[route]
}

// Counts returns the number of calls per route pattern ("" for unmatched).
func (j *Journal) Counts() map[string]int {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[string]int, len(j.byRoute))
	for k, v := range j.byRoute {
		out[k] = v
	}
	return out
}

// Gaps returns the time between the Start of consecutive calls of the route
// with the given pattern; route "" means all calls.
func (j *Journal) Gaps(route string) []time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	var gaps []time.Duration
	var last time.Time
	for _, c := range j.calls {
		if route != "" && c.Route != route {
			continue
		}
		if !last.IsZero() {
			gaps = append(gaps, c.Start.Sub(last))
		}
		last = c.Start
	}
	return gaps
}

// String returns the timeline, as GomegaString does.
func (j *Journal) String() string { return j.GomegaString() }

// GomegaString returns a readable timeline, one call per line, for Gomega
// failure messages:
//
//	#1 +0s GET /users/1 [GET /users/{id} #1] → 503
//	#2 +100ms GET /users/1 [GET /users/{id} #2] attempt 2 → reset
func (j *Journal) GomegaString() string {
	calls := j.Calls()
	head := fmt.Sprintf("journal of %q: %d calls", j.name, len(calls))
	if len(calls) == 0 {
		return head
	}
	return head + "\n" + FormatCalls(calls)
}

// FormatCalls renders calls one per line, as Journal.GomegaString does,
// with offsets from the first call's start.
func FormatCalls(calls []Call) string {
	var b strings.Builder
	for i, c := range calls {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(c.line(calls[0].Start))
	}
	return b.String()
}

// line formats c for a timeline whose first call started at t0.
func (c Call) line(t0 time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d +%v ", c.Seq, c.Start.Sub(t0))
	if c.Method == "" {
		b.WriteString("dial")
	} else {
		fmt.Fprintf(&b, "%s %s", c.Method, c.Path)
	}
	if c.Route != "" {
		fmt.Fprintf(&b, " [%s #%d]", c.Route, c.Index)
	}
	if c.Attempt != 0 {
		fmt.Fprintf(&b, " attempt %d", c.Attempt)
	}
	if c.IdempotencyKey != "" {
		fmt.Fprintf(&b, " key %s", c.IdempotencyKey)
	}
	if c.ConnID != 0 {
		fmt.Fprintf(&b, " conn %d", c.ConnID)
		if c.Reused {
			b.WriteString(" (reused)")
		}
	}
	b.WriteString(" →")
	if c.Chaos {
		b.WriteString(" chaos")
	}
	if c.Action != "respond" {
		fmt.Fprintf(&b, " %s", c.Action)
	}
	if c.Status != 0 {
		fmt.Fprintf(&b, " %d", c.Status)
	}
	if c.RetryAfter != "" {
		fmt.Fprintf(&b, " Retry-After: %s", c.RetryAfter)
	}
	if c.Outcome != "" {
		fmt.Fprintf(&b, " (%s)", c.Outcome)
	}
	if !c.End.IsZero() && c.End.Sub(c.Start) > 0 {
		fmt.Fprintf(&b, " in %v", c.End.Sub(c.Start))
	}
	return b.String()
}
