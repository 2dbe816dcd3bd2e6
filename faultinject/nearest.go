package faultinject

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// The nearest-route hint and "did you mean" compare words with an edit
// distance, whose cost grows with the product of the lengths compared. Both
// see untrusted input (a request path, a word in an uploaded scenario), so
// the work is bounded: inputs are clipped, distances are computed within a
// band no wider than the best distance found so far, and one hint computes
// at most maxHintCells cells in all; past that it returns the best so far.
const (
	maxHintRunes = 128     // runes of a path, pattern or word compared
	maxHintCells = 1 << 13 // edit-distance cells (and runes visited) for one hint
)

// suggest returns ` (did you mean "w"?)` naming the candidate nearest to
// word, or "" when none is close enough to be a plausible typo.
func suggest(word string, candidates []string) string {
	w := []rune(strings.ToLower(clip(word, maxHintRunes+1)))
	best, bestD, budget := "", math.MaxInt, maxHintCells
	for _, c := range candidates {
		if budget <= 0 {
			break
		}
		cr := []rune(strings.ToLower(clip(c, maxHintRunes)))
		limit := min(max(2, len(cr)/2), bestD-1)
		d, cells := levenshteinWithin(w, cr, limit)
		budget -= cells + len(cr)
		if d <= limit {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// clip returns s cut to at most n runes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// levenshteinWithin returns the edit distance between a and b when it is at
// most bound, otherwise bound+1, and the number of cells it computed. It
// fills only the band of cells within bound of the diagonal and stops as
// soon as a whole row exceeds bound, so it costs O(len(a)·bound).
func levenshteinWithin(a, b []rune, bound int) (d, cells int) {
	if bound < 0 {
		return 0, 0
	}
	if abs(len(a)-len(b)) > bound {
		return bound + 1, 0
	}
	inf := bound + 1
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = min(j, inf)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-bound), min(len(b), i+bound)
		cur[lo-1] = inf
		if lo == 1 {
			cur[0] = min(i, inf)
		}
		rowMin := cur[lo-1]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost, inf)
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		cells += hi - lo + 1
		if hi < len(b) {
			cur[hi+1] = inf
		}
		if rowMin >= inf {
			return inf, cells
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], inf), cells
}

// distanceUpTo is levenshteinWithin(a, b, limit) computed with a band that
// starts narrow and doubles, so a near match costs O(len(a)) whatever the
// limit.
func distanceUpTo(a, b []rune, limit int) (d, cells int) {
	for band := min(8, limit); ; band = min(2*band, limit) {
		d, n := levenshteinWithin(a, b, band)
		cells += n
		if d <= band || band == limit {
			return d, cells
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

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
			md, n := levenshteinWithin([]rune(clip(pm, 16)), mr, 16)
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
		d, n := distanceUpTo(pr, cand, min(bound, len(pr)+len(cand)))
		cells += n + len(cand) // building the candidate is work too
		if d <= bound {
			best, bestD = p, d+penalty
		}
	}
	return best, cells
}
