package faultinject

import (
	"math"
	"strings"

	"github.com/retrylab/retrylab/internal/decode"
)

// The nearest-route hint compares a request with the patterns by edit
// distance (internal/decode's, whose "did you mean" the scenario decoder
// uses too). A request path is untrusted input, so the work is bounded as
// decode bounds "did you mean": inputs are clipped, distances are computed
// within a band no wider than the best distance found so far, and one hint
// computes at most maxHintCells cells in all; past that it returns the best
// so far.
const (
	maxHintRunes = decode.MaxHintRunes // runes of a path or pattern compared
	maxHintCells = decode.MaxHintCells // edit-distance cells (and runes visited) for one hint
)

// suggest returns ` (did you mean "w"?)` naming the candidate nearest to
// word, or "" when none is close enough to be a plausible typo.
func suggest(word string, candidates []string) string { return decode.DidYouMean(word, candidates) }

// clip returns s cut to at most n runes.
func clip(s string, n int) string { return decode.Clip(s, n) }

// nearestRoute returns the pattern most similar to "method path": wildcard
// segments of a pattern stand for the request's segment at the same place.
// Its cost is bounded whatever the path's length (see maxHintCells).
func nearestRoute(method, path string, patterns []string) string {
	best, _ := nearestRouteCost(method, path, patterns)
	return best
}

// nearestRouteCost is nearestRoute, also returning the edit-distance cells
// it computed.
func nearestRouteCost(method, path string, patterns []string) (best string, cells int) {
	path = clip(path, maxHintRunes)
	method = clip(method, 16)
	pr, mr := []rune(path), []rune(method)
	reqSegs := strings.Split(path, "/")
	bestD := math.MaxInt
	for _, p := range patterns {
		if cells >= maxHintCells {
			break
		}
		pm, pp, ok := strings.Cut(p, " ")
		if !ok {
			pm, pp = "", p
		}
		if i := strings.IndexByte(pp, '/'); i > 0 { // host in pattern
			pp = pp[i:]
		}
		segs := strings.Split(clip(pp, maxHintRunes), "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && i < len(reqSegs) {
				segs[i] = reqSegs[i]
			}
		}
		penalty := 0
		if pm != "" && pm != method && !(pm == "GET" && method == "HEAD") {
			md, n := decode.DistanceWithin([]rune(clip(pm, 16)), mr, 16)
			penalty, cells = 1+md/2, cells+n
		}
		bound := math.MaxInt - 1
		if bestD != math.MaxInt {
			bound = bestD - 1 - penalty
		}
		if bound < 0 {
			continue
		}
		cand := []rune(clip(strings.Join(segs, "/"), maxHintRunes))
		d, n := decode.DistanceUpTo(pr, cand, min(bound, len(pr)+len(cand)))
		cells += n + len(cand) // building the candidate is work too
		if d <= bound {
			best, bestD = p, d+penalty
		}
	}
	return best, cells
}
