package retryclient

import (
	"encoding/json"
	"strings"
	"testing"
)

// Regression: ParsePolicy fed any nesting to goccy/go-yaml, whose memory
// grows with the square of the depth (20 KB of "[" took 636 MB).
func TestParsePolicyRefusesDeepNesting(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"brackets", "retry-statuses: " + strings.Repeat("[", 20<<10), "p.yaml:1:32: nested deeper than 16 levels"},
		{"flow mappings", "backoff: " + strings.Repeat("{a: ", 10<<10), "p.yaml:1:70: nested deeper than 16 levels"},
		{"block sequences", "retry-statuses:\n  " + strings.Repeat("- ", 40) + "1\n", "p.yaml:2:33: nested deeper than 16 levels"},
		{"size", "max-attempts: 3\n#" + strings.Repeat("x", MaxPolicySize), "p.yaml:1:1: 1048593 bytes, larger than the 1 MiB limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy("p.yaml", []byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Errorf("ParsePolicy error = %v, want %s", err, tc.want)
			}
		})
	}
}

// Regression: a deeply nested JSON policy (encoding/json allows 10,000
// levels) made checkJSONKeys recurse once per level, each level holding a
// key path one step longer: 9,000 levels held about 80 MB.
func TestPolicyJSONRefusesDeepNesting(t *testing.T) {
	for _, in := range []string{
		`{"backoff": ` + strings.Repeat(`{"a": `, 9000) + "1" + strings.Repeat("}", 9001),
		`{"retry-statuses": ` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "}",
	} {
		var p Policy
		err := json.Unmarshal([]byte(in), &p)
		if err == nil || !strings.HasPrefix(err.Error(), "retryclient: decoding policy: 1:") || !strings.HasSuffix(err.Error(), ": nested deeper than 16 levels") {
			t.Errorf("Unmarshal(%.30s…) = %v, want the nesting or size limit", in, err)
		}
	}
}

func FuzzPolicyJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"max-attempts": 4}`, `{"backoff": {"kind": "constant", "initial": "1s"}}`, `{"Max-Attempts": 4}`,
		`{"retry-statuses": [503, 429]}`, `{"max-attempts": 4, "max-attempts": 5}`, `{"max-elapsed": 250}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`, `{"backoff": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": `,
		`{"retry-after": {"honor": true, "cap": "1m"}}`, `nul`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Policy
		if err := json.Unmarshal(data, &p); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on several lines: %q", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Unmarshal returned an invalid policy: %v", err)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q Policy
		if err := json.Unmarshal(out, &q); err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
	})
}
