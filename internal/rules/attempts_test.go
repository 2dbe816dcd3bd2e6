package rules

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/retrylab/retrylab/retryclient"
)

func TestAttemptWaits(t *testing.T) {
	ms := time.Millisecond
	tl := retryclient.Timeline{
		{RequestID: 1, Number: 1, Retry: true, Delay: 100 * ms},
		{RequestID: 2, Number: 1, Retry: true, Delay: 50 * ms, RetryAfterSeen: true}, // interleaved request
		{RequestID: 1, Number: 2, Retry: true, Delay: 200 * ms},
		{RequestID: 2, Number: 2},
		{RequestID: 1, Number: 3, Retry: true, Delay: 400 * ms}, // no attempt followed: not a wait
	}
	waits, ra := AttemptWaits(tl)
	if want := [][]time.Duration{{100 * ms, 200 * ms}, {50 * ms}}; !reflect.DeepEqual(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if want := [][]bool{{false, false}, {true}}; !reflect.DeepEqual(ra, want) {
		t.Errorf("after Retry-After %v, want %v", ra, want)
	}
	if w, _ := AttemptWaits(nil); w != nil {
		t.Errorf("no attempts: waits %v, want none", w)
	}
}

func TestAttemptsNotRetried(t *testing.T) {
	cases := []struct {
		name    string
		tl      retryclient.Timeline
		wantErr string
	}{
		{"one attempt per request", retryclient.Timeline{{RequestID: 1, Number: 1}, {RequestID: 2, Number: 1}}, ""},
		{"a retry after a status", retryclient.Timeline{{Number: 1, Status: 503, Reason: retryclient.ReasonRetryableStatus}, {Number: 2}},
			"attempt #2 followed a 503 (retryable-status)"},
		{"a retry after an error", retryclient.Timeline{{Number: 1, Err: errors.New("boom"), ErrClass: retryclient.ClassConnection, Reason: retryclient.ReasonConnError}, {Number: 2}},
			"attempt #2 followed an error (connection) (connection-error)"},
		// Regression: a timeline whose first record was a retry (a
		// truncated one) indexed the attempt before it and panicked.
		{"a timeline starting at a retry does not panic", retryclient.Timeline{{Number: 2}},
			"attempt #2 has no attempt before it in the timeline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := AttemptsNotRetried(c.tl)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestAttemptsHonoredRetryAfter(t *testing.T) {
	s := time.Second
	cases := []struct {
		name    string
		tl      retryclient.Timeline
		wantErr string
	}{
		{"waited as asked", retryclient.Timeline{{Number: 1, RetryAfterSeen: true, RetryAfter: 2 * s, Retry: true, Delay: 2 * s}, {Number: 2}}, ""},
		{"waited longer", retryclient.Timeline{{Number: 1, RetryAfterSeen: true, RetryAfter: 2 * s, Retry: true, Delay: 3 * s}, {Number: 2}}, ""},
		{"gave up instead", retryclient.Timeline{{Number: 1, RetryAfterSeen: true, RetryAfter: time.Hour, Reason: retryclient.ReasonRetryAfterTooLong}}, ""},
		{"no Retry-After read", retryclient.Timeline{{Number: 1, Retry: true, Delay: 0}, {Number: 2}}, ""},
		{"waited too little", retryclient.Timeline{{Number: 1, RetryAfterSeen: true, RetryAfter: 3 * s, Retry: true, Delay: s}, {Number: 2}},
			"attempt #1 was answered with Retry-After 3s and the client waited only 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := AttemptsHonoredRetryAfter(c.tl)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}
