package retryclient

import (
	"math"
	"net/http"
	"strings"
	"time"
)

// ParseRetryAfter interprets a Retry-After header value (RFC 9110 §10.2.3)
// relative to now. It accepts delta-seconds ("120") and the three HTTP-date
// forms that [http.ParseTime] knows (IMF-fixdate, RFC 850, asctime).
//
// A date in the past yields 0 with ok true (retry at once). A number too
// large for a Duration yields the largest Duration. Anything else (empty,
// negative numbers, fractions, garbage) yields ok false, and the caller
// falls back to its computed backoff: RFC 9110 delta-seconds is 1*DIGIT.
// ParseRetryAfter never panics.
func ParseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if allDigits(v) {
		const maxSeconds = math.MaxInt64 / int64(time.Second)
		var secs int64
		for i := 0; i < len(v); i++ {
			secs = secs*10 + int64(v[i]-'0')
			if secs > maxSeconds {
				return time.Duration(math.MaxInt64), true
			}
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if !t.After(now) {
		return 0, true
	}
	return t.Sub(now), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// deltaSeconds reports whether v is a delta-seconds Retry-After value
// rather than a date.
func deltaSeconds(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && allDigits(v)
}
