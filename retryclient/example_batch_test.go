package retryclient_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// DoBatch sends a batch through a bulk API in rounds: the items that
// succeed are kept, the items that fail transiently are sent again, and the
// ones that fail for good are finished at once.
func ExampleDoBatch() {
	r := retryclient.NewRetrier(retryclient.DefaultPolicy().
		WithBackoff(retryclient.ConstantBackoff(10 * time.Millisecond)))

	round := 0
	bulkIndex := func(ctx context.Context, docs []string) ([]string, []error, error) {
		round++
		fmt.Printf("round %d sends %v\n", round, docs)
		ids := make([]string, len(docs))
		errs := make([]error, len(docs))
		for i, doc := range docs {
			switch {
			case doc == "bad":
				errs[i] = retryclient.Permanent(errors.New("mapping error"))
			case doc == "busy" && round == 1:
				errs[i] = &retryclient.StatusError{Status: 429} // a shard was busy
			default:
				ids[i] = "id-" + doc
			}
		}
		return ids, errs, nil
	}

	results, err := retryclient.DoBatch(context.Background(), r, "bulk-index", []string{"a", "busy", "bad"}, bulkIndex)
	fmt.Println("batch error:", err)
	for _, res := range results {
		fmt.Printf("%q %v after %d attempts\n", res.Value, res.Err, res.Attempts)
	}
	// Output:
	// round 1 sends [a busy bad]
	// round 2 sends [busy]
	// batch error: <nil>
	// "id-a" <nil> after 1 attempts
	// "id-busy" <nil> after 2 attempts
	// "" mapping error after 1 attempts
}
