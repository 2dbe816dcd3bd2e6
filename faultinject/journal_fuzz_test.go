package faultinject

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzJournalHeader packs two header lines and unpacks them: the journal keeps
// at most MaxJournalHeader bytes, never a credential (without WithSecrets),
// and otherwise each value as sent, cut to MaxJournalValue, unless the call
// is marked cut.
func FuzzJournalHeader(f *testing.F) {
	f.Add("Authorization", "Bearer s3cret", "X-Trace", "t-1", false)
	f.Add("Cookie", "a=b", "cookie", "c=d", true)
	f.Add("X-Long", strings.Repeat("é", 700), "X-Other", strings.Repeat("v", 5000), false)
	f.Add("X-Bad: name", "v\nw", "x\ny", ": z", false)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, keepSecrets bool) {
		h := http.Header{}
		h[k1] = append(h[k1], v1)
		h[k2] = append(h[k2], v2)
		packed, cut := packHeader(h, keepSecrets)
		if len(packed) > MaxJournalHeader {
			t.Fatalf("packed %d bytes, more than %d", len(packed), MaxJournalHeader)
		}
		got := unpackHeader(packed)
		n := 0
		for _, vs := range got {
			n += len(vs)
		}
		if n > 2 {
			t.Fatalf("%d values unpacked from 2: %q", n, packed)
		}
		for k, vs := range got {
			for _, v := range vs {
				if !keepSecrets && isSecret(k) && v != Redacted {
					t.Fatalf("%s journaled as %q", k, v)
				}
				if len(v) > MaxJournalValue+len("…") {
					t.Fatalf("%s journaled with %d bytes", k, len(v))
				}
			}
		}
		if cut {
			return
		}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			k, v := kv[0], kv[1]
			if strings.ContainsAny(k, ":\n") || strings.ContainsAny(v, "\n") || k == "" {
				continue // names and values the packing had to change
			}
			if !keepSecrets && isSecret(k) {
				v = Redacted
			}
			found := false
			for _, w := range got[k] {
				found = found || w == v
			}
			if !found {
				t.Fatalf("%s: %q not kept (got %q) from %q", k, v, got[k], packed)
			}
		}
	})
}
