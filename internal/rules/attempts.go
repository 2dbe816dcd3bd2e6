package rules

import (
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// The checks below read what the client recorded (its [retryclient.Attempt]
// records) rather than what the server journaled: exact scheduled delays,
// in any mode.

// AttemptWaits returns the delays the client scheduled between attempts,
// one slice per logical request (attempts grouped by RequestID, in the
// order requests started). A delay counts only when another attempt of the
// same request followed it. afterRetryAfter marks the delays chosen after
// an answer carrying Retry-After.
func AttemptWaits(tl retryclient.Timeline) (waits [][]time.Duration, afterRetryAfter [][]bool) {
	index := map[uint64]int{}
	for i, a := range tl {
		r, ok := index[a.RequestID]
		if !ok {
			r = len(waits)
			index[a.RequestID] = r
			waits, afterRetryAfter = append(waits, nil), append(afterRetryAfter, nil)
		}
		if a.Retry && followed(tl, i) {
			waits[r] = append(waits[r], a.Delay)
			afterRetryAfter[r] = append(afterRetryAfter[r], a.RetryAfterSeen)
		}
	}
	return waits, afterRetryAfter
}

// followed reports whether an attempt of the same request comes after
// tl[i].
func followed(tl retryclient.Timeline, i int) bool {
	for _, a := range tl[i+1:] {
		if a.RequestID == tl[i].RequestID {
			return true
		}
	}
	return false
}

// AttemptsNotRetried checks that the client attempted no request more than
// once: no attempt numbered 2 or more.
func AttemptsNotRetried(tl retryclient.Timeline) error {
	for i, a := range tl {
		if a.Number > 1 && i > 0 {
			prev := tl[i-1]
			return fmt.Errorf("attempt #%d followed %s (%s)", a.Number, outcome(prev), prev.Reason)
		}
		if a.Number > 1 {
			return fmt.Errorf("attempt #%d has no attempt before it in the timeline", a.Number)
		}
	}
	return nil
}

// AttemptsHonoredRetryAfter checks that after every answer carrying a
// Retry-After the client read, it either stopped or waited at least as
// long as asked.
func AttemptsHonoredRetryAfter(tl retryclient.Timeline) error {
	for _, a := range tl {
		if a.RetryAfterSeen && a.Retry && a.Delay < a.RetryAfter {
			return fmt.Errorf("attempt #%d was answered with Retry-After %v and the client waited only %v", a.Number, a.RetryAfter, a.Delay)
		}
	}
	return nil
}

// outcome describes an attempt's result.
func outcome(a retryclient.Attempt) string {
	switch {
	case a.Err != nil:
		return fmt.Sprintf("an error (%s)", a.ErrClass)
	case a.Status != 0:
		return fmt.Sprintf("a %d", a.Status)
	}
	return "no response"
}
