package faultinject

import (
	"fmt"
	"strings"
)

// suggest returns ` (did you mean "w"?)` naming the candidate nearest to
// word, or "" when none is close enough to be a plausible typo.
func suggest(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(word), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(best)/2) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// levenshtein returns the edit distance between a and b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// nearestRoute returns the pattern most similar to "method path": wildcard
// segments of a pattern stand for the request's segment at the same place.
func nearestRoute(method, path string, patterns []string) string {
	best, bestD := "", -1
	reqSegs := strings.Split(path, "/")
	for _, p := range patterns {
		pm, pp, ok := strings.Cut(p, " ")
		if !ok {
			pm, pp = "", p
		}
		if i := strings.IndexByte(pp, '/'); i > 0 { // host in pattern
			pp = pp[i:]
		}
		segs := strings.Split(pp, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && i < len(reqSegs) {
				segs[i] = reqSegs[i]
			}
		}
		d := levenshtein(path, strings.Join(segs, "/"))
		if pm != "" && pm != method && !(pm == "GET" && method == "HEAD") {
			d += 1 + levenshtein(pm, method)/2
		}
		if bestD < 0 || d < bestD {
			best, bestD = p, d
		}
	}
	return best
}
