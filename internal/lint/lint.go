// Package lint finds what is risky in a retry policy before it ships: the
// static half of `retrylab lint` and of the CI gate. Each finding names
// the field it concerns, so the command can point at the line of the
// policy file that set it.
package lint

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/retrylab/retrylab/internal/words"
	"github.com/retrylab/retrylab/retryclient"
)

// Severity says how bad a finding is. An error fails `retrylab lint`.
type Severity string

// The severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem with a policy.
type Finding struct {
	// ID names the kind of problem, e.g. "no-jitter".
	ID       string
	Severity Severity
	// Field is the key path of the policy field the finding concerns
	// ("backoff.jitter"); "" for the policy as a whole.
	Field string
	// Message says what is wrong; Fix says what to do, in one line.
	Message string
	Fix     string
}

// Options are what the caller of a policy brings to it.
type Options struct {
	// Deadline is the caller's deadline for one logical request; 0 skips
	// the findings that need it.
	Deadline time.Duration
	// Layers is how many layers of retries stand between a user and the
	// bottom service, each with this policy (at least 1).
	Layers int
}

// nonTransient are statuses that retrying cannot fix.
var nonTransient = []int{400, 401, 403, 404, 405, 409, 410, 411, 413, 414, 415, 422, 501, 505}

// WorstCase returns the longest one logical request can take under p when
// every attempt fails as slowly as it can (each at its attempt timeout)
// and every wait is the longest the policy allows (the backoff's upper
// bound, or the Retry-After cap when it is longer); MaxElapsed bounds the
// waits. unbounded is true when an attempt can hang forever (no attempt
// timeout).
func WorstCase(p retryclient.Policy) (d time.Duration, unbounded bool) {
	if p.AttemptTimeout == 0 {
		return 0, true
	}
	// Saturating sums: a long enough policy is reported as Forever, and the
	// walk stops there (or at MaxElapsed), whatever MaxAttempts says.
	limit := Forever
	if p.MaxElapsed > 0 {
		// No sleep ends past MaxElapsed; the attempt after it may still
		// run to its timeout.
		limit = min(limit, satAdd(p.MaxElapsed, p.AttemptTimeout))
	}
	total, prev := p.AttemptTimeout, time.Duration(0)
	for n := 1; n < p.MaxAttempts && total < limit; n++ {
		_, hi := p.Backoff.Bounds(n, prev)
		if p.RetryAfter.Honor && p.RetryAfter.Cap > hi {
			hi = p.RetryAfter.Cap
		}
		total = satAdd(satAdd(total, hi), p.AttemptTimeout)
		prev = hi
	}
	return min(total, limit), false
}

// Forever is the longest WorstCase reports: longer policies are reported
// as lasting this long.
const Forever = 1000 * time.Hour

// satAdd is a + b, no more than Forever (both are non-negative).
func satAdd(a, b time.Duration) time.Duration {
	if a >= Forever || b >= Forever || a+b >= Forever || a+b < 0 {
		return Forever
	}
	return a + b
}

// Check returns the findings on p, errors first, in a stable order.
func Check(p retryclient.Policy, o Options) []Finding {
	var fs []Finding
	add := func(id string, sev Severity, field, fix, format string, args ...any) {
		fs = append(fs, Finding{ID: id, Severity: sev, Field: field, Message: fmt.Sprintf(format, args...), Fix: fix})
	}
	retries := p.MaxAttempts > 1

	worst, unbounded := WorstCase(p)
	switch {
	case unbounded && retries:
		add("no-attempt-timeout", Warning, "attempt-timeout", "set attempt-timeout, e.g. 2s, so a hung attempt is abandoned and retried",
			"no attempt timeout: a hung attempt holds the request until the caller's deadline and is never retried")
	case !unbounded && o.Deadline > 0 && worst > o.Deadline:
		field, fix := "max-attempts", fmt.Sprintf("set max-elapsed to at most %v, or lower max-attempts or attempt-timeout", o.Deadline-p.AttemptTimeout)
		if p.MaxElapsed > 0 {
			field = "max-elapsed"
		}
		if p.AttemptTimeout >= o.Deadline {
			field, fix = "attempt-timeout", fmt.Sprintf("set attempt-timeout well below the %v deadline, so that a retry fits", o.Deadline)
		}
		add("worst-case-over-deadline", Error, field, fix,
			"one logical request can take %v (%s of %v and the longest waits), longer than the caller's %v deadline: the caller gives up before the policy does",
			worst, words.Plural(p.MaxAttempts, "attempt"), p.AttemptTimeout, o.Deadline)
	}

	if retries && p.Backoff.Jitter == retryclient.JitterNone {
		add("no-jitter", Warning, "backoff.jitter", "set backoff.jitter to full (or equal, decorrelated)",
			"no jitter: clients that failed together retry together, in waves that keep an outage going")
	}

	if p.RetryAfter.Honor && o.Deadline > 0 && p.RetryAfter.Cap >= o.Deadline {
		add("retry-after-cap-over-deadline", Error, "retry-after.cap",
			fmt.Sprintf("set retry-after.cap below the deadline, e.g. %v", o.Deadline/2),
			"Retry-After is honoured up to %v, not less than the caller's %v deadline: a server can make the client sleep past it", p.RetryAfter.Cap, o.Deadline)
	}

	for _, m := range p.RetryMethods {
		if slices.Contains([]string{"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}, m) {
			continue // idempotent: retried anyway
		}
		add("non-idempotent-retried", Error, "retry-methods",
			"remove "+m+" from retry-methods and send an Idempotency-Key instead (retryclient.WithIdempotencyKeys)",
			"%s is retried without an Idempotency-Key: a request the server applied before the connection broke is applied twice", m)
	}

	var bad []int
	for _, s := range p.RetryStatuses {
		if slices.Contains(nonTransient, s) {
			bad = append(bad, s)
		}
	}
	if len(bad) > 0 {
		add("non-transient-status-retried", Error, "retry-statuses", "remove them from retry-statuses",
			"retry-statuses holds %s, which retrying cannot fix: every retry is wasted load", joinInts(bad))
	}

	if layers := max(o.Layers, 1); layers > 1 && retries {
		n := math.Pow(float64(p.MaxAttempts), float64(layers))
		sev := Warning
		if n > 100 {
			sev = Error
		}
		if n > 10 {
			add("layered-amplification", sev, "max-attempts", "retry at one layer only (usually the outermost), or give each layer a budget",
				"with %d layers each making %d attempts, one user request can make %.0f attempts against the bottom service", layers, p.MaxAttempts, n)
		}
	}

	if b := p.Budget; b.Tokens > 0 && b.Tokens <= 2 && retries {
		add("budget-too-small", Warning, "budget.tokens", "give the budget more tokens, e.g. 100 (retries stop once half of them are gone)",
			"a budget of %v tokens allows no retry at all: one failure leaves no more than half of them", b.Tokens)
	}
	if p.MaxAttempts >= 4 && p.Budget.Tokens == 0 {
		add("no-budget", Warning, "max-attempts", "add budget: {tokens: 100, ratio: 0.1} (or share one with retryclient.WithBudget)",
			"%d attempts and no retry budget: during an outage every request makes all of them, %d times the load", p.MaxAttempts, p.MaxAttempts)
	}

	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.Severity != b.Severity {
			if a.Severity == Error {
				return -1
			}
			return 1
		}
		return 0
	})
	return fs
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
