package rules

import (
	"fmt"
	"net/http"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

// Requests splits calls into logical requests, in order. When every call
// carries the attempt header (Call.Attempt > 0), a call numbered 1 starts a
// new request, so sequential requests through the same route stay apart.
// Otherwise calls are grouped by route, in the order routes were first
// called, and each route's calls count as one request.
func Requests(calls []faultinject.Call) [][]faultinject.Call {
	numbered := len(calls) > 0
	for _, c := range calls {
		if c.Attempt <= 0 {
			numbered = false
			break
		}
	}
	var out [][]faultinject.Call
	if numbered {
		for _, c := range calls {
			if c.Attempt == 1 || len(out) == 0 {
				out = append(out, nil)
			}
			out[len(out)-1] = append(out[len(out)-1], c)
		}
		return out
	}
	index := map[string]int{}
	for _, c := range calls {
		i, ok := index[c.Route]
		if !ok {
			i = len(out)
			index[c.Route] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

// Waits returns, for every call after the first of each logical request,
// the time from the end of the previous call (when the server finished its
// answer, or gave up on a client that had gone) to the start of this one:
// the wait the client chose. afterRetryAfter marks the waits that followed
// an answer carrying Retry-After.
func Waits(calls []faultinject.Call) (waits []time.Duration, afterRetryAfter []bool) {
	for _, req := range Requests(calls) {
		for i := 1; i < len(req); i++ {
			waits = append(waits, req[i].Start.Sub(req[i-1].End))
			_, ra := RetryAfter(req[i-1])
			afterRetryAfter = append(afterRetryAfter, ra)
		}
	}
	return waits, afterRetryAfter
}

// NotRetried checks that no logical request was sent more than once.
func NotRetried(calls []faultinject.Call) error {
	for _, req := range Requests(calls) {
		if len(req) > 1 {
			return fmt.Errorf("%s received %s for one request (first answer: %s)", routeName(req[0].Route), plural(len(req), "call"), answer(req[0]))
		}
	}
	return nil
}

// SameBody checks that every call of each logical request carried a
// byte-identical body (same length and SHA-256).
func SameBody(calls []faultinject.Call) error {
	for _, req := range Requests(calls) {
		for i := 1; i < len(req); i++ {
			if req[i].BodySHA256 != req[0].BodySHA256 || req[i].BodyLen != req[0].BodyLen {
				return fmt.Errorf("call #%d to %s sent %d bytes (sha256 %s) and call #%d sent %d bytes (sha256 %s)",
					req[0].Seq, routeName(req[0].Route), req[0].BodyLen, short(req[0].BodySHA256), req[i].Seq, req[i].BodyLen, short(req[i].BodySHA256))
			}
		}
	}
	return nil
}

// SameIdempotencyKey checks that every call of each logical request carried
// the same, non-empty Idempotency-Key.
func SameIdempotencyKey(calls []faultinject.Call) error {
	for _, req := range Requests(calls) {
		for _, c := range req {
			if c.IdempotencyKey == "" {
				return fmt.Errorf("call #%d to %s carried no Idempotency-Key", c.Seq, routeName(c.Route))
			}
			if c.IdempotencyKey != req[0].IdempotencyKey {
				return fmt.Errorf("call #%d to %s sent Idempotency-Key %q and call #%d sent %q",
					req[0].Seq, routeName(c.Route), req[0].IdempotencyKey, c.Seq, c.IdempotencyKey)
			}
		}
	}
	return nil
}

// RetryAfter returns how long the Retry-After header sent with c asked the
// client to wait, measured from the end of c, and whether c carried a valid
// one. It reads the header as retryclient does ([retryclient.ParseRetryAfter]),
// so a value the client ignores ("+3") is ignored here too, and one too
// large for a Duration asks for the largest Duration.
func RetryAfter(c faultinject.Call) (time.Duration, bool) {
	return retryclient.ParseRetryAfter(c.RetryAfter, c.End)
}

// HonoredRetryAfter checks that, within each logical request, after every
// answer carrying Retry-After the next call came no earlier than asked, less
// tolerance. HTTP-date values have one-second resolution; they are measured
// from the end of the call that sent them. A client that stopped instead of
// waiting passes.
func HonoredRetryAfter(calls []faultinject.Call, tolerance time.Duration) error {
	for _, req := range Requests(calls) {
		for i := 0; i+1 < len(req); i++ {
			want, ok := RetryAfter(req[i])
			if !ok {
				continue
			}
			got := req[i+1].Start.Sub(req[i].End)
			if got+tolerance < want {
				return fmt.Errorf("call #%d to %s was answered with Retry-After: %s (a wait of %v) and the next call came after %v",
					req[i].Seq, routeName(req[i].Route), req[i].RetryAfter, want, got)
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
