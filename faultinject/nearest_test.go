package faultinject

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// maxCells bounds the cells of one hint: the budget, plus the widest work
// one pattern can take once the budget is nearly spent (bands doubling up to
// the clipped length).
const maxCells = maxHintCells + 4*maxHintRunes*(maxHintRunes+1)

var hintPatterns = []string{"GET /users/{id}", "DELETE /users/{id}", "POST /orders", "GET /items/{id}/parts/{part}"}

func TestNearestRoute(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/userz/7", "GET /users/{id}"},
		{"DELETE", "/users/9", "DELETE /users/{id}"},
		{"GET", "/orders", "POST /orders"},
		{"GET", "/items/1/part/2", "GET /items/{id}/parts/{part}"},
		{"HEAD", "/users/1/", "GET /users/{id}"},
	} {
		if got := nearestRoute(tc.method, tc.path, hintPatterns); got != tc.want {
			t.Errorf("nearestRoute(%s %s) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

// Regression: the hint ran an edit distance quadratic in the path length
// (a DELETE /users/<100 KB> took 28.6 s, holding the engine's lock).
func TestNearestRouteHugeUnmatchedPathDoesBoundedWork(t *testing.T) {
	for _, n := range []int{20 << 10, 1 << 20} {
		path := "/users/" + strings.Repeat("x", n)
		best, cells := nearestRouteCost("DELETE", path, hintPatterns)
		if best != "DELETE /users/{id}" {
			t.Errorf("%d-byte path: nearest = %q, want DELETE /users/{id}", n, best)
		}
		if cells > maxCells {
			t.Errorf("%d-byte path: %d edit-distance cells, want at most %d", n, cells, maxCells)
		}
	}
	many := make([]string, 10000)
	for i := range many {
		many[i] = "GET /r" + strings.Repeat("y", i%200) + "/{id}"
	}
	if _, cells := nearestRouteCost("GET", "/"+strings.Repeat("z", 1<<20), many); cells > maxCells {
		t.Errorf("10,000 routes: %d cells, want at most %d", cells, maxCells)
	}
}

// Regression: the 404 of an unmatched request echoed the whole path.
func TestUnmatchedHugePathAnswersAShortHint(t *testing.T) {
	s := mustBuild(t, NewScenario("huge").Route("DELETE /users/{id}", Status(204)).Route("GET /users/{id}", Status(200)))
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		req, _ := http.NewRequest("DELETE", fe.url+"/users/a/"+strings.Repeat("x", 200<<10), nil)
		resp, err := fe.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		if resp.StatusCode != 404 || !strings.Contains(body, "nearest route: DELETE /users/{id}") || len(body) > 1024 {
			t.Errorf("unmatched = %d %d bytes %.200q, want 404 under 1 KiB naming DELETE /users/{id}", resp.StatusCode, len(body), body)
		}
		resp, body2 := mustGet(t, fe.client, fe.url+"/users/9")
		if resp.StatusCode != 200 {
			t.Errorf("matched = %d %q, want 200", resp.StatusCode, body2)
		}
	})
}

func FuzzNearestRoute(f *testing.F) {
	f.Add("GET", "/userz/7")
	f.Add("DELETE", "/users/"+strings.Repeat("x", 4096))
	f.Add("", "")
	f.Add("GET", "/items/{id}/parts/{part}")
	f.Add("PÖST", "/ü/{")
	f.Fuzz(func(t *testing.T, method, path string) {
		best, cells := nearestRouteCost(method, path, hintPatterns)
		if !slices.Contains(hintPatterns, best) {
			t.Fatalf("nearestRoute(%q, %q) = %q, not a pattern", method, path, best)
		}
		if cells > maxCells {
			t.Fatalf("nearestRoute(%q, %q) computed %d cells", method, path, cells)
		}
		if got := nearestRoute("GET", "/users/"+strings.ReplaceAll(path, "/", ""), hintPatterns); path != "" && !strings.Contains(path, "/") && got != "GET /users/{id}" {
			t.Fatalf("GET /users/%s: nearest = %q, want GET /users/{id}", path, got)
		}
		_ = suggest(path, hintPatterns)
	})
}
