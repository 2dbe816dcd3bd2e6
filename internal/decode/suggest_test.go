package decode

import (
	"math/rand/v2"
	"testing"
)

// fullLevenshtein is the textbook edit distance, the reference for the
// banded one.
func fullLevenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func TestLevenshteinWithinAgreesWithTheFullDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() []rune {
		r := make([]rune, rng.IntN(12))
		for i := range r {
			r[i] = rune('a' + rng.IntN(3))
		}
		return r
	}
	for range 5000 {
		a, b, bound := word(), word(), rng.IntN(14)
		want := min(fullLevenshtein(a, b), bound+1)
		if got, _ := DistanceWithin(a, b, bound); got != want {
			t.Fatalf("DistanceWithin(%q, %q, %d) = %d, want %d", string(a), string(b), bound, got, want)
		}
	}
}

func TestDistanceUpToAgreesWithTheFullDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func() []rune {
		r := make([]rune, rng.IntN(40))
		for i := range r {
			r[i] = rune('a' + rng.IntN(2))
		}
		return r
	}
	for range 3000 {
		a, b, limit := word(), word(), rng.IntN(45)
		want := min(fullLevenshtein(a, b), limit+1)
		if got, _ := DistanceUpTo(a, b, limit); got != want {
			t.Fatalf("DistanceUpTo(%q, %q, %d) = %d, want %d", string(a), string(b), limit, got, want)
		}
	}
}

func TestNearest(t *testing.T) {
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"rest", []string{"empty", "hang", "reset", "reset-mid-body"}, "reset"},
		{"MAX-ATTEMPTS", []string{"max-attempts", "backoff"}, "max-attempts"},
		{"expo", []string{"constant", "linear", "exponential"}, "exponential"},
		{"ex", []string{"exponential"}, ""},
		{"zzzzzz", []string{"respond", "times"}, ""},
		{"lop", []string{"repeat-last", "loop"}, "loop"},
		{"GET /v1/payment/{id}", []string{"GET /v1/payments/{id}", "POST /v1/payments"}, "GET /v1/payments/{id}"},
	} {
		if got := Nearest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("Nearest(%q, %q) = %q, want %q", tc.word, tc.candidates, got, tc.want)
		}
	}
}
