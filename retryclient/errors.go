package retryclient

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrBodyTooLarge is wrapped by the error RoundTrip returns, before sending
// anything, when a request has a body, no GetBody, and more than
// [Policy.MaxBufferedBody] bytes of body. Such a request is never retried:
// set GetBody (http.NewRequest does for in-memory readers) or raise the
// limit.
var ErrBodyTooLarge = errors.New("retryclient: request body too large to buffer for retries")

// GiveUpError is the error RoundTrip returns when the last attempt produced
// no response: connection errors until MaxAttempts, a non-retryable error,
// the caller's cancellation, an open circuit. When the last attempt did
// produce a response, RoundTrip returns that response and a nil error
// instead. A GiveUpError is not modified after it is returned and is safe
// to share.
type GiveUpError struct {
	// Attempts is how many attempts were made.
	Attempts int
	// LastStatus is the status of the last attempt that had a response,
	// 0 if none had.
	LastStatus int
	// LastErr is the last attempt's error (for a cancellation during a
	// backoff sleep: the caller context's error).
	LastErr error
	// Reason is why the retries stopped.
	Reason Reason
	// Timeline holds every attempt.
	Timeline Timeline
}

// Error renders, for example,
// "retryclient: gave up after 3 attempts: connection refused (max-attempts)".
func (e *GiveUpError) Error() string {
	var b strings.Builder
	b.WriteString("retryclient: gave up after ")
	b.WriteString(strconv.Itoa(e.Attempts))
	if e.Attempts == 1 {
		b.WriteString(" attempt: ")
	} else {
		b.WriteString(" attempts: ")
	}
	switch {
	case e.LastErr != nil:
		b.WriteString(e.LastErr.Error())
	case e.LastStatus != 0:
		b.WriteString(statusText(e.LastStatus))
	default:
		b.WriteString("no response")
	}
	if e.Reason != "" {
		b.WriteString(" (")
		b.WriteString(string(e.Reason))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns LastErr, so errors.Is(err, context.DeadlineExceeded) and
// errors.As work through a GiveUpError.
func (e *GiveUpError) Unwrap() error { return e.LastErr }

// Timeout reports whether the last error was a timeout (a deadline, or a
// net.Error that says so), so that *url.Error.Timeout and net.Error checks
// keep working through a GiveUpError.
func (e *GiveUpError) Timeout() bool {
	if errors.Is(e.LastErr, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.LastErr, &ne) && ne.Timeout()
}

// GomegaString renders the error and its timeline for Gomega failures.
func (e *GiveUpError) GomegaString() string {
	return e.Error() + "\n" + e.Timeline.String()
}

// StatusError is a failure with an HTTP status. The Transport reports a
// response with a retryable status to a [Breaker] as one; a call run by
// [Do] may return one (for example from a REST client that turns statuses
// into errors) to be judged by [Policy.RetryStatuses] and Retry-After like
// a response. It is a plain value, not modified after it is created, and
// safe to share.
type StatusError struct {
	// Status is the response status code.
	Status int
	// RetryAfter is the wait the server asked for (its Retry-After
	// header, parsed with [ParseRetryAfter]); 0 when it asked for none.
	// The Transport leaves it 0.
	RetryAfter time.Duration
}

// Error renders "retryclient: retryable status 503 Service Unavailable".
func (e *StatusError) Error() string {
	return "retryclient: retryable status " + statusText(e.Status)
}
