package retryclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// BatchCall makes one round of a batch: it sends the pending items, in one
// bulk request or one request each, and reports each item's value or error
// (errs[i] for pending[i]; nil means it succeeded). An err fails the whole
// round: every pending item failed with it. values and errs, when not nil,
// must have len(pending) elements.
type BatchCall[I, T any] func(ctx context.Context, pending []I) (values []T, errs []error, err error)

// ItemResult is the outcome of one item of a batch run by [DoBatch]: its
// value, or its last error (a [*GiveUpError] when the batch stopped
// retrying it), and how many rounds sent it.
type ItemResult[T any] struct {
	Value    T
	Err      error
	Attempts int
}

// DoBatch sends items through call in rounds, as bulk APIs are used:
// items that succeed are kept, items that fail in a way the policy retries
// are sent again in the next round, and items that fail for good are
// finished. It returns one ItemResult per item, in order, and a non-nil
// error only when ctx ended the batch or r is invalid (items then left
// pending carry that error too).
//
// A round is one attempt of the batch under r's Policy, decided by
// [Policy.Decide] as in [Do]: every failed item is judged as Do judges an
// error; after a round the policy's limits (MaxAttempts, MaxElapsed), its
// backoff and the longest wait asked for by a failed item (see [RetryAfter]
// and [StatusError]) decide whether and when the next round starts. The
// budget, breaker, observer and logger see one attempt per round.
//
// Wrap a function of one item with [EachItem] to send one request per item.
func DoBatch[I, T any](ctx context.Context, r *Retrier, op string, items []I, call BatchCall[I, T]) ([]ItemResult[T], error) {
	results := make([]ItemResult[T], len(items))
	if err := r.t.err; err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results, err
	}
	if len(items) == 0 {
		return results, nil
	}
	outer := ctx
	pending := make([]int, len(items)) // indexes of the items still to send
	for i := range pending {
		pending[i] = i
	}
	_, err := Do(ctx, r, op, func(ctx context.Context) (struct{}, error) {
		batch := make([]I, len(pending))
		for j, i := range pending {
			batch[j] = items[i]
			results[i].Attempts++
		}
		values, errs, err := call(ctx, batch)
		if err == nil && (values != nil && len(values) != len(batch) || errs != nil && len(errs) != len(batch)) {
			err = Permanent(fmt.Errorf("retryclient: DoBatch %s: the call returned %d values and %d errors for %d items",
				op, len(values), len(errs), len(batch)))
		}
		var (
			still []int
			judge error // the first retryable failure decides the round
			wait  time.Duration
		)
		for j, i := range pending {
			e := err
			if e == nil && errs != nil {
				e = errs[j]
			}
			results[i].Err = e
			if e == nil {
				if values != nil {
					results[i].Value = values[j]
				}
				continue
			}
			if !r.t.retryableCallError(outer, e) {
				continue // finished: the error is final for this item
			}
			still = append(still, i)
			if judge == nil {
				judge = e
			}
			wait = max(wait, requestedWait(e))
		}
		pending = still
		if judge == nil {
			return struct{}{}, nil
		}
		// The longest wait any item asked for holds for the whole round.
		var se *StatusError
		switch {
		case errors.As(judge, &se):
			judge = &StatusError{Status: se.Status, RetryAfter: wait}
		case wait > 0:
			judge = RetryAfter(judge, wait)
		}
		return struct{}{}, judge
	})
	if err == nil {
		return results, nil
	}
	var gu *GiveUpError
	if !errors.As(err, &gu) {
		for _, i := range pending {
			results[i].Err = err
		}
		return results, err
	}
	for _, i := range pending {
		last := results[i].Err
		if last == nil || gu.Reason == ReasonCanceled {
			// Never sent (the breaker refused the first round), or
			// canceled: the error that stopped the batch is the item's.
			last = gu.LastErr
		}
		results[i].Err = &GiveUpError{Attempts: results[i].Attempts, LastErr: last, Reason: gu.Reason, Timeline: gu.Timeline}
	}
	if gu.Reason == ReasonCanceled {
		if cerr := ctx.Err(); cerr != nil {
			return results, cerr
		}
		return results, err
	}
	return results, nil
}

// retryableCallError reports whether Do would retry a call that failed
// with err, ctx being the caller's (a caller cancellation counts: Do stops
// on it; an attempt's own timeout is a retried timeout). A status the
// policy does not retry, and an error class it does not, are final.
func (t *Transport) retryableCallError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	var m *markedError
	if errors.As(err, &m) {
		return t.policy.retryableClass(m.class)
	}
	var se *StatusError
	if errors.As(err, &se) {
		return t.policy.retryableStatus(se.Status)
	}
	return t.policy.retryableClass(t.classify(err))
}

// requestedWait is the wait an item's error asks for, if any.
func requestedWait(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	var m *markedError
	if errors.As(err, &m) {
		return m.after
	}
	return 0
}

// EachItem turns a call of one item into a [BatchCall] that sends the
// pending items one request each, concurrently, and waits for them all.
func EachItem[I, T any](call func(ctx context.Context, item I) (T, error)) BatchCall[I, T] {
	return func(ctx context.Context, pending []I) ([]T, []error, error) {
		values := make([]T, len(pending))
		errs := make([]error, len(pending))
		var wg sync.WaitGroup
		for j, item := range pending {
			wg.Go(func() { values[j], errs[j] = call(ctx, item) })
		}
		wg.Wait()
		return values, errs, nil
	}
}
