package rules

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/retrylab/retrylab/faultinject"
	"github.com/retrylab/retrylab/retryclient"
)

var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// call builds a journaled call that started at +start and ended at +end.
func call(seq int, route string, attempt int, start, end time.Duration) faultinject.Call {
	return faultinject.Call{Seq: seq, Route: route, Attempt: attempt, Start: t0.Add(start), End: t0.Add(end), Action: "respond", Status: 503}
}

func TestRequests(t *testing.T) {
	cases := []struct {
		name  string
		calls []faultinject.Call
		want  [][]int // seqs
	}{
		{"none", nil, nil},
		{"numbered, one request", []faultinject.Call{call(1, "A", 1, 0, 0), call(2, "A", 2, 0, 0)}, [][]int{{1, 2}}},
		{"numbered, two requests on one route", []faultinject.Call{call(1, "A", 1, 0, 0), call(2, "A", 2, 0, 0), call(3, "A", 1, 0, 0)}, [][]int{{1, 2}, {3}}},
		{"unnumbered, grouped by route in first-call order", []faultinject.Call{call(1, "B", 0, 0, 0), call(2, "A", 0, 0, 0), call(3, "B", 0, 0, 0)}, [][]int{{1, 3}, {2}}},
		{"partly numbered counts as unnumbered", []faultinject.Call{call(1, "A", 1, 0, 0), call(2, "A", 0, 0, 0)}, [][]int{{1, 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got [][]int
			for _, r := range Requests(c.calls) {
				var seqs []int
				for _, x := range r {
					seqs = append(seqs, x.Seq)
				}
				got = append(got, seqs)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if len(got[i]) != len(c.want[i]) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
				for j := range got[i] {
					if got[i][j] != c.want[i][j] {
						t.Fatalf("got %v, want %v", got, c.want)
					}
				}
			}
		})
	}
}

func TestWaitsAreMeasuredFromTheEndOfTheAnswer(t *testing.T) {
	calls := []faultinject.Call{
		call(1, "A", 1, 0, time.Second),                         // a slow answer
		call(2, "A", 2, 3*time.Second, 3*time.Second),           // 2s after it ended
		call(3, "A", 1, 10*time.Second, 10*time.Second),         // a new request: no wait
		call(4, "A", 2, 10500*time.Millisecond, 11*time.Second), // 500ms
	}
	calls[2].RetryAfter = "7"
	waits, ra := Waits(calls)
	if len(waits) != 2 || waits[0] != 2*time.Second || waits[1] != 500*time.Millisecond {
		t.Errorf("waits %v, want [2s 500ms]", waits)
	}
	if ra[0] || !ra[1] {
		t.Errorf("after Retry-After: %v, want [false true]", ra)
	}
}

func TestRetryAfter(t *testing.T) {
	end := t0.Add(10 * time.Second)
	cases := []struct {
		name   string
		header string
		want   time.Duration
		ok     bool
	}{
		{"seconds", "3", 3 * time.Second, true},
		{"date ahead", end.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second, true},
		{"date past", end.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"negative", "-1", 0, false},
		// Regression: the checker read "+3" as 3s while retryclient ignores
		// it, so a correct client failed HaveHonoredRetryAfter.
		{"a plus sign is not delta-seconds", "+3", 0, false},
		// Regression: the checker called a number too large for int64
		// invalid while retryclient reads it as the longest wait.
		{"too large for a Duration asks for the longest", "9999999999999999999", time.Duration(math.MaxInt64), true},
		{"surrounding spaces", " 3 ", 3 * time.Second, true},
		{"garbage", "soon", 0, false},
		{"absent", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := RetryAfter(faultinject.Call{RetryAfter: c.header, End: end})
			if d != c.want || ok != c.ok {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", c.header, d, ok, c.want, c.ok)
			}
		})
	}
}

func TestEnvelopeCheck(t *testing.T) {
	ms := time.Millisecond
	exp := retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: 300 * ms, Jitter: retryclient.JitterNone}
	with := func(j retryclient.JitterKind) Envelope { b := exp; b.Jitter = j; return Envelope{b} }
	cases := []struct {
		name      string
		env       Envelope
		waits     []time.Duration
		overshoot time.Duration
		wantErr   string
	}{
		{"none: exact schedule, capped", Envelope{exp}, []time.Duration{100 * ms, 200 * ms, 300 * ms}, 0, ""},
		{"none: early wait", Envelope{exp}, []time.Duration{100 * ms, 150 * ms}, 0, "wait 2 was 150ms, the promise is 200ms without jitter"},
		{"none: late wait within overshoot", Envelope{exp}, []time.Duration{104 * ms}, 5 * ms, ""},
		{"none: late wait beyond overshoot", Envelope{exp}, []time.Duration{110 * ms}, 5 * ms, "wait 1 was 110ms"},
		{"full: anything up to the schedule", with(retryclient.JitterFull), []time.Duration{1, 150 * ms}, 0, ""},
		{"full: above the schedule", with(retryclient.JitterFull), []time.Duration{101 * ms}, 0, "the promise is [0s, 100ms] with full jitter"},
		{"equal: at least half", with(retryclient.JitterEqual), []time.Duration{50 * ms, 100 * ms}, 0, ""},
		{"equal: below half", with(retryclient.JitterEqual), []time.Duration{40 * ms}, 0, "the promise is [50ms, 100ms] with equal jitter"},
		{"decorrelated: within 3× the previous", with(retryclient.JitterDecorrelated), []time.Duration{250 * ms, 300 * ms}, 0, ""},
		{"decorrelated: above 3× the previous", with(retryclient.JitterDecorrelated), []time.Duration{100 * ms, 301 * ms}, 0, "wait 2 was 301ms"},
		{"decorrelated: below the initial", with(retryclient.JitterDecorrelated), []time.Duration{90 * ms}, 0, "the promise is [100ms, 300ms]"},
		{"randomized: ±50 % around the schedule, above the cap too", Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * ms, Multiplier: 2, Max: 300 * ms,
			Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5}}, []time.Duration{50 * ms, 300 * ms, 450 * ms}, 0, ""},
		{"randomized: below the spread", Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * ms, Multiplier: 2,
			Jitter: retryclient.JitterRandomized, RandomizationFactor: 0.5}}, []time.Duration{100 * ms, 99 * ms}, 0, "wait 2 was 99ms, the promise is [100ms, 300ms] with randomized jitter (±50%)"},
		{"additive: up to the jitter above the schedule", Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * ms, Multiplier: 2,
			Jitter: retryclient.JitterAdditive, MaxJitter: 100 * ms}}, []time.Duration{200 * ms, 300 * ms}, 0, ""},
		{"additive: beyond the jitter", Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * ms, Multiplier: 2,
			Jitter: retryclient.JitterAdditive, MaxJitter: 100 * ms}}, []time.Duration{201 * ms}, 0, "the promise is [100ms, 200ms] with additive jitter (up to 100ms)"},
		{"equal with a floor", Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 200 * ms, Multiplier: 2, Max: 150 * ms,
			Jitter: retryclient.JitterEqual, Min: 100 * ms}}, []time.Duration{90 * ms}, 0, "the promise is [100ms, 150ms] with equal jitter, at least 100ms"},
		{"rounding of a fractional multiplier", Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * ms, Multiplier: 1.7, Jitter: retryclient.JitterNone}},
			[]time.Duration{100 * ms, 170 * ms, 289 * ms}, 0, ""},
		{"linear", Envelope{retryclient.Backoff{Kind: retryclient.BackoffLinear, Initial: 100 * ms, Jitter: retryclient.JitterNone}}, []time.Duration{100 * ms, 200 * ms, 300 * ms}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.env.Check(c.waits, nil, c.overshoot)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestEnvelopeCheckMeans(t *testing.T) {
	e := Envelope{retryclient.Backoff{Kind: retryclient.BackoffExponential, Initial: 100 * time.Millisecond, Multiplier: 2, Jitter: retryclient.JitterFull}}
	if !e.NeedsMeans() {
		t.Error("full jitter has no lower bound, but NeedsMeans is false")
	}
	good := [][]time.Duration{{50 * time.Millisecond, 90 * time.Millisecond}, {30 * time.Millisecond, 120 * time.Millisecond}}
	if err := e.CheckMeans(good); err != nil {
		t.Errorf("jittered waits: %v", err)
	}
	none := [][]time.Duration{{time.Nanosecond, time.Nanosecond}, {time.Nanosecond, time.Nanosecond}}
	if err := e.CheckMeans(none); err == nil || !strings.Contains(err.Error(), "wait 1 averaged 1ns over 2 runs") {
		t.Errorf("no backoff: %v", err)
	}
}
