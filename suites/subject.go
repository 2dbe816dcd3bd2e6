package suites

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retrylab/retrylab/internal/rules"
	"github.com/retrylab/retrylab/retryclient"
)

// Subject is the client under test. Client builds a fresh client whose
// requests reach the fault server through base: wrap base with the retry
// logic under test (a retrying RoundTripper, a library's client configured
// with base as its transport, or a hand-made loop). Client is called once for
// every request a check sends, inside the check's virtual-time bubble. A
// client in another language is an Exec instead (see [ExecSubject]): set one
// of Client and Exec. A Subject is a plain value; the checks only read it.
type Subject struct {
	// Client builds the client under test on base.
	Client func(base http.RoundTripper) *http.Client
	// Exec, when Client is nil, is an external command that makes each
	// request through the client under test, over real TCP in real time.
	Exec *Exec
	// Promise declares what the client claims to do.
	Promise Promise
}

// Promise declares what the subject claims to do. Zero fields promise
// nothing, and the checks that depend on them are skipped; the universal
// rules are always checked. A Promise is a plain value.
type Promise struct {
	// MaxAttempts is the total number of attempts (first included) the client
	// makes on a persistent transient failure: never more, and at least as
	// many.
	MaxAttempts int
	// InitialBackoff, Multiplier and MaxBackoff describe the schedule of the
	// waits that Retry-After does not dictate: retry i (from 1) waits
	// InitialBackoff·Multiplier^(i-1), capped at MaxBackoff. Multiplier 0
	// means 1 (constant backoff). For the shapes these cannot say (linear
	// growth, randomized or additive jitter, a floor), set Backoff instead.
	InitialBackoff time.Duration
	Multiplier     float64
	MaxBackoff     time.Duration
	// Jitter says how the waits are randomised around the schedule, in
	// retryclient's words: "" or none (exactly the schedule), full (between
	// 0 and the schedule; checked on average over several runs), equal
	// (between half the schedule and the schedule), decorrelated (between
	// InitialBackoff and three times the previous wait, capped).
	Jitter retryclient.JitterKind
	// Backoff, when its Initial is set, is the schedule in retryclient's
	// own terms and replaces InitialBackoff, Multiplier, MaxBackoff and
	// Jitter (set one or the other): every wait must lie within
	// Backoff.Bounds, so each jitter kind of retryclient can be promised,
	// among them cenkalti/backoff's randomization factor
	// (retryclient.JitterRandomized), the additive jitter of retry-go and
	// heimdall (retryclient.JitterAdditive) and resty's floor (Backoff.Min).
	// An empty Kind means exponential, an empty Jitter none, a zero
	// Multiplier 1.
	Backoff retryclient.Backoff
	// RetriedStatuses are the response statuses the client retries. Empty
	// means retryclient.DefaultPolicy().RetryStatuses, the RFC-transient set
	// 408, 425, 429, 500, 502, 503 and 504. The rules send the failures a
	// client retries from this set, and chaos scripts draw their transient
	// statuses from it, so a client that documents a narrower set (one that
	// does not retry 408, say) is not blamed for it. A status a universal
	// rule forbids (400, 401, 403, 404, 409, 422, 501, 505) cannot be
	// promised: retrying it stays a broken rule.
	RetriedStatuses []int
	// MaxElapsed promises to stop retrying a request once this much time has
	// passed since its first attempt (no sleep that would end later).
	MaxElapsed time.Duration
	// RetryAfter promises to wait as long as Retry-After asks (delta-seconds
	// and HTTP-date), up to RetryAfterCap (0: no cap promised); a longer
	// Retry-After makes the client stop rather than sleep longer than the
	// cap.
	RetryAfter    bool
	RetryAfterCap time.Duration
	// RetryAfterSecondsOnly promises Retry-After in delta-seconds only, for
	// a client that documents it does not read HTTP-dates (cenkalti/backoff's
	// retry-after handling, for one): it implies RetryAfter for seconds, and
	// the HTTP-date rule is skipped.
	RetryAfterSecondsOnly bool
	// IdempotencyKeys promises to retry a POST that carries an
	// Idempotency-Key header.
	IdempotencyKeys bool
	// AttemptTimeout promises to abandon an attempt that receives no answer
	// within this time, and retry.
	AttemptTimeout time.Duration
}

// neverRetried are the statuses the universal rules forbid retrying.
var neverRetried = []int{400, 401, 403, 404, 409, 422, 501, 505}

// Validate reports every inconsistency of p, joined, or nil. The rules and
// chaos sequences report it instead of checking a client against a promise
// that cannot be kept.
func (p Promise) Validate() error {
	var errs []error
	if p.Backoff.Initial > 0 && p.InitialBackoff > 0 {
		errs = append(errs, errors.New("suites: the Promise sets both Backoff and InitialBackoff; set one schedule"))
	}
	if p.Backoff.Initial == 0 && (p.Jitter == retryclient.JitterRandomized || p.Jitter == retryclient.JitterAdditive) {
		errs = append(errs, fmt.Errorf("suites: Promise.Jitter %q needs its parameter; promise it with Promise.Backoff (RandomizationFactor or MaxJitter)", p.Jitter))
	}
	if b, ok := p.Schedule(); ok {
		if err := b.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("suites: the Promise's schedule: %w", err))
		}
	}
	for _, code := range p.RetriedStatuses {
		switch {
		case code < 100 || code > 599:
			errs = append(errs, fmt.Errorf("suites: Promise.RetriedStatuses holds %d, not an HTTP status", code))
		case slices.Contains(neverRetried, code):
			errs = append(errs, fmt.Errorf("suites: Promise.RetriedStatuses holds %d, which is never transient: the universal rules forbid retrying it", code))
		}
	}
	if p.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("suites: Promise.MaxAttempts is %d; want 0 (no promise) or more", p.MaxAttempts))
	}
	return errors.Join(errs...)
}

// Schedule returns the promised schedule in retryclient's terms, and false
// when p promises none: Backoff when its Initial is set, otherwise the
// exponential schedule of InitialBackoff, Multiplier, MaxBackoff and Jitter
// when InitialBackoff is set.
func (p Promise) Schedule() (retryclient.Backoff, bool) {
	switch {
	case p.Backoff.Initial > 0:
		return rules.Normalize(p.Backoff), true
	case p.InitialBackoff > 0:
		return rules.Normalize(retryclient.Backoff{
			Kind: retryclient.BackoffExponential, Initial: p.InitialBackoff,
			Multiplier: p.Multiplier, Max: p.MaxBackoff, Jitter: p.Jitter,
		}), true
	}
	return retryclient.Backoff{}, false
}

// retriedStatuses returns the statuses p says the client retries.
func (p Promise) retriedStatuses() []int {
	if len(p.RetriedStatuses) == 0 {
		return retryclient.DefaultPolicy().RetryStatuses
	}
	return p.RetriedStatuses
}

// retries reports whether p says the client retries status.
func (p Promise) retries(status int) bool {
	return slices.Contains(p.retriedStatuses(), status)
}

// transientStatus returns the first of prefer that p says the client
// retries, or else the first status it retries.
func (p Promise) transientStatus(prefer ...int) int {
	for _, code := range prefer {
		if p.retries(code) {
			return code
		}
	}
	return p.retriedStatuses()[0]
}

// honoursRetryAfter reports whether p promises to honour Retry-After in
// seconds.
func (p Promise) honoursRetryAfter() bool { return p.RetryAfter || p.RetryAfterSecondsOnly }

// retriedWhy says, for a failure message, why the suite expects status to be
// retried.
func (p Promise) retriedWhy(status int) string {
	if len(p.RetriedStatuses) == 0 {
		return fmt.Sprintf("%d is in the RFC-transient set the Promise retries by default (%s; narrow it with Promise.RetriedStatuses)", status, statusList(p.retriedStatuses()))
	}
	return fmt.Sprintf("the Promise's RetriedStatuses %v hold %d", p.RetriedStatuses, status)
}

// statusList writes codes as "408, 425, 429".
func statusList(codes []int) string {
	words := make([]string, len(codes))
	for i, c := range codes {
		words[i] = strconv.Itoa(c)
	}
	return strings.Join(words, ", ")
}
