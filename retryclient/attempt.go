package retryclient

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Attempt records one attempt of a logical request and the decision taken
// after it. The Transport hands one to the observer of [WithObserver] after
// every attempt, and [GiveUpError] carries them all. An Attempt is a plain
// value, safe to copy and share.
type Attempt struct {
	// RequestID groups the attempts of one logical request. IDs are unique
	// per Transport and count up from 1 in the order requests start (on a
	// Transport without observer, logger, budget or breaker: in the order
	// their first record is made).
	RequestID uint64
	// Number is the 1-based attempt number.
	Number int
	// Method and URL are the request's method and URL; for a call run by
	// [Do], Method is empty and URL is the call's name.
	Method, URL string
	// Start is when the attempt started; Offset is Start minus the first
	// attempt's Start (0 for attempt 1).
	Start  time.Time
	Offset time.Duration
	// Duration is how long the attempt took, up to the response headers or
	// the error.
	Duration time.Duration
	// Status is the response status, 0 if there was no response.
	Status int
	// Err is the attempt's error, nil if there was a response; ErrClass is
	// its class.
	Err      error
	ErrClass ErrorClass
	// RetryAfter is the parsed Retry-After header, valid when
	// RetryAfterSeen; RetryAfterRaw is the header as received.
	RetryAfter     time.Duration
	RetryAfterSeen bool
	RetryAfterRaw  string
	// IdempotencyKey is the Idempotency-Key sent with the attempt, if any.
	IdempotencyKey string
	// Retry, Delay and Reason are the decision taken after this attempt:
	// whether another attempt follows, after what wait, and why. Delay is
	// the wait from the end of this attempt (Start+Duration) to the start
	// of the next: the scheduled delay, or longer when draining the
	// discarded response body overran it (see [Transport]).
	Retry  bool
	Delay  time.Duration
	Reason Reason
}

// String renders the attempt on one line, for example
// "#2 +100ms GET /users → 503 · retry in 200ms (retryable-status)".
func (a Attempt) String() string {
	var b strings.Builder
	a.write(&b, a.Offset)
	return b.String()
}

func (a Attempt) write(b *strings.Builder, offset time.Duration) {
	b.WriteByte('#')
	b.WriteString(strconv.Itoa(a.Number))
	b.WriteString(" +")
	b.WriteString(offset.String())
	if a.Method != "" {
		b.WriteByte(' ')
		b.WriteString(a.Method)
	}
	b.WriteByte(' ')
	b.WriteString(displayURL(a.URL))
	b.WriteString(" → ")
	switch {
	case a.Err != nil:
		b.WriteString("error")
		if a.ErrClass != ClassNone {
			b.WriteString(" (")
			b.WriteString(string(a.ErrClass))
			b.WriteString(")")
		}
		b.WriteString(": ")
		b.WriteString(a.Err.Error())
	case a.Status != 0:
		b.WriteString(strconv.Itoa(a.Status))
	case a.Reason == ReasonSuccess:
		b.WriteString("ok")
	default:
		b.WriteString("no response")
	}
	if a.RetryAfterSeen {
		b.WriteString(" [Retry-After ")
		b.WriteString(a.RetryAfter.String())
		b.WriteString("]")
	} else if a.RetryAfterRaw != "" {
		b.WriteString(" [Retry-After ")
		b.WriteString(strconv.Quote(a.RetryAfterRaw))
		b.WriteString(" ignored]")
	}
	b.WriteString(" · ")
	switch {
	case a.Retry:
		b.WriteString("retry in ")
		b.WriteString(a.Delay.String())
	case a.Reason == ReasonSuccess || a.Reason == ReasonNotRetryableStatus:
		b.WriteString("done")
	default:
		b.WriteString("gave up")
	}
	if a.Reason != "" {
		b.WriteString(" (")
		b.WriteString(string(a.Reason))
		b.WriteString(")")
	}
}

// MarshalJSON encodes the attempt as one JSON object, the form `retrylab run
// --json` prints in its "attempts": request_id, number, method, url, start
// (RFC 3339), offset, duration, status, error (its text), error_class,
// retry_after (the wait read, when one was), retry_after_header (the header
// as received), idempotency_key, retry, delay (when retry is true) and
// reason. Durations are Go duration strings ("1.5s"), as in policy files;
// empty and zero fields other than number, offset, duration, retry and
// reason are left out.
func (a Attempt) MarshalJSON() ([]byte, error) {
	j := attemptJSON{
		RequestID: a.RequestID, Number: a.Number, Method: a.Method, URL: a.URL,
		Offset: a.Offset.String(), Duration: a.Duration.String(), Status: a.Status,
		ErrorClass: string(a.ErrClass), RetryAfterHeader: a.RetryAfterRaw, IdempotencyKey: a.IdempotencyKey,
		Retry: a.Retry, Reason: string(a.Reason),
	}
	if !a.Start.IsZero() {
		j.Start = a.Start.Format(time.RFC3339Nano)
	}
	if a.Err != nil {
		j.Error = a.Err.Error()
	}
	if a.RetryAfterSeen {
		j.RetryAfter = a.RetryAfter.String()
	}
	if a.Retry {
		j.Delay = a.Delay.String()
	}
	return json.Marshal(j)
}

// attemptJSON is the JSON form of an Attempt.
type attemptJSON struct {
	RequestID        uint64 `json:"request_id,omitempty"`
	Number           int    `json:"number"`
	Method           string `json:"method,omitempty"`
	URL              string `json:"url,omitempty"`
	Start            string `json:"start,omitempty"`
	Offset           string `json:"offset"`
	Duration         string `json:"duration"`
	Status           int    `json:"status,omitempty"`
	Error            string `json:"error,omitempty"`
	ErrorClass       string `json:"error_class,omitempty"`
	RetryAfter       string `json:"retry_after,omitempty"`
	RetryAfterHeader string `json:"retry_after_header,omitempty"`
	IdempotencyKey   string `json:"idempotency_key,omitempty"`
	Retry            bool   `json:"retry"`
	Delay            string `json:"delay,omitempty"`
	Reason           string `json:"reason"`
}

// displayURL shortens an absolute URL to its path and query.
func displayURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	return u.RequestURI()
}

// Timeline is the ordered attempts of one logical request. It is a plain
// value, safe to share as long as nobody modifies its elements; the
// Timeline of a [GiveUpError] is never modified after it is returned.
type Timeline []Attempt

// String renders the timeline one attempt per line, offsets relative to the
// first attempt's Start.
func (t Timeline) String() string {
	if len(t) == 0 {
		return "(no attempts)"
	}
	var b strings.Builder
	first := t[0].Start
	for i, a := range t {
		if i > 0 {
			b.WriteByte('\n')
		}
		a.write(&b, a.Start.Sub(first))
	}
	return b.String()
}

// GomegaString renders the timeline for Gomega failure messages.
func (t Timeline) GomegaString() string { return t.String() }

// Total returns the sum of the delays chosen between attempts.
func (t Timeline) Total() time.Duration {
	var d time.Duration
	for _, a := range t {
		if a.Retry {
			d += a.Delay
		}
	}
	return d
}

// statusText renders a status as "503 Service Unavailable".
func statusText(code int) string {
	if txt := http.StatusText(code); txt != "" {
		return strconv.Itoa(code) + " " + txt
	}
	return strconv.Itoa(code)
}
