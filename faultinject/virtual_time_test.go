package faultinject

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/internal/bubbles"
)

// TestVirtualTimeScenario plays a scenario with 60s of scripted delays and a
// 30s hang against a hand-written retry loop on a pipe server: the
// journal's gaps are exact. BenchmarkVirtualTimeScenario measures its wall
// time.
func TestVirtualTimeScenario(t *testing.T) {
	synctest.Test(t, playMinuteScenario)
}

// playMinuteScenario plays the 77 s scenario of TestVirtualTimeScenario; it
// runs inside a synctest bubble.
func playMinuteScenario(t *testing.T) {
	s := mustBuild(t, NewScenario("minute").Route("GET /report",
		Status(503).Delay(5*time.Second),
		Hang(),
		Reset(),
		Status(429).RetryAfter(10*time.Second),
		Status(200).Delay(25*time.Second).Body("done")))
	srv := NewPipeServer(s)
	defer srv.Close()
	c := srv.Client()
	c.Timeout = 30 * time.Second
	start := time.Now()
	backoff := time.Second
	var statuses []string
attempts:
	for attempt := 1; attempt <= 5; attempt++ {
		resp, body, err := get(t, c, srv.URL+"/report")
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			statuses = append(statuses, "timeout")
		case err != nil:
			statuses = append(statuses, "error")
		default:
			statuses = append(statuses, resp.Status[:3])
			if resp.StatusCode == 200 && string(body) == "done" {
				break attempts
			}
		}
		if resp != nil && resp.Header.Get("Retry-After") != "" {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(secs) * time.Second)
			continue
		}
		time.Sleep(backoff)
		backoff *= 2
	}
	if want := []string{"503", "timeout", "error", "429", "200"}; !slices.Equal(statuses, want) {
		t.Errorf("client saw %v, want %v", statuses, want)
	}
	// 5s delay + 1s; 30s hang + 2s; reset + 4s; 429 + Retry-After 10s.
	want := []time.Duration{6 * time.Second, 32 * time.Second, 4 * time.Second, 10 * time.Second}
	if gaps := srv.Journal().Gaps("GET /report"); !slices.Equal(gaps, want) {
		t.Errorf("gaps = %v, want %v\n%s", gaps, want, srv.Journal())
	}
	if took := time.Since(start); took != 77*time.Second {
		t.Errorf("virtual time = %v", took)
	}
}

// BenchmarkVirtualTimeScenario measures the wall time of the 77 s scenario
// of TestVirtualTimeScenario in virtual time (the design's target: a
// multi-minute scenario in milliseconds).
func BenchmarkVirtualTimeScenario(b *testing.B) {
	for b.Loop() {
		bubbles.Run(b, playMinuteScenario)
	}
}
