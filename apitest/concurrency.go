package apitest

import (
	"errors"
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/internal/words"
)

// HaveRetriedAtMostConcurrently succeeds when the server never served more
// than n retries at once: calls whose attempt header (see
// faultinject.AttemptHeader) says 2 or more, each from its Start to its End
// (see [faultinject.PeakConcurrency]). It checks that a burst of failures
// became a bounded trickle of retries, as a [retryclient.RetryLimiter]
// makes it. It needs the server's journal and a client that sends the
// attempt header (a Fixture's client does).
func HaveRetriedAtMostConcurrently(n int) types.GomegaMatcher {
	return retriedAtMostConcurrentlyCheck(n).matcher()
}

// CheckRetriedAtMostConcurrently is [HaveRetriedAtMostConcurrently] for
// plain go test: nil, or a [*CheckError] saying how many retries the
// server served at once.
func CheckRetriedAtMostConcurrently(actual any, n int) error {
	return retriedAtMostConcurrentlyCheck(n).run(actual)
}

func retriedAtMostConcurrentlyCheck(n int) check {
	peak := func(ev evidence) int {
		var retries []faultinject.Call
		for _, c := range ev.calls {
			if c.Attempt > 1 {
				retries = append(retries, c)
			}
		}
		return faultinject.PeakConcurrency(retries)
	}
	return check{
		desc: fmt.Sprintf("have at most %s in flight at once", words.Plural(n, "retry")),
		test: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveRetriedAtMostConcurrently needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			stamped := false
			for _, c := range ev.calls {
				stamped = stamped || c.Attempt > 0
			}
			if len(ev.calls) > 0 && !stamped {
				return "", errors.New("apitest: HaveRetriedAtMostConcurrently tells retries by the attempt header, which no call carried (use retryclient.WithAttemptHeader(faultinject.AttemptHeader))")
			}
			if p := peak(ev); p > n {
				return fmt.Sprintf("the server served %d retries at once", p), nil
			}
			return "", nil
		},
		final: func(ev evidence) bool { return peak(ev) > n },
	}
}
