package faultinject_test

import (
	"testing"
	"time"

	fi "github.com/retrylab/retrylab/faultinject"
)

func TestPeakConcurrency(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	call := func(start, end int) fi.Call {
		c := fi.Call{Start: at(start)}
		if end >= 0 {
			c.End = at(end)
		}
		return c
	}
	cases := []struct {
		name  string
		calls []fi.Call
		want  int
	}{
		{"none", nil, 0},
		{"one", []fi.Call{call(0, 10)}, 1},
		{"sequential", []fi.Call{call(0, 10), call(20, 30)}, 1},
		{"touching calls do not overlap", []fi.Call{call(0, 10), call(10, 20)}, 1},
		{"nested", []fi.Call{call(0, 100), call(10, 20), call(15, 30), call(50, 60)}, 3},
		{"a call still being answered counts to the end", []fi.Call{call(0, -1), call(50, 60), call(70, 80)}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fi.PeakConcurrency(c.calls); got != c.want {
				t.Errorf("PeakConcurrency = %d, want %d", got, c.want)
			}
		})
	}
}
