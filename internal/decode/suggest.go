package decode

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// "Did you mean" compares words with an edit distance, whose cost grows
// with the product of the lengths compared. It sees untrusted input (a word
// in an uploaded scenario, a request path), so the work is bounded: inputs
// are clipped to MaxHintRunes, distances are computed within a band no wider
// than the best distance found so far, and one hint computes at most
// MaxHintCells cells in all; past that it returns the best so far.
const (
	// MaxHintRunes is how many runes of a word or candidate are compared.
	MaxHintRunes = 128
	// MaxHintCells bounds the edit-distance cells (and runes visited) of one
	// hint.
	MaxHintCells = 1 << 13
)

// Nearest returns the candidate that word is a plausible typo of, or "".
// Comparison ignores case. A candidate is plausible when its edit distance
// to word is at most max(2, len(candidate)/2) runes, or, failing that, when
// word (of 3 runes or more) is a prefix of it ("expo" for "exponential").
// Of several, the nearest wins, the first on a tie. The work is bounded
// whatever the lengths and the number of candidates (see MaxHintCells).
func Nearest(word string, candidates []string) string {
	w := []rune(strings.ToLower(Clip(word, MaxHintRunes+1)))
	best, bestD, budget := "", math.MaxInt, MaxHintCells
	for _, c := range candidates {
		if budget <= 0 {
			break
		}
		cr := []rune(strings.ToLower(Clip(c, MaxHintRunes)))
		limit := min(max(2, len(cr)/2), bestD-1)
		d, cells := DistanceWithin(w, cr, limit)
		budget -= cells + len(cr)
		if d <= limit {
			best, bestD = c, d
		}
	}
	if best != "" || len(w) < 3 {
		return best
	}
	lw := string(w)
	for i, c := range candidates {
		if i >= MaxHintCells/MaxHintRunes {
			break
		}
		if lc := strings.ToLower(Clip(c, MaxHintRunes)); len(lc) > len(lw) && strings.HasPrefix(lc, lw) {
			return c
		}
	}
	return ""
}

// DidYouMean returns ` (did you mean "x"?)` naming Nearest(word,
// candidates), or "" when no candidate is close.
func DidYouMean(word string, candidates []string) string {
	if s := Nearest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// Clip returns s cut to at most n runes.
func Clip(s string, n int) string {
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

// DistanceWithin returns the edit distance between a and b when it is at
// most bound, otherwise bound+1, and the number of cells it computed. It
// fills only the band of cells within bound of the diagonal and stops as
// soon as a whole row exceeds bound, so it costs O(len(a)·bound).
func DistanceWithin(a, b []rune, bound int) (d, cells int) {
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

// DistanceUpTo is DistanceWithin(a, b, limit) computed with a band that
// starts narrow and doubles, so a near match costs O(len(a)) whatever the
// limit.
func DistanceUpTo(a, b []rune, limit int) (d, cells int) {
	for band := min(8, limit); ; band = min(2*band, limit) {
		d, n := DistanceWithin(a, b, band)
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
