package faultinject

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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
	// Path is cut to MaxJournalValue bytes.
	Method, Path string
	// Header is a copy of the request header, bounded and redacted: each
	// value is cut to MaxJournalValue bytes, header lines past
	// MaxJournalHeader bytes per call are left out (in name order), and the
	// values of credential headers are replaced by Redacted unless the server
	// was built WithSecrets.
	Header http.Header
	// IdempotencyKey is the request's Idempotency-Key header (cut to
	// MaxJournalValue bytes).
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
	// "hang" or "reset", "upstream" for a call relayed to the upstream,
	// "bulk" for a bulk route's answer, "unmatched", or "abandoned" for a
	// request whose
	// body was cut off (the client gave up or the connection broke
	// mid-upload). An abandoned call consumed no script step and got no
	// answer; BodyLen and BodySHA256 describe the part that arrived.
	Action string
	// Chaos says the action was chosen by chaos rather than by the script.
	Chaos bool
	// Status is the status code sent, 0 if none was sent.
	Status int
	// RetryAfter is the Retry-After header value sent, "" if none.
	RetryAfter string
	// Outcome notes how the action ended when it did not run to completion,
	// such as "client gone" or "server closed", or why an abandoned body
	// ended; "" otherwise.
	Outcome string
	// Truncated says the journal cut the path, a header value or the
	// Idempotency-Key, or left header lines out (or item ids, see Items),
	// to keep within its bounds.
	Truncated bool
	// Items are the ids of the items a bulk route's call carried, in
	// request order (see [Bulk]); nil for other routes. At most
	// MaxBulkItems are kept, each cut to MaxJournalValue bytes.
	Items []string
}

// ActionAbandoned is the Call.Action of a request whose body was cut off.
const ActionAbandoned = "abandoned"

// Abandoned reports whether the request's body was cut off before the server
// had all of it, so the call was journaled with Action ActionAbandoned and
// played no step.
func (c Call) Abandoned() bool { return c.Action == ActionAbandoned }

// MaxJournalValue is the most bytes the journal keeps of a request path, an
// Idempotency-Key or one header value; longer ones are cut and end in "…".
const MaxJournalValue = 1024

// MaxJournalHeader is the most bytes of request header ("Name: value" lines,
// in name order) the journal keeps per call; the lines past it are left out.
const MaxJournalHeader = 4 << 10

// Redacted replaces, in the journal, the values of the headers that carry
// credentials: Authorization, Proxy-Authorization, Cookie and Set-Cookie,
// unless the server or responders were built WithSecrets. A journal served
// over the admin API or printed in a failure message must not show them.
const Redacted = "[redacted]"

func isSecret(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie":
		return true
	}
	return false
}

// Journal records the calls a server or responder received, in order. With
// a limit (WithJournalLimit) it keeps only the most recent calls, dropping
// the oldest; Dropped counts them, and Seq keeps counting across the drops.
// Counts and Count count every call, dropped or kept. A Journal is safe for
// concurrent use.
type Journal struct {
	mu      sync.Mutex
	calls   []*entry // a ring once limit calls are held: calls[head] is the oldest
	head    int
	limit   int // 0: no limit
	dropped int
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

// packHeader packs h, redacting the secret headers unless keepSecrets,
// cutting values to MaxJournalValue and leaving out the lines past
// MaxJournalHeader (in name order, so the cut is deterministic); cut says
// whether anything was cut or left out.
func packHeader(h http.Header, keepSecrets bool) (packed string, cut bool) {
	// Usually the header fits, and map order will do.
	if packed, cut, fits := packLines(h, nil, keepSecrets); fits {
		return packed, cut
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	packed, _, _ = packLines(h, names, keepSecrets)
	return packed, true
}

// packLines packs the lines of h, in the order of names (nil: map order),
// up to MaxJournalHeader bytes; fits says none was left out.
func packLines(h http.Header, names []string, keepSecrets bool) (packed string, cut, fits bool) {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + min(len(v), MaxJournalValue+len("…")) + 3
		}
	}
	var b strings.Builder
	b.Grow(min(n, MaxJournalHeader))
	line := func(k string, vs []string) bool {
		name := k
		if strings.ContainsAny(k, ":\n") {
			// Not a valid name (httpmock passes any map key on): keep the
			// packing one "Name: value" per line.
			name = strings.NewReplacer(":", "_", "\n", "_").Replace(k)
		}
		for _, v := range vs {
			if !keepSecrets && isSecret(k) {
				v = Redacted
			}
			v = strings.ReplaceAll(v, "\n", " ") // a line per value
			v, c := bound(v)
			cut = cut || c
			if b.Len()+len(name)+len(v)+3 > MaxJournalHeader {
				return false
			}
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
		return true
	}
	if names == nil {
		for k, vs := range h {
			if !line(k, vs) {
				return "", cut, false
			}
		}
	} else {
		for _, k := range names {
			if !line(k, h[k]) {
				return b.String(), true, false
			}
		}
	}
	return b.String(), cut, true
}

// bound cuts s to MaxJournalValue bytes, at a UTF-8 boundary, marking the
// cut with "…".
func bound(s string) (string, bool) {
	if len(s) <= MaxJournalValue {
		return s, false
	}
	i := MaxJournalValue
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…", true
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

// add appends c, numbering it, and drops the oldest call when the journal
// is full; the caller holds the engine lock so numbering follows script
// order.
func (j *Journal) add(c *entry) *callHandle {
	j.mu.Lock()
	defer j.mu.Unlock()
	c.Seq = j.dropped + len(j.calls) + 1
	j.byRoute[c.Route]++
	c.Index = j.byRoute[c.Route]
	if j.limit > 0 && len(j.calls) >= j.limit {
		j.calls[j.head] = c
		j.head = (j.head + 1) % len(j.calls)
		j.dropped++
	} else {
		j.calls = append(j.calls, c)
	}
	return &callHandle{j: j, c: c}
}

// at returns the i-th call held, oldest first; the caller holds j.mu.
func (j *Journal) at(i int) *entry {
	return j.calls[(j.head+i)%len(j.calls)]
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
	j.calls, j.head, j.dropped = nil, 0, 0
	j.byRoute = map[string]int{}
}

// Calls returns a copy of the calls the journal holds, in order.
func (j *Journal) Calls() []Call {
	return j.CallsAfter(0, 0)
}

// CallsAfter returns a copy of the calls held whose Seq is greater than
// seq, in order, at most max of them (max <= 0: all). It pages through a
// long journal: pass the Seq of the last call of a page to get the next.
func (j *Journal) CallsAfter(seq, max int) []Call {
	j.mu.Lock()
	defer j.mu.Unlock()
	first := 0
	if seq > j.dropped {
		first = min(seq-j.dropped, len(j.calls))
	}
	n := len(j.calls) - first
	if max > 0 && n > max {
		n = max
	}
	out := make([]Call, n)
	for i := range out {
		c := j.at(first + i)
		out[i] = c.Call
		if c.Method != "" {
			out[i].Header = unpackHeader(c.header)
		}
	}
	return out
}

// Dropped returns the number of calls dropped, oldest first, to keep the
// journal within its limit (see WithJournalLimit); Dropped() + Len() calls
// were recorded in all.
func (j *Journal) Dropped() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped
}

// lastSeq returns the Seq of the last call recorded, 0 if none.
func (j *Journal) lastSeq() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped + len(j.calls)
}

// Limit returns the most calls the journal holds, 0 for no limit.
func (j *Journal) Limit() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.limit
}

// Len returns the number of calls the journal holds.
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
	for i := range j.calls {
		c := j.at(i)
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
	if d := j.Dropped(); d > 0 {
		head += fmt.Sprintf(" (%d older calls dropped)", d)
	}
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
	if c.Items != nil {
		const shown = 10
		fmt.Fprintf(&b, " items %s", strings.Join(c.Items[:min(len(c.Items), shown)], ","))
		if len(c.Items) > shown {
			fmt.Fprintf(&b, ",… (%d)", len(c.Items))
		}
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

// PeakConcurrency returns the most of calls that were being served at the
// same instant, each from its Start to its End; a call without an End
// (still being answered) counts until the last instant. A call that starts
// at the instant another ends does not overlap it. Filter the calls first
// to ask about one route, or about retries only (Attempt > 1), for
// example to check that a client caps its concurrent retries.
func PeakConcurrency(calls []Call) int {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(calls))
	for _, c := range calls {
		edges = append(edges, edge{c.Start, +1})
		if !c.End.IsZero() {
			edges = append(edges, edge{c.End, -1})
		}
	}
	// Ends before starts at the same instant: touching calls do not overlap.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	peak, n := 0, 0
	for _, e := range edges {
		n += e.delta
		peak = max(peak, n)
	}
	return peak
}
