package retryclient

import (
	"math"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	cases := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"delta seconds", "120", 120 * time.Second, true},
		{"zero", "0", 0, true},
		{"surrounding space", "  7 ", 7 * time.Second, true},
		{"leading zeros", "007", 7 * time.Second, true},
		{"IMF-fixdate", "Wed, 21 Oct 2015 07:28:30 GMT", 30 * time.Second, true},
		{"RFC 850", "Wednesday, 21-Oct-15 07:29:00 GMT", time.Minute, true},
		{"asctime", "Wed Oct 21 07:28:05 2015", 5 * time.Second, true},
		{"date now", "Wed, 21 Oct 2015 07:28:00 GMT", 0, true},
		{"date in the past", "Wed, 21 Oct 2015 07:00:00 GMT", 0, true},
		// Regression: "-5" meant "retry now" while other garbage fell back
		// to the backoff; delta-seconds is 1*DIGIT, so it is invalid.
		{"negative", "-5", 0, false},
		{"negative zero", "-0", 0, false},
		{"huge", "99999999999999999999999", time.Duration(math.MaxInt64), true},
		{"largest that fits", "9223372036", 9223372036 * time.Second, true},
		{"one past the largest", "9223372037", time.Duration(math.MaxInt64), true},
		{"empty", "", 0, false},
		{"blank", "   ", 0, false},
		{"garbage", "soon", 0, false},
		{"fraction", "1.5", 0, false},
		{"plus sign", "+5", 0, false},
		{"unit suffix", "5s", 0, false},
		{"minus alone", "-", 0, false},
		{"bad date", "Wed, 32 Oct 2015 07:28:00 GMT", 0, false},
		{"date with offset", "Wed, 21 Oct 2015 07:28:00 +0000", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tc.value, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "-1", "", "Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT",
		"Wed Oct 21 07:28:00 2015", "99999999999999999999", "1.5", "\x00", "-"} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 {
			t.Errorf("ParseRetryAfter(%q) = %v, negative", v, d)
		}
		if !ok && d != 0 {
			t.Errorf("ParseRetryAfter(%q) = %v with ok false", v, d)
		}
	})
}
