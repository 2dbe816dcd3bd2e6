package apitest

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/gomega/types"
)

// HaveRetriedItems succeeds when exactly the given items of a bulk route
// (see faultinject.Bulk) were sent more than once: the client sent the
// failed items again, and only them. With no ids it checks that no item was
// sent twice. It counts the items of every bulk call in the journal, so
// match it on a journal of one batch (two batches that both carry "a" look
// like a retry of "a"). It needs the server's journal.
func HaveRetriedItems(ids ...string) types.GomegaMatcher { return retriedItemsCheck(ids).matcher() }

// CheckRetriedItems is [HaveRetriedItems] for plain go test: nil, or a
// [*CheckError] listing the items sent more than once.
func CheckRetriedItems(actual any, ids ...string) error { return retriedItemsCheck(ids).run(actual) }

func retriedItemsCheck(ids []string) check {
	want := slices.Sorted(slices.Values(ids))
	desc := "send no bulk item more than once"
	if len(want) > 0 {
		desc = "send again exactly the bulk items " + strings.Join(want, ", ")
	}
	return check{
		desc: desc,
		test: func(ev evidence) (string, error) {
			if !ev.haveJrn {
				return "", errors.New("apitest: HaveRetriedItems needs the server's journal: match a *Fixture or a *faultinject.Journal")
			}
			sends := map[string]int{}
			bulk := false
			for _, c := range ev.calls {
				if c.Items != nil {
					bulk = true
				}
				for _, id := range c.Items {
					sends[id]++
				}
			}
			if !bulk {
				return "", errors.New("apitest: HaveRetriedItems: no call carried bulk items (is the route a faultinject bulk route?)")
			}
			var got []string
			for id, n := range sends {
				if n > 1 {
					got = append(got, id)
				}
			}
			slices.Sort(got)
			if slices.Equal(got, want) {
				return "", nil
			}
			var parts []string
			for _, id := range got {
				parts = append(parts, fmt.Sprintf("%s (%d times)", id, sends[id]))
			}
			if len(parts) == 0 {
				return "no item was sent twice", nil
			}
			return "it sent again " + strings.Join(parts, ", "), nil
		},
	}
}
