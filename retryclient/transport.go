package retryclient

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
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
	classifier      func(error) ErrorClass
	retryLimiter    *RetryLimiter
	adaptive        *AdaptiveLimiter
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
	p.RetryMethods = slices.Clone(p.RetryMethods)
	t := &Transport{next: next, policy: p, err: p.Validate()}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	if t.budget == nil && p.Budget.Tokens > 0 {
		t.budget = NewBudget(p.Budget.Tokens, p.Budget.Ratio)
	}
	t.plain = t.observer == nil && t.logger == nil && t.budget == nil && t.breaker == nil && t.retryLimiter == nil && t.adaptive == nil
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
	p.RetryMethods = slices.Clone(p.RetryMethods)
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
	//lint:ignore SA1019 http.Client still closes Request.Cancel when its Timeout expires.
	lr := logicalRequest{t: t, p: &t.policy, req: req, ctx: req.Context(), cancel: req.Cancel}
	lr.identify()
	if err := lr.prepareBody(); err != nil {
		return nil, err
	}
	if !t.plain {
		lr.id = t.requests.Add(1)
	}
	for n := 1; ; n++ {
		resp, err, final := lr.attempt(n)
		if final {
			lr.end()
			return resp, err
		}
	}
}

// logicalRequest is the state of one logical request (a RoundTrip, or a
// call run by [Do]) across its attempts. It lives on its caller's stack and
// is never shared.
type logicalRequest struct {
	t      *Transport
	p      *Policy
	req    *http.Request // nil for a call run by Do
	ctx    context.Context
	cancel <-chan struct{} // the request's Cancel channel, or nil
	op     string          // the name of a call run by Do

	method  string
	idemKey string
	addKey  bool // idemKey was generated and is stamped on every attempt

	// Body replay: attempt 1 sends req.Body itself when origBody is set;
	// every other attempt (and attempt 1 of a buffered body) sends a body
	// from getBody.
	getBody  func() (io.ReadCloser, error)
	origBody bool

	id         uint64 // RequestID; 0 until a record needs one
	slot       bool   // holds a RetryLimiter slot, released when the request ends
	first      time.Time
	prevDelay  time.Duration
	lastStatus int
	timeline   Timeline
}

// identify settles the request's method and Idempotency-Key, generating a
// key for a POST or PATCH when the Transport is asked to.
func (lr *logicalRequest) identify() {
	lr.method = lr.req.Method
	if lr.method == "" {
		lr.method = http.MethodGet
	}
	lr.idemKey = headerValue(lr.req.Header, IdempotencyKeyHeader)
	if lr.idemKey == "" && lr.t.idempotencyKeys && (lr.method == http.MethodPost || lr.method == http.MethodPatch) {
		lr.idemKey = rand.Text()
		lr.addKey = true
	}
}

// prepareBody makes the body replayable: through req.GetBody, or by
// buffering a body that may be retried. Only a request that may be retried
// is buffered.
func (lr *logicalRequest) prepareBody() error {
	req, p := lr.req, lr.p
	lr.getBody = req.GetBody
	lr.origBody = req.Body != nil && req.Body != http.NoBody
	replayable := p.MaxAttempts > 1 && (p.retryableMethod(lr.method) || lr.idemKey != "")
	switch {
	case lr.origBody && lr.getBody == nil && replayable:
		//lint:ignore SA1019 http.Client still closes Request.Cancel when its Timeout expires.
		buf, err := bufferBody(lr.ctx, req.Cancel, req.Body, p.MaxBufferedBody)
		if err != nil {
			var gu *GiveUpError
			if errors.As(err, &gu) && lr.t.logger != nil {
				lr.stop(0, gu.LastErr, gu.Reason)
			}
			return err
		}
		lr.getBody = replayBody(buf)
		lr.origBody = false
	case !lr.origBody:
		lr.getBody = nil
	}
	return nil
}

// attempt makes attempt n: admission by the breaker, the request, the
// decision, the discard of a response that is not returned, the record and
// the sleep before the next attempt. final reports that resp and err are
// RoundTrip's result.
func (lr *logicalRequest) attempt(n int) (resp *http.Response, err error, final bool) {
	t, p := lr.t, lr.p
	// Pace and build the attempt before the breaker admits it, so that the
	// breaker only ever hears of attempts that were sent.
	if err := lr.pace(); err != nil {
		if lr.origBody && n == 1 {
			closeBody(lr.req)
		}
		return nil, lr.stop(n-1, err, ReasonCanceled), true
	}
	attemptCtx, cancel := lr.attemptContext()
	areq, err := lr.newAttempt(n, attemptCtx, cancel)
	if err != nil {
		if cancel != nil {
			cancel()
		}
		return nil, lr.stop(n-1, err, ReasonBodyNotReplayable), true
	}
	done, err := lr.admit()
	if err != nil {
		if cancel != nil {
			cancel()
		}
		if areq.Body != nil && (n > 1 || !lr.origBody) {
			areq.Body.Close()
		} else if lr.origBody && n == 1 {
			closeBody(lr.req)
		}
		return nil, lr.stop(n-1, err, ReasonCircuitOpen), true
	}

	start := time.Now()
	if n == 1 {
		lr.first = start
	}
	resp, err = t.base().RoundTrip(areq)
	if resp == nil && err == nil {
		err = errNilResponse
	}
	if err == nil && t.plain && !p.retryableStatus(resp.StatusCode) {
		// Fast path: a final response with nothing to record or account.
		return deliver(resp, cancel), nil, true
	}
	now := time.Now()

	o := lr.outcome(n, now, resp, err, attemptCtx, cancel != nil)
	if t.adaptive != nil && o.Err == nil {
		t.adaptive.Observe(now, throttled(o.Status, o.RetryAfter))
	}
	if o.Err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		resp, err = nil, o.Err
	}
	dec := lr.takeSlot(lr.decide(o, done), now)
	if dec.Retry && resp != nil {
		dec = lr.discard(resp, dec, now)
		resp = nil
	}
	lr.record(n, start, now, o, err, dec, resp == nil)

	if !dec.Retry {
		if resp != nil {
			return deliver(resp, cancel), nil, true
		}
		if cancel != nil {
			cancel()
		}
		return nil, &GiveUpError{Attempts: n, LastStatus: lr.lastStatus, LastErr: err, Reason: dec.Reason, Timeline: lr.timeline}, true
	}

	if cancel != nil {
		cancel()
	}
	if err := lr.sleep(n, now, dec); err != nil {
		return nil, err, true
	}
	return nil, nil, false
}

// heldSlot marks the context of an attempt made while its request holds a
// slot of the RetryLimiter, so that a request nested in it (a Transport
// under a Retrier sharing the limiter) does not wait for a second slot
// the outer one would never give back.
type heldSlot struct{ l *RetryLimiter }

// attemptContext returns the context of the next attempt: the request's,
// bounded by AttemptTimeout, and marked when the request holds a slot.
func (lr *logicalRequest) attemptContext() (context.Context, context.CancelFunc) {
	ctx := lr.ctx
	if lr.slot {
		ctx = context.WithValue(ctx, heldSlot{lr.t.retryLimiter}, true)
	}
	if lr.p.AttemptTimeout > 0 {
		return context.WithTimeout(ctx, lr.p.AttemptTimeout)
	}
	return ctx, nil
}

// takeSlot takes a RetryLimiter slot for the request's first retry. A
// wait for the slot that outlasts the delay makes Delay the real gap; a
// wait cut short by the caller or past the MaxElapsed horizon stops. A
// request made inside an attempt of a request that holds a slot of the
// same limiter retries under that slot.
func (lr *logicalRequest) takeSlot(dec Decision, now time.Time) Decision {
	l := lr.t.retryLimiter
	if l == nil || !dec.Retry || lr.slot || lr.ctx.Value(heldSlot{l}) != nil {
		return dec
	}
	var horizon time.Time
	if lr.p.MaxElapsed > 0 {
		horizon = lr.first.Add(lr.p.MaxElapsed)
	}
	if !l.acquire(lr.ctx, lr.cancel, horizon) {
		dec.Retry, dec.Delay = false, 0
		dec.Reason = ReasonMaxElapsed
		if lr.ctx.Err() != nil || closed(lr.cancel) {
			dec.Reason = ReasonCanceled
		}
		return dec
	}
	lr.slot = true
	if late := time.Now(); late.After(now.Add(dec.Delay)) {
		dec.Delay = late.Sub(now)
	}
	return dec
}

// end releases what the request holds when it ends.
func (lr *logicalRequest) end() {
	if lr.slot {
		lr.t.retryLimiter.release()
	}
}

// url is what records and logs show for the request: its redacted URL, or
// the name of a call run by Do. It is built only when needed.
func (lr *logicalRequest) url() string {
	if lr.req == nil {
		return lr.op
	}
	return lr.req.URL.Redacted()
}

// pace waits for the AdaptiveLimiter's send rate, if any.
func (lr *logicalRequest) pace() error {
	if lr.t.adaptive == nil {
		return nil
	}
	return lr.t.adaptive.wait(lr.ctx, lr.cancel)
}

// admit asks the breaker, if any, whether an attempt may start; done
// reports the attempt's result to it.
func (lr *logicalRequest) admit() (done func(error), err error) {
	if lr.t.breaker == nil {
		return nil, nil
	}
	return lr.t.breaker.Allow()
}

// sleep waits out the delay chosen after attempt n, which ended at now. It
// returns the error that ends the request when the caller cancels first.
func (lr *logicalRequest) sleep(n int, now time.Time, dec Decision) error {
	if err := sleep(lr.ctx, lr.cancel, time.Until(now.Add(dec.Delay))); err != nil {
		return lr.stop(n, err, ReasonCanceled)
	}
	lr.prevDelay = dec.Delay
	return nil
}

// newAttempt returns the request for attempt n: req itself when nothing
// differs, a shallow copy with the attempt's context and body, or a clone
// when headers are stamped (Idempotency-Key, attempt header).
func (lr *logicalRequest) newAttempt(n int, attemptCtx context.Context, cancel context.CancelFunc) (*http.Request, error) {
	req, areq := lr.req, lr.req
	switch {
	case lr.addKey || lr.t.attemptHeader != "":
		areq = req.Clone(attemptCtx)
		if areq.Header == nil {
			areq.Header = make(http.Header)
		}
		if lr.addKey {
			areq.Header.Set(IdempotencyKeyHeader, lr.idemKey)
		}
		if lr.t.attemptHeader != "" {
			areq.Header.Set(lr.t.attemptHeader, strconv.Itoa(n))
		}
	case cancel != nil || n > 1 || lr.getBody != nil && !lr.origBody:
		areq = req.WithContext(attemptCtx)
	}
	if lr.getBody != nil && (n > 1 || !lr.origBody) {
		b, err := lr.getBody()
		if err != nil {
			return nil, err
		}
		areq.Body = b
	}
	return areq, nil
}

// outcome classifies what attempt n got. An error is classified as the
// caller's cancellation when the caller's context (or Request.Cancel) is
// done, as an attempt timeout when only the attempt's context expired, and
// by [Classify] otherwise.
func (lr *logicalRequest) outcome(n int, now time.Time, resp *http.Response, err error, attemptCtx context.Context, timed bool) Outcome {
	o := Outcome{
		Attempt:           n,
		Method:            lr.method,
		HasIdempotencyKey: lr.idemKey != "",
		PrevDelay:         lr.prevDelay,
		Now:               now,
		Elapsed:           now.Sub(lr.first),
		Rand:              lr.t.rand,
	}
	if err == nil {
		o.Status = resp.StatusCode
		o.RetryAfter = headerValue(resp.Header, "Retry-After")
		return o
	}
	switch {
	case lr.ctx.Err() != nil:
		o.Class = ClassCanceled
		if !errors.Is(err, lr.ctx.Err()) {
			err = lr.ctx.Err()
		}
	case closed(lr.cancel):
		o.Class = ClassCanceled
	case timed && attemptCtx.Err() != nil:
		o.Class = ClassTimeout
	default:
		o.Class = lr.t.classify(err)
	}
	o.Err = err
	return o
}

// decide asks the policy, then the budget, and reports the attempt's
// result to the breaker.
func (lr *logicalRequest) decide(o Outcome, done func(error)) Decision {
	p := lr.p
	dec := p.Decide(o)
	if dec.Retry && lr.origBody && lr.getBody == nil {
		dec.Retry, dec.Delay, dec.Reason = false, 0, ReasonBodyNotReplayable
	}
	failure := p.failure(o, dec)
	if lr.t.budget != nil {
		dec = lr.t.budget.Apply(*p, o, dec)
	}
	if done != nil {
		switch {
		case o.Err != nil:
			done(o.Err)
		case failure:
			done(&StatusError{Status: o.Status})
		default:
			done(nil)
		}
	}
	return dec
}

// discard drains and closes the body of a response that a retry replaces,
// and may turn the retry into a stop.
// The next attempt starts at now+Delay however long the body takes: the
// drain is cut off there (or after minDrainWindow for a tiny delay, never
// past MaxElapsed). Only a body that ignores Close, or the drain window,
// can overrun that wake time; then Delay records the real gap, and an
// overrun past the MaxElapsed horizon stops.
func (lr *logicalRequest) discard(resp *http.Response, dec Decision, now time.Time) Decision {
	lr.lastStatus = resp.StatusCode
	wake := now.Add(dec.Delay)
	cut := drainUntil(resp.Body, drainDeadline(now, wake, lr.first, lr.p.MaxElapsed))
	if late := time.Now(); cut && late.After(wake) {
		if lr.p.MaxElapsed > 0 && late.Sub(lr.first) > lr.p.MaxElapsed {
			dec.Retry, dec.Delay, dec.Reason = false, 0, ReasonMaxElapsed
		} else {
			dec.Delay = late.Sub(now)
		}
	}
	return dec
}

// record builds attempt n's [Attempt] when anything needs it (observer,
// logger, or the timeline of a retry or a give-up without a response) and
// hands it out.
func (lr *logicalRequest) record(n int, start, now time.Time, o Outcome, err error, dec Decision, noResponse bool) {
	t := lr.t
	if t.observer == nil && t.logger == nil && !dec.Retry && !noResponse {
		return
	}
	if lr.id == 0 {
		lr.id = t.requests.Add(1)
	}
	a := Attempt{
		RequestID:      lr.id,
		Number:         n,
		Method:         lr.method,
		URL:            lr.url(),
		Start:          start,
		Offset:         start.Sub(lr.first),
		Duration:       now.Sub(start),
		Status:         o.Status,
		Err:            err,
		ErrClass:       dec.Class,
		RetryAfter:     dec.RetryAfter,
		RetryAfterSeen: dec.RetryAfterSeen,
		RetryAfterRaw:  o.RetryAfter,
		IdempotencyKey: lr.idemKey,
		Retry:          dec.Retry,
		Delay:          dec.Delay,
		Reason:         dec.Reason,
	}
	if dec.Retry || noResponse {
		lr.timeline = append(lr.timeline, a)
	}
	if t.observer != nil {
		t.observer(a)
	}
	if t.logger != nil {
		t.log(lr.ctx, a, lr.p.failure(o, dec) || err != nil)
	}
}

// stop ends the request between attempts (breaker open, body not
// replayable, canceled sleep) after the given number of attempts.
func (lr *logicalRequest) stop(attempts int, err error, reason Reason) error {
	return lr.t.giveUp(lr.ctx, lr.method, lr.url(), attempts, lr.lastStatus, err, reason, lr.timeline)
}

// deliver returns resp to the caller; with a per-attempt context (cancel
// not nil), closing the body releases it.
func deliver(resp *http.Response, cancel context.CancelFunc) *http.Response {
	if cancel == nil {
		return resp
	}
	if resp.Body == nil {
		cancel()
	} else {
		resp.Body = wrapCancel(resp.Body, cancel)
	}
	return resp
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
func (t *Transport) giveUp(ctx context.Context, method, url string, attempts, lastStatus int, err error, reason Reason, tl Timeline) error {
	if t.logger != nil {
		t.logger.LogAttrs(ctx, slog.LevelWarn, "retryclient: giving up",
			slog.String("method", method),
			slog.String("url", url),
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
