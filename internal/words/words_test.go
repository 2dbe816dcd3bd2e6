package words

import "testing"

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n    int
		word string
		want string
	}{
		{1, "call", "1 call"},
		{0, "call", "0 calls"},
		{2, "call", "2 calls"},
		{3, "retry", "3 retries"},
		{1, "retry", "1 retry"},
		{2, "key", "2 keys"},
		{2, "delay", "2 delays"},
	} {
		if got := Plural(c.n, c.word); got != c.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", c.n, c.word, got, c.want)
		}
	}
}
