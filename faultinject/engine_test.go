package faultinject

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// play dispatches n GET requests for path and returns, per request, the
// action and status the engine chose ("503", "reset", "chaos:hang"), with
// "+close" when the response was to close its connection.
func play(e *engine, path string, n int) []string {
	var out []string
	for range n {
		p := e.dispatch(httptest.NewRequest("GET", path, nil), meta{})
		w := p.step.action()
		if w == "respond" {
			w = fmt.Sprint(p.step.Respond.Status)
		}
		if p.call.c.Chaos {
			w = "chaos:" + w
		}
		if p.closeConn {
			w += "+close"
		}
		out = append(out, w)
	}
	return out
}

func TestEngineSteps(t *testing.T) {
	tests := []struct {
		name  string
		route *ScenarioBuilder
		n     int
		want  string
	}{
		{"times", NewScenario("t").Route("GET /x", Status(503).Times(3), Status(200)), 5,
			"503 503 503 200 200"},
		{"times zero means once", NewScenario("t").Route("GET /x", Status(503).Times(0), Status(200)), 2,
			"503 200"},
		{"repeat-last is the default", NewScenario("t").Route("GET /x", Status(503), Status(429), Status(200)), 5,
			"503 429 200 200 200"},
		{"repeat-last repeats a multi-use last step", NewScenario("t").Route("GET /x", Status(503), Status(200).Times(2)).ThenRepeatLast(), 5,
			"503 200 200 200 200"},
		{"loop", NewScenario("t").Route("GET /x", Status(503).Times(2), Status(200)).ThenLoop(), 7,
			"503 503 200 503 503 200 503"},
		{"fixed status", NewScenario("t").Route("GET /x", Status(503), Status(200)).ThenStatus(404), 4,
			"503 200 404 404"},
		{"status only", NewScenario("t").Route("GET /x").ThenStatus(410), 2,
			"410 410"},
		{"connection closed before a reset", NewScenario("t").Route("GET /x", Status(200), Reset(), Empty(), Status(200)), 5,
			"200+close reset+close empty 200 200"},
		{"connection closed before a looped reset", NewScenario("t").Route("GET /x", Reset(), Status(200)).ThenLoop(), 4,
			"reset 200+close reset 200+close"},
		{"refuse steps are armed, not served", NewScenario("t").Route("GET /x", Status(200), Refuse().Times(3), Status(201)), 2,
			"200+close 201"},
		{"other faults keep the connection", NewScenario("t").Route("GET /x", Status(200), Hang(), Malformed(), Status(200)), 4,
			"200 hang malformed 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(tt.route.MustBuild(), AttemptHeader)
			if got := strings.Join(play(e, "/x", tt.n), " "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEngineRoutesStepIndependently(t *testing.T) {
	e := newEngine(NewScenario("t").
		Route("GET /a", Status(500), Status(200)).
		Route("GET /b/{id}", Status(503), Status(201)).MustBuild(), AttemptHeader)
	got := slices.Concat(play(e, "/a", 1), play(e, "/b/1", 1), play(e, "/a", 1), play(e, "/b/2", 1))
	if want := []string{"500", "503", "200", "201"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if c := e.journal.Counts(); c["GET /a"] != 2 || c["GET /b/{id}"] != 2 {
		t.Errorf("counts = %v", c)
	}
}

func TestEngineRefusals(t *testing.T) {
	e := newEngine(NewScenario("t").Route("GET /x", Refuse().Times(2), Status(200), Refuse(), Status(201)).MustBuild(), AttemptHeader)
	var got []string
	dial := func() {
		if e.refuseDial() {
			got = append(got, "refused")
			return
		}
		got = append(got, play(e, "/x", 1)...)
	}
	for range 6 {
		dial()
	}
	if want := "refused refused 200+close refused 201 201"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if n := e.journal.Count("GET /x"); n != 6 {
		t.Errorf("count = %d, want 6 (refused dials are calls)", n)
	}
}

func TestEngineChaosSeeds(t *testing.T) {
	scenario := func(seed int64) *Scenario {
		return NewScenario("chaos").Seed(seed).
			Route("GET /x", Status(200)).
			Route("GET /y", Status(201)).
			Chaos("GET /x", 0.3, Reset()).
			Chaos("", 0.2, Status(503)).MustBuild()
	}
	run := func(seed int64) string {
		e := newEngine(scenario(seed), AttemptHeader)
		var out []string
		for range 40 {
			out = append(out, play(e, "/x", 1)...)
			out = append(out, play(e, "/y", 1)...)
		}
		return strings.Join(out, " ")
	}
	a, b, c := run(42), run(42), run(7)
	if a != b {
		t.Errorf("same seed, different runs:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 42 and 7 gave the same run:\n%s", a)
	}
	if !strings.Contains(a, "chaos:reset") || !strings.Contains(a, "chaos:503") || !strings.Contains(a, " 201") {
		t.Errorf("want chaos resets, chaos 503s and scripted 201s in:\n%s", a)
	}
	for i, w := range strings.Fields(a) {
		if i%2 == 1 && w == "chaos:reset" {
			t.Errorf("chaos for GET /x hit GET /y")
		}
	}
}

func TestEngineChaosDoesNotAdvanceScript(t *testing.T) {
	e := newEngine(NewScenario("t").Seed(1).Route("GET /x", Status(500), Status(200)).Chaos("", 1, Empty()).MustBuild(), AttemptHeader)
	play(e, "/x", 3)
	e.sc.Chaos[0].Probability = 0 // engines read the scenario; tests may tune it
	if got := strings.Join(play(e, "/x", 2), " "); got != "500 200" {
		t.Errorf("after chaos the script played %s, want 500 200", got)
	}
}

func TestEngineReset(t *testing.T) {
	e := newEngine(NewScenario("t").Route("GET /x", Status(500), Status(200)).MustBuild(), AttemptHeader)
	play(e, "/x", 2)
	e.reset()
	if got := strings.Join(play(e, "/x", 2), " "); got != "500 200" || e.journal.Len() != 2 {
		t.Errorf("after reset: %s with %d calls journaled", got, e.journal.Len())
	}
}
