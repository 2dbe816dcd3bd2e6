package retryclient

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Transport is an [http.RoundTripper] that retries transient failures of
// the RoundTripper it wraps according to a [Policy]. It holds no
// per-request mutable state beyond atomic counters, and is safe for
// concurrent use.
//
// For every logical request, RoundTrip:
//   - never modifies the caller's request: every attempt that changes
//     headers sends a req.Clone, other attempts a shallow copy carrying the
//     attempt's context and body (attempt 1 may send req itself when nothing
//     differs);
//   - replays the body through req.GetBody, or, when GetBody is nil, buffers
//     up to [Policy.MaxBufferedBody] bytes first (a longer body fails at once
//     with [ErrBodyTooLarge]);
//   - drains (at most 64 KiB) and closes the body of every response it
//     discards, so the connection is reused; the drain is cut off when the
//     backoff delay, counted from the response headers, ends (a delay
//     under 10ms still gives the body 10ms, never past MaxElapsed), and
//     [Attempt.Delay] is then the real gap;
//   - sleeps between attempts on a timer that the caller's context
//     interrupts at once; buffering a request body is interrupted the same
//     way (the body is closed, and the error is a [*GiveUpError] with no
//     attempts and [ReasonCanceled]);
//   - returns the last response (status preserved, body unread) with a nil
//     error when the last attempt had one, and a [*GiveUpError] otherwise.
//
// The caller's cancellation or deadline is final; an expired
// [Policy.AttemptTimeout] is retried. With an AttemptTimeout, the attempt's
// context stays alive until the returned response body is closed, so the
// timeout also bounds reading the body.
type Transport struct {
	next            http.RoundTripper
	policy          Policy
	err             error
	observer        func(Attempt)
	logger          *slog.Logger
	rand            *mrand.Rand
	attemptHeader   string
	idempotencyKeys bool
	budget          *Budget
	breaker         Breaker
	plain           bool // no observer, logger, budget or breaker
	requests        atomic.Uint64
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport that sends attempts through next under policy p.
// New never panics: if p is invalid, every RoundTrip returns p.Validate()'s
// error (also available from [Transport.Err]) without sending anything. p
// is copied; later changes to its RetryStatuses slice do not affect the
// Transport.
//
// A nil next means [http.DefaultTransport] as it is when each attempt is
// sent, not when New is called: a Transport built before httpmock.Activate
// (which replaces http.DefaultTransport) still reaches the mock. With
// httpmock, keep the mock below the retries: New(mt, p) with mt an
// *httpmock.MockTransport (faultinject.Register plays a scenario on it),
// or New(nil, p) with httpmock.Activate. Never call
// httpmock.ActivateNonDefault on the *http.Client of a retrying client: it
// replaces the client's Transport, and the retries with it.
func New(next http.RoundTripper, p Policy, opts ...Option) *Transport {
	p.RetryStatuses = slices.Clone(p.RetryStatuses)
	t := &Transport{next: next, policy: p, err: p.Validate()}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	t.plain = t.observer == nil && t.logger == nil && t.budget == nil && t.breaker == nil
	return t
}

// NewClient returns an *http.Client whose Transport is New(nil, p, opts...).
func NewClient(p Policy, opts ...Option) *http.Client {
	return &http.Client{Transport: New(nil, p, opts...)}
}

// Err returns the policy validation error that every RoundTrip returns, or
// nil if the Transport is usable.
func (t *Transport) Err() error { return t.err }

// Policy returns a copy of the Transport's policy.
func (t *Transport) Policy() Policy {
	p := t.policy
	p.RetryStatuses = slices.Clone(p.RetryStatuses)
	return p
}

// base returns the RoundTripper attempts go through: next, or
// http.DefaultTransport as it is now.
func (t *Transport) base() http.RoundTripper {
	if t.next != nil {
		return t.next
	}
	return http.DefaultTransport
}

// CloseIdleConnections closes the idle connections of the wrapped
// RoundTripper if it supports that.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip sends req, retrying as the policy allows. See [Transport].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.err != nil {
		closeBody(req)
		return nil, t.err
	}
	p := &t.policy
	ctx := req.Context()

	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	idemKey := headerValue(req.Header, IdempotencyKeyHeader)
	addKey := false
	if idemKey == "" && t.idempotencyKeys && (method == http.MethodPost || method == http.MethodPatch) {
		idemKey = rand.Text()
		addKey = true
	}
	cloneHeaders := addKey || t.attemptHeader != ""

	// Body replay: attempt 1 uses req.Body when GetBody can rewind it,
	// every other attempt (and attempt 1 of a buffered body) uses getBody.
	// Only a request that may be retried is buffered.
	getBody := req.GetBody
	origBody := req.Body != nil && req.Body != http.NoBody
	replayable := p.MaxAttempts > 1 && (idempotentMethod(method) || idemKey != "")
	if origBody && getBody == nil && replayable {
		//lint:ignore SA1019 http.Client still closes Request.Cancel when its Timeout expires.
		buf, err := bufferBody(ctx, req.Cancel, req.Body, p.MaxBufferedBody)
		if err != nil {
			var gu *GiveUpError
			if errors.As(err, &gu) && t.logger != nil {
				t.giveUp(ctx, req, 0, 0, gu.LastErr, gu.Reason, nil)
			}
			return nil, err
		}
		getBody = replayBody(buf)
		origBody = false
	} else if !origBody {
		getBody = nil
	}

	// A plain Transport numbers a request only once it needs a record.
	var id uint64
	if !t.plain {
		id = t.requests.Add(1)
	}
	var (
		first      time.Time
		prevDelay  time.Duration
		timeline   Timeline
		lastStatus int
	)
	for n := 1; ; n++ {
		var done func(error)
		if t.breaker != nil {
			d, err := t.breaker.Allow()
			if err != nil {
				if origBody && n == 1 {
					closeBody(req)
				}
				return nil, t.giveUp(ctx, req, n-1, lastStatus, err, ReasonCircuitOpen, timeline)
			}
			done = d
		}

		attemptCtx, cancel := ctx, context.CancelFunc(nil)
		if p.AttemptTimeout > 0 {
			attemptCtx, cancel = context.WithTimeout(ctx, p.AttemptTimeout)
		}
		areq := req
		switch {
		case cloneHeaders:
			areq = req.Clone(attemptCtx)
			if areq.Header == nil {
				areq.Header = make(http.Header)
			}
			if addKey {
				areq.Header.Set(IdempotencyKeyHeader, idemKey)
			}
			if t.attemptHeader != "" {
				areq.Header.Set(t.attemptHeader, strconv.Itoa(n))
			}
		case cancel != nil || n > 1 || getBody != nil && !origBody:
			areq = req.WithContext(attemptCtx)
		}
		if getBody != nil && (n > 1 || !origBody) {
			b, err := getBody()
			if err != nil {
				if cancel != nil {
					cancel()
				}
				if done != nil {
					done(nil)
				}
				return nil, t.giveUp(ctx, req, n-1, lastStatus, err, ReasonBodyNotReplayable, timeline)
			}
			areq.Body = b
		}

		start := time.Now()
		if n == 1 {
			first = start
		}
		resp, err := t.base().RoundTrip(areq)
		if resp == nil && err == nil {
			err = errNilResponse
		}
		if err == nil && t.plain && !p.retryableStatus(resp.StatusCode) {
			// Fast path: a final response with nothing to record or account.
			if cancel != nil {
				if resp.Body == nil {
					cancel()
				} else {
					resp.Body = wrapCancel(resp.Body, cancel)
				}
			}
			return resp, nil
		}
		now := time.Now()

		o := Outcome{
			Attempt:           n,
			Method:            method,
			HasIdempotencyKey: idemKey != "",
			PrevDelay:         prevDelay,
			Now:               now,
			Elapsed:           now.Sub(first),
			Rand:              t.rand,
		}
		if err != nil {
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			resp = nil
			switch {
			case ctx.Err() != nil:
				o.Class = ClassCanceled
				if !errors.Is(err, ctx.Err()) {
					err = ctx.Err()
				}
			//lint:ignore SA1019 http.Client still closes Request.Cancel when its Timeout expires.
			case closed(req.Cancel):
				o.Class = ClassCanceled
			case cancel != nil && attemptCtx.Err() != nil:
				o.Class = ClassTimeout
			default:
				o.Class = Classify(err)
			}
			o.Err = err
		} else {
			o.Status = resp.StatusCode
			o.RetryAfter = headerValue(resp.Header, "Retry-After")
		}
		dec := p.Decide(o)
		if dec.Retry && origBody && getBody == nil {
			dec.Retry, dec.Delay, dec.Reason = false, 0, ReasonBodyNotReplayable
		}

		failure := p.failure(o, dec)
		if t.budget != nil {
			dec = t.budget.Apply(*p, o, dec)
		}
		if done != nil {
			switch {
			case err != nil:
				done(err)
			case failure:
				done(&StatusError{Status: o.Status})
			default:
				done(nil)
			}
		}

		// The next attempt starts at wake, however long the discarded body
		// takes: the drain is cut off there (or after minDrainWindow for a
		// tiny delay, never past MaxElapsed). Only a body that ignores Close,
		// or the drain window, can overrun wake; then Delay records the real
		// gap, and an overrun past the MaxElapsed horizon stops.
		wake := now.Add(dec.Delay)
		if dec.Retry && resp != nil {
			lastStatus = resp.StatusCode
			cut := drainUntil(resp.Body, drainDeadline(now, wake, first, p.MaxElapsed))
			resp = nil
			if late := time.Now(); cut && late.After(wake) {
				if p.MaxElapsed > 0 && late.Sub(first) > p.MaxElapsed {
					dec.Retry, dec.Delay, dec.Reason = false, 0, ReasonMaxElapsed
				} else {
					dec.Delay, wake = late.Sub(now), late
				}
			}
		}

		if t.observer != nil || t.logger != nil || dec.Retry || resp == nil {
			if id == 0 {
				id = t.requests.Add(1)
			}
			a := Attempt{
				RequestID:      id,
				Number:         n,
				Method:         method,
				URL:            req.URL.Redacted(),
				Start:          start,
				Offset:         start.Sub(first),
				Duration:       now.Sub(start),
				Status:         o.Status,
				Err:            err,
				ErrClass:       dec.Class,
				RetryAfter:     dec.RetryAfter,
				RetryAfterSeen: dec.RetryAfterSeen,
				RetryAfterRaw:  o.RetryAfter,
				IdempotencyKey: idemKey,
				Retry:          dec.Retry,
				Delay:          dec.Delay,
				Reason:         dec.Reason,
			}
			if dec.Retry || resp == nil {
				timeline = append(timeline, a)
			}
			if t.observer != nil {
				t.observer(a)
			}
			if t.logger != nil {
				t.log(ctx, a, failure || err != nil)
			}
		}

		if !dec.Retry {
			if resp != nil {
				if cancel != nil {
					if resp.Body == nil {
						cancel()
					} else {
						resp.Body = wrapCancel(resp.Body, cancel)
					}
				}
				return resp, nil
			}
			if cancel != nil {
				cancel()
			}
			return nil, &GiveUpError{Attempts: n, LastStatus: lastStatus, LastErr: err, Reason: dec.Reason, Timeline: timeline}
		}

		if cancel != nil {
			cancel()
		}
		//lint:ignore SA1019 http.Client still closes Request.Cancel when its Timeout expires.
		if err := sleep(ctx, req.Cancel, time.Until(wake)); err != nil {
			return nil, t.giveUp(ctx, req, n, lastStatus, err, ReasonCanceled, timeline)
		}
		prevDelay = dec.Delay
	}
}

// drainDeadline is when the drain of a discarded body is cut off: at wake,
// but no sooner than minDrainWindow after the response (now), unless that
// passes the MaxElapsed horizon.
func drainDeadline(now, wake, first time.Time, maxElapsed time.Duration) time.Time {
	lo := now.Add(minDrainWindow)
	if maxElapsed > 0 {
		if h := first.Add(maxElapsed); lo.After(h) {
			lo = h
		}
	}
	if lo.After(wake) {
		return lo
	}
	return wake
}

// giveUp builds the GiveUpError for a stop that happens between attempts
// and logs it.
func (t *Transport) giveUp(ctx context.Context, req *http.Request, attempts, lastStatus int, err error, reason Reason, tl Timeline) error {
	if t.logger != nil {
		t.logger.LogAttrs(ctx, slog.LevelWarn, "retryclient: giving up",
			slog.String("method", req.Method),
			slog.String("url", req.URL.Redacted()),
			slog.Int("attempts", attempts),
			slog.String("error", err.Error()),
			slog.String("reason", string(reason)))
	}
	return &GiveUpError{Attempts: attempts, LastStatus: lastStatus, LastErr: err, Reason: reason, Timeline: tl}
}

// log logs a retry at Info, and a stop after a failure at Warn.
func (t *Transport) log(ctx context.Context, a Attempt, failed bool) {
	if !a.Retry && !failed {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", a.Method),
		slog.String("url", a.URL),
		slog.Int("attempt", a.Number),
	}
	if a.Err != nil {
		attrs = append(attrs, slog.String("error", a.Err.Error()), slog.String("class", string(a.ErrClass)))
	} else {
		attrs = append(attrs, slog.Int("status", a.Status))
	}
	attrs = append(attrs, slog.String("reason", string(a.Reason)))
	if a.Retry {
		attrs = append(attrs, slog.Duration("delay", a.Delay))
		t.logger.LogAttrs(ctx, slog.LevelInfo, "retryclient: retrying", attrs...)
		return
	}
	t.logger.LogAttrs(ctx, slog.LevelWarn, "retryclient: giving up", attrs...)
}

// errNilResponse replaces the (nil, nil) of a broken wrapped RoundTripper.
var errNilResponse = errors.New("retryclient: the wrapped RoundTripper returned a nil response and a nil error")

// errRequestCanceled is returned when Request.Cancel interrupts a sleep.
var errRequestCanceled = errors.New("retryclient: request canceled through Request.Cancel")

// sleep waits d, or returns as soon as ctx is done or cancel is closed.
func sleep(ctx context.Context, cancel <-chan struct{}, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if closed(cancel) {
		return errRequestCanceled
	}
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-cancel:
		return errRequestCanceled
	case <-timer.C:
		return nil
	}
}

// closed reports whether ch is closed; a nil ch is never closed.
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// closeBody closes req.Body, as a RoundTripper must even when it fails.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
