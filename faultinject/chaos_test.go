package faultinject

import (
	"net/http"
	"slices"
	"testing"
)

// TestChaosReplaysWithSeed: over each front end, the same seed gives the same
// sequence of chaos faults and scripted responses.
func TestChaosReplaysWithSeed(t *testing.T) {
	run := func(t *testing.T, seed int64, kind string) []string {
		s := mustBuild(t, NewScenario("chaos").Seed(seed).
			Route("GET /x", Status(200)).
			Chaos("GET /x", 0.4, Status(503)))
		var actions []string
		forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
			for range 30 {
				resp, _ := mustGet(t, fe.client, fe.url+"/x")
				actions = append(actions, http.StatusText(resp.StatusCode))
			}
			for _, c := range fe.journal.Calls() {
				if c.Chaos != (c.Status == 503) {
					t.Errorf("call %+v: chaos calls, and only they, are 503s", c)
				}
			}
		}, kind)
		return actions
	}
	for _, kind := range []string{"tcp", "pipe", "httpmock"} {
		a, b, c := run(t, 42, kind), run(t, 42, kind), run(t, 43, kind)
		if !slices.Equal(a, b) {
			t.Errorf("%s: seed 42 gave\n%v\nthen\n%v", kind, a, b)
		}
		if slices.Equal(a, c) {
			t.Errorf("%s: seeds 42 and 43 gave the same run %v", kind, a)
		}
		if !slices.Contains(a, "Service Unavailable") || !slices.Contains(a, "OK") {
			t.Errorf("%s: want both chaos and script in %v", kind, a)
		}
	}
}
