package retryclient_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

// A GiveUpError's timeline, or any Timeline, encodes attempt by attempt.
func ExampleAttempt_MarshalJSON() {
	tl := retryclient.Timeline{
		{Number: 1, Status: 503, Retry: true, Delay: 100 * time.Millisecond, Reason: retryclient.ReasonRetryableStatus},
		{Number: 2, Offset: 100 * time.Millisecond, Status: 200, Reason: retryclient.ReasonSuccess},
	}
	b, _ := json.Marshal(tl)
	fmt.Println(string(b))
	// Output:
	// [{"number":1,"offset":"0s","duration":"0s","status":503,"retry":true,"delay":"100ms","reason":"retryable-status"},{"number":2,"offset":"100ms","duration":"0s","status":200,"retry":false,"reason":"success"}]
}
