package retryclient

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultMaxBufferedBody is the default [Policy.MaxBufferedBody]: 1 MiB.
const DefaultMaxBufferedBody int64 = 1 << 20

// DefaultRetryAfterCap is the default [RetryAfterPolicy.Cap]: 60 s.
const DefaultRetryAfterCap = 60 * time.Second

// Policy says when and how often a request is retried. It is a plain value:
// the With… methods return modified copies and never change the receiver,
// so a Policy is safe for concurrent use as long as nobody assigns to its
// fields (or the elements of RetryStatuses) while it is shared.
//
// A Policy serialises to YAML and JSON with kebab-case keys and durations as
// Go duration strings ("250ms"); see [ParsePolicy].
//
// The zero Policy is not valid (MaxAttempts is 0); start from [DefaultPolicy].
type Policy struct {
	// MaxAttempts is the total number of attempts, including the first.
	// Default 3. Must be >= 1.
	MaxAttempts int

	// Backoff computes the wait before each retry when the response carries
	// no usable Retry-After. Default: exponential, 100ms initial, ×2, capped
	// at 10s, full jitter.
	Backoff Backoff

	// RetryStatuses are the response status codes that are retried.
	// Default 408, 425, 429, 500, 502, 503, 504. Every other status is
	// returned to the caller as is.
	RetryStatuses []int

	// RetryAfter says whether and up to what value a Retry-After header
	// replaces the computed backoff.
	RetryAfter RetryAfterPolicy

	// MaxElapsed bounds a logical request: no backoff sleep is started that
	// would end more than MaxElapsed after the first attempt started.
	// 0 means no limit (the default).
	MaxElapsed time.Duration

	// AttemptTimeout bounds each attempt, from sending the request until the
	// response body is closed. An attempt that runs out of time is classified
	// [ClassTimeout] and retried; this is distinct from the caller's own
	// deadline, which is final. 0 means no per-attempt limit (the default).
	AttemptTimeout time.Duration

	// MaxBufferedBody is how many request-body bytes the Transport buffers to
	// replay a request whose GetBody is nil and that may be retried (an
	// idempotent method or an Idempotency-Key, and MaxAttempts > 1). A larger
	// body makes RoundTrip fail at once with an error wrapping
	// [ErrBodyTooLarge], before anything is sent; other requests stream their
	// body unbuffered. Default [DefaultMaxBufferedBody] (1 MiB). Requests built with
	// http.NewRequest from a bytes.Buffer, bytes.Reader or strings.Reader
	// have GetBody set and are never buffered.
	MaxBufferedBody int64

	// RetryDNSErrors makes DNS failures ([ClassDNS]) retryable. Default
	// false: a name that does not resolve is treated as permanent. DNS
	// errors that report themselves temporary or timed out are classified
	// [ClassConnection] and retried regardless.
	RetryDNSErrors bool

	// RetryMethods lists methods beyond RFC 9110's idempotent ones (GET,
	// HEAD, OPTIONS, TRACE, PUT, DELETE) that are retried without an
	// Idempotency-Key, for an API whose POST is idempotent by design.
	// Default none: a POST or PATCH is retried only with a key. A retried
	// non-idempotent request may be applied twice; `retrylab lint` reports
	// every method listed here.
	RetryMethods []string

	// Budget, when Budget.Tokens > 0, gives a Transport (or Retrier) built
	// without [WithBudget] a retry budget of its own (see [NewBudget]).
	// Default none. To share one budget among several Transports, pass
	// WithBudget instead.
	Budget BudgetSpec
}

// BudgetSpec describes a retry budget in a Policy: [NewBudget]'s maxTokens
// and tokenRatio. The zero BudgetSpec means no budget.
type BudgetSpec struct {
	// Tokens is the budget's size; 0 means no budget.
	Tokens float64
	// Ratio is the tokens a successful attempt gives back.
	Ratio float64
}

// RetryAfterPolicy controls how a Retry-After response header is used.
// It is a plain value, safe to copy and share.
type RetryAfterPolicy struct {
	// Honor makes a valid Retry-After replace the computed backoff.
	// Default true.
	Honor bool

	// Cap is the largest Retry-After that is waited for. A larger value stops
	// the retries: the response is returned as is with reason
	// [ReasonRetryAfterTooLong]. When Honor is set, Cap must be > 0: there
	// is no uncapped mode, since a server could then park the client for as
	// long as it likes. Default [DefaultRetryAfterCap].
	Cap time.Duration
}

// defaultRetryStatuses are the status codes [DefaultPolicy] retries.
var defaultRetryStatuses = []int{
	http.StatusRequestTimeout,      // 408
	http.StatusTooEarly,            // 425
	http.StatusTooManyRequests,     // 429
	http.StatusInternalServerError, // 500
	http.StatusBadGateway,          // 502
	http.StatusServiceUnavailable,  // 503
	http.StatusGatewayTimeout,      // 504
}

// DefaultRetryStatuses returns a fresh copy of the status codes retried by
// [DefaultPolicy]: 408, 425, 429, 500, 502, 503, 504.
func DefaultRetryStatuses() []int { return slices.Clone(defaultRetryStatuses) }

// DefaultPolicy returns the documented defaults: 3 attempts; exponential
// backoff from 100ms, ×2, capped at 10s, full jitter; retry on connection
// errors, attempt timeouts and 408, 425, 429, 500, 502, 503, 504; Retry-After
// honoured up to 60s; no MaxElapsed; no AttemptTimeout; 1 MiB body buffer.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttempts:     3,
		Backoff:         DefaultBackoff(),
		RetryStatuses:   DefaultRetryStatuses(),
		RetryAfter:      RetryAfterPolicy{Honor: true, Cap: DefaultRetryAfterCap},
		MaxBufferedBody: DefaultMaxBufferedBody,
	}
}

// Validate reports every problem with p, joined, or nil if p is usable.
// Each message starts with "retryclient: ", for example
// "retryclient: MaxAttempts must be >= 1, got 0".
func (p Policy) Validate() error {
	var errs []error
	if p.MaxAttempts < 1 {
		errs = append(errs, fieldErrorf("max-attempts", "retryclient: MaxAttempts must be >= 1, got %d", p.MaxAttempts))
	}
	errs = append(errs, leafErrors(p.Backoff.Validate())...)
	for _, s := range p.RetryStatuses {
		if s < 100 || s > 999 {
			errs = append(errs, fieldErrorf("retry-statuses", "retryclient: RetryStatuses must hold HTTP status codes (100-999), got %d", s))
		}
	}
	switch {
	case p.RetryAfter.Honor && p.RetryAfter.Cap <= 0:
		errs = append(errs, fieldErrorf("retry-after.cap", "retryclient: RetryAfter.Cap must be > 0 when Retry-After is honoured (an uncapped Retry-After lets a server park the client), got %v", p.RetryAfter.Cap))
	case p.RetryAfter.Cap < 0:
		errs = append(errs, fieldErrorf("retry-after.cap", "retryclient: RetryAfter.Cap must be >= 0, got %v", p.RetryAfter.Cap))
	}
	if p.MaxElapsed < 0 {
		errs = append(errs, fieldErrorf("max-elapsed", "retryclient: MaxElapsed must be >= 0, got %v", p.MaxElapsed))
	}
	if p.AttemptTimeout < 0 {
		errs = append(errs, fieldErrorf("attempt-timeout", "retryclient: AttemptTimeout must be >= 0, got %v", p.AttemptTimeout))
	}
	if p.MaxBufferedBody < 0 {
		errs = append(errs, fieldErrorf("max-buffered-body", "retryclient: MaxBufferedBody must be >= 0, got %d", p.MaxBufferedBody))
	}
	for _, m := range p.RetryMethods {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsFunc(m, func(r rune) bool { return r < 'A' || r > 'Z' }) {
			errs = append(errs, fieldErrorf("retry-methods", "retryclient: RetryMethods must hold upper-case method names such as POST, got %q", m))
		}
	}
	if !(p.Budget.Tokens >= 0) || !(p.Budget.Ratio >= 0) {
		errs = append(errs, fieldErrorf("budget", "retryclient: Budget.Tokens and Budget.Ratio must be >= 0, got %v and %v", p.Budget.Tokens, p.Budget.Ratio))
	}
	return errors.Join(errs...)
}

// WithRetryMethods returns a copy of p that also retries the given
// methods without an Idempotency-Key (see [Policy.RetryMethods]). The slice
// is copied.
func (p Policy) WithRetryMethods(methods ...string) Policy {
	p.RetryMethods = slices.Clone(methods)
	return p
}

// WithBudget returns a copy of p with a retry budget of its own (see
// [Policy.Budget]).
func (p Policy) WithBudget(tokens, ratio float64) Policy {
	p.Budget = BudgetSpec{Tokens: tokens, Ratio: ratio}
	return p
}

// retryableMethod reports whether a request with method m may be retried
// without an Idempotency-Key.
func (p Policy) retryableMethod(m string) bool {
	return idempotentMethod(m) || slices.Contains(p.RetryMethods, m)
}

// WithMaxAttempts returns a copy of p with MaxAttempts set to n.
func (p Policy) WithMaxAttempts(n int) Policy { p.MaxAttempts = n; return p }

// WithBackoff returns a copy of p with Backoff set to b.
func (p Policy) WithBackoff(b Backoff) Policy { p.Backoff = b; return p }

// WithRetryStatuses returns a copy of p that retries exactly the given
// status codes. The slice is copied.
func (p Policy) WithRetryStatuses(statuses ...int) Policy {
	p.RetryStatuses = slices.Clone(statuses)
	return p
}

// WithRetryAfter returns a copy of p with the Retry-After handling set.
// When honor is true, limit must be > 0 (see [RetryAfterPolicy.Cap]).
func (p Policy) WithRetryAfter(honor bool, limit time.Duration) Policy {
	p.RetryAfter = RetryAfterPolicy{Honor: honor, Cap: limit}
	return p
}

// WithMaxElapsed returns a copy of p with MaxElapsed set to d.
func (p Policy) WithMaxElapsed(d time.Duration) Policy { p.MaxElapsed = d; return p }

// WithAttemptTimeout returns a copy of p with AttemptTimeout set to d.
func (p Policy) WithAttemptTimeout(d time.Duration) Policy { p.AttemptTimeout = d; return p }

// WithMaxBufferedBody returns a copy of p with MaxBufferedBody set to n.
func (p Policy) WithMaxBufferedBody(n int64) Policy { p.MaxBufferedBody = n; return p }

// WithRetryDNSErrors returns a copy of p with RetryDNSErrors set to retry.
func (p Policy) WithRetryDNSErrors(retry bool) Policy { p.RetryDNSErrors = retry; return p }

// retryableStatus reports whether status is one of p.RetryStatuses.
func (p Policy) retryableStatus(status int) bool {
	for _, s := range p.RetryStatuses {
		if s == status {
			return true
		}
	}
	return false
}
