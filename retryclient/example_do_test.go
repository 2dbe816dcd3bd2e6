package retryclient_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// errDeadlock stands for a database driver's "deadlock detected, retry the
// transaction" error; errNoRows for a permanent one.
var (
	errDeadlock = errors.New("deadlock detected")
	errNoRows   = errors.New("no rows in result set")
)

// Do retries any call, here a database query, under the same Policy (and
// Decide) as the HTTP Transport. A classifier tells the driver's transient
// errors from the others; an error can also be marked where it is made with
// retryclient.Transient, retryclient.RetryAfter or retryclient.Permanent.
func ExampleDo() {
	r := retryclient.NewRetrier(
		retryclient.DefaultPolicy().
			WithBackoff(retryclient.ConstantBackoff(10*time.Millisecond)).
			WithAttemptTimeout(time.Second),
		retryclient.WithClassifier(func(err error) retryclient.ErrorClass {
			if errors.Is(err, errDeadlock) {
				return retryclient.ClassTransient
			}
			return retryclient.ClassNone // let retryclient.Classify decide
		}),
	)

	tries := 0
	balance, err := retryclient.Do(context.Background(), r, "SELECT balance", func(ctx context.Context) (int, error) {
		tries++
		if tries < 3 {
			return 0, fmt.Errorf("query: %w", errDeadlock)
		}
		return 42, nil
	})
	fmt.Println(balance, err, "after", tries, "tries")

	_, err = retryclient.Do(context.Background(), r, "SELECT owner", func(ctx context.Context) (string, error) {
		return "", retryclient.Permanent(errNoRows)
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, errNoRows))
	// Output:
	// 42 <nil> after 3 tries
	// retryclient: gave up after 1 attempt: no rows in result set (error-not-retryable)
	// true
}
