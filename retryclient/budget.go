package retryclient

import "sync"

// Budget is a retry token bucket shared across requests and Transports, with
// the semantics of gRPC retry throttling: it starts full at maxTokens; every
// attempt that fails in a retryable way takes one token (down to 0); every
// successful attempt gives back tokenRatio tokens (up to maxTokens); retries
// are allowed only while more than maxTokens/2 tokens remain. First attempts
// are never refused. A Budget is safe for concurrent use.
type Budget struct {
	mu     sync.Mutex
	max    float64
	ratio  float64
	tokens float64
}

// NewBudget returns a full budget. maxTokens below 1 is raised to 1 and a
// negative tokenRatio is taken as 0 (tokens never come back).
func NewBudget(maxTokens, tokenRatio float64) *Budget {
	if !(maxTokens >= 1) {
		maxTokens = 1
	}
	if !(tokenRatio >= 0) {
		tokenRatio = 0
	}
	return &Budget{max: maxTokens, ratio: tokenRatio, tokens: maxTokens}
}

// Tokens returns the tokens left.
func (b *Budget) Tokens() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens
}

// RecordFailure takes one token for an attempt that failed in a retryable
// way, then reports whether a retry is still allowed.
func (b *Budget) RecordFailure() (retryAllowed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens--
	if b.tokens < 0 {
		b.tokens = 0
	}
	return b.tokens > b.max/2
}

// RecordSuccess gives back tokenRatio tokens for a successful attempt.
func (b *Budget) RecordSuccess() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens += b.ratio
	if b.tokens > b.max {
		b.tokens = b.max
	}
}

// AllowRetry reports whether more than half of the tokens remain.
func (b *Budget) AllowRetry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens > b.max/2
}

// Apply records the outcome o of an attempt decided as d under p, and
// returns d, changed to stop with [ReasonBudgetExhausted] when d retries but
// no retry is left. It is what the Transport does after [Policy.Decide], for
// simulators that call Decide themselves: a retryable failure (a status in
// p.RetryStatuses, or an error of a class p retries) takes a token whether
// or not it is retried; a [ReasonSuccess] gives tokenRatio back; other
// outcomes (a 404, a cancellation) leave the tokens alone. A nil Budget
// returns d unchanged.
func (b *Budget) Apply(p Policy, o Outcome, d Decision) Decision {
	if b == nil {
		return d
	}
	switch {
	case p.failure(o, d):
		if !b.RecordFailure() && d.Retry {
			d.Retry, d.Delay, d.Reason = false, 0, ReasonBudgetExhausted
		}
	case d.Reason == ReasonSuccess:
		b.RecordSuccess()
	}
	return d
}
