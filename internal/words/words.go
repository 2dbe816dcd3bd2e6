// Package words holds the small pieces of English that RetryLab's messages
// share: counted nouns. (The nearest known word for an unknown one is
// internal/decode's Nearest.)
package words

import (
	"strconv"
	"strings"
)

// Plural renders n and word, pluralised when n is not 1: "1 call",
// "2 calls", "3 retries".
func Plural(n int, word string) string {
	s := strconv.Itoa(n) + " "
	switch {
	case n == 1:
		return s + word
	case strings.HasSuffix(word, "y") && !strings.HasSuffix(word, "ay") && !strings.HasSuffix(word, "ey"):
		return s + strings.TrimSuffix(word, "y") + "ies"
	}
	return s + word + "s"
}
