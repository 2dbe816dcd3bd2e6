package retryclient

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestAttemptMarshalJSON(t *testing.T) {
	start := time.Date(2000, 1, 1, 0, 0, 1, 500, time.UTC)
	cases := []struct {
		name string
		a    Attempt
		want string
	}{
		{"zero", Attempt{}, `{"number":0,"offset":"0s","duration":"0s","retry":false,"reason":""}`},
		{"a retried status with Retry-After", Attempt{
			RequestID: 7, Number: 2, Method: "POST", URL: "http://api.test/orders", Start: start, Offset: 1500 * time.Millisecond,
			Duration: 20 * time.Millisecond, Status: 429, RetryAfter: 2 * time.Second, RetryAfterSeen: true, RetryAfterRaw: "2",
			IdempotencyKey: "k1", Retry: true, Delay: 2 * time.Second, Reason: ReasonRetryableStatus,
		}, `{"request_id":7,"number":2,"method":"POST","url":"http://api.test/orders","start":"2000-01-01T00:00:01.0000005Z",` +
			`"offset":"1.5s","duration":"20ms","status":429,"retry_after":"2s","retry_after_header":"2","idempotency_key":"k1",` +
			`"retry":true,"delay":"2s","reason":"retryable-status"}`},
		// An error is an interface json.Marshal would render as {}: the
		// JSON form carries its text.
		{"an error", Attempt{Number: 3, Duration: time.Second, Err: errors.New("context deadline exceeded"), ErrClass: ClassTimeout, Reason: ReasonMaxAttempts},
			`{"number":3,"offset":"0s","duration":"1s","error":"context deadline exceeded","error_class":"timeout","retry":false,"reason":"max-attempts"}`},
		{"an ignored Retry-After and a delay not taken", Attempt{Number: 1, Status: 503, RetryAfterRaw: "soon", Delay: time.Second, Reason: ReasonMaxAttempts},
			`{"number":1,"offset":"0s","duration":"0s","status":503,"retry_after_header":"soon","retry":false,"reason":"max-attempts"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.a)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
