// Package rules holds the framework-free checks of retry behaviour that the
// apitest matchers and the suites share. Each check reads what a fault
// server journaled and returns nil or an error that says, for a human, what
// was expected and what happened.
package rules

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/retrylab/retrylab/faultinject"
)

// Waits returns, for every call after the first, the time from the end of
// the previous call (when the server finished its answer, or gave up on a
// client that had gone) to the start of this one: the wait the client chose.
func Waits(calls []faultinject.Call) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(calls); i++ {
		out = append(out, calls[i].Start.Sub(calls[i-1].End))
	}
	return out
}

// ByRoute groups calls by route pattern, keeping their order.
func ByRoute(calls []faultinject.Call) map[string][]faultinject.Call {
	out := map[string][]faultinject.Call{}
	for _, c := range calls {
		out[c.Route] = append(out[c.Route], c)
	}
	return out
}

// Count checks that the server received exactly want calls.
func Count(calls []faultinject.Call, want int) error {
	if len(calls) != want {
		return fmt.Errorf("expected %s, the server received %s", plural(want, "call"), plural(len(calls), "call"))
	}
	return nil
}

// AtMost checks that the server received no more than limit calls.
func AtMost(calls []faultinject.Call, limit int) error {
	if len(calls) > limit {
		return fmt.Errorf("expected at most %s, the server received %s", plural(limit, "call"), plural(len(calls), "call"))
	}
	return nil
}

// AtLeast checks that the server received at least want calls.
func AtLeast(calls []faultinject.Call, want int) error {
	if len(calls) < want {
		return fmt.Errorf("expected at least %s, the server received %s", plural(want, "call"), plural(len(calls), "call"))
	}
	return nil
}

// NotRetried checks that no route received more than one call.
func NotRetried(calls []faultinject.Call) error {
	for route, cs := range ByRoute(calls) {
		if len(cs) > 1 {
			return fmt.Errorf("expected no retry, %s received %s (first answer: %s)", routeName(route), plural(len(cs), "call"), answer(cs[0]))
		}
	}
	return nil
}

// SameBody checks that every call of each route carried byte-identical
// bodies (same length and SHA-256).
func SameBody(calls []faultinject.Call) error {
	for route, cs := range ByRoute(calls) {
		for i := 1; i < len(cs); i++ {
			if cs[i].BodySHA256 != cs[0].BodySHA256 || cs[i].BodyLen != cs[0].BodyLen {
				return fmt.Errorf("expected the same body on every attempt, %s call #%d sent %d bytes (sha256 %s) but call #%d sent %d bytes (sha256 %s)",
					routeName(route), cs[0].Seq, cs[0].BodyLen, short(cs[0].BodySHA256), cs[i].Seq, cs[i].BodyLen, short(cs[i].BodySHA256))
			}
		}
	}
	return nil
}

// SameIdempotencyKey checks that every call of each route carried the same,
// non-empty Idempotency-Key.
func SameIdempotencyKey(calls []faultinject.Call) error {
	for route, cs := range ByRoute(calls) {
		for _, c := range cs {
			if c.IdempotencyKey == "" {
				return fmt.Errorf("expected an Idempotency-Key on every attempt, call #%d to %s had none", c.Seq, routeName(route))
			}
			if c.IdempotencyKey != cs[0].IdempotencyKey {
				return fmt.Errorf("expected the same Idempotency-Key on every attempt, call #%d sent %q but call #%d sent %q",
					cs[0].Seq, cs[0].IdempotencyKey, c.Seq, c.IdempotencyKey)
			}
		}
	}
	return nil
}

// RetryAfter returns how long the Retry-After header sent with c asked the
// client to wait, measured from the end of c, and whether c carried a valid
// one.
func RetryAfter(c faultinject.Call) (time.Duration, bool) {
	v := strings.TrimSpace(c.RetryAfter)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(c.End)), true
	}
	return 0, false
}

// HonoredRetryAfter checks that after every answer carrying Retry-After the
// next call of the same route came no earlier than asked, less tolerance.
// HTTP-date values have one-second resolution; they are measured from the
// end of the call that sent them. A client that stopped instead of waiting
// passes.
func HonoredRetryAfter(calls []faultinject.Call, tolerance time.Duration) error {
	for route, cs := range ByRoute(calls) {
		for i := 0; i+1 < len(cs); i++ {
			want, ok := RetryAfter(cs[i])
			if !ok {
				continue
			}
			got := cs[i+1].Start.Sub(cs[i].End)
			if got+tolerance < want {
				return fmt.Errorf("expected a wait of at least %v after Retry-After: %s on call #%d to %s, the next call came after %v",
					want, cs[i].RetryAfter, cs[i].Seq, routeName(route), got)
			}
		}
	}
	return nil
}

// routeName names a route for messages.
func routeName(route string) string {
	if route == "" {
		return "the unmatched requests"
	}
	return route
}

// answer describes what the server did with c.
func answer(c faultinject.Call) string {
	if c.Status != 0 && c.Action == "respond" {
		return fmt.Sprintf("%d %s", c.Status, http.StatusText(c.Status))
	}
	if c.Status != 0 {
		return fmt.Sprintf("%s after %d", c.Action, c.Status)
	}
	return c.Action
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
