package retryclient

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParsePolicyFilePositions(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       map[string][2]int
	}{
		{"yaml", "max-attempts: 4\nbackoff:\n  kind: linear\n  jitter: none\nretry-after: {cap: 30s}\n", map[string][2]int{
			"max-attempts": {1, 1}, "backoff": {2, 1}, "backoff.kind": {3, 3}, "backoff.jitter": {4, 3},
			"retry-after": {5, 1}, "retry-after.cap": {5, 15}, "max-elapsed": {0, 0}, "backoff.initial": {0, 0},
		}},
		{"json", "{\n  \"max-attempts\": 4,\n  \"backoff\": {\"jitter\": \"none\"}\n}\n", map[string][2]int{
			"max-attempts": {2, 3}, "backoff": {3, 3}, "backoff.jitter": {3, 15}, "retry-after": {0, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParsePolicyFile("p."+tc.name, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			for field, want := range tc.want {
				if line, col := f.Pos(field); line != want[0] || col != want[1] {
					t.Errorf("Pos(%q) = %d:%d, want %d:%d", field, line, col, want[0], want[1])
				}
			}
			if f.Policy.MaxAttempts != 4 || f.Policy.Backoff.Jitter != JitterNone || f.Name != "p."+tc.name {
				t.Errorf("file = %+v", f)
			}
		})
	}
}

func TestParsePolicyFileFields(t *testing.T) {
	f, err := ParsePolicyFile("p.yaml", []byte("retry-after:\n  honor: true\nmax-attempts: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Fields(), []string{"max-attempts", "retry-after", "retry-after.honor"}; !slices.Equal(got, want) {
		t.Errorf("Fields() = %q, want %q", got, want)
	}
}

// policyFields is the one list of the serialised form's keys; the encoder's
// struct tags must name the same keys, or what Marshal writes would not
// read back.
func TestPolicyFieldsMatchTheEncoder(t *testing.T) {
	var tags []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			for _, tag := range []string{"yaml", "json"} {
				name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
				if tag == "yaml" {
					tags = append(tags, prefix+name)
				} else if y, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); y != name {
					panic(fmt.Sprintf("field %s: yaml key %q, json key %q", f.Name, y, name))
				}
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				walk(ft, prefix+name+".")
			}
		}
	}
	walk(reflect.TypeFor[policyWire](), "")
	var keys []string
	for _, f := range policyFields {
		keys = append(keys, f.key)
	}
	slices.Sort(tags)
	slices.Sort(keys)
	if !slices.Equal(tags, keys) {
		t.Errorf("encoder keys %q\ndecoder keys %q", tags, keys)
	}
	// And every key round-trips: what Marshal writes for a policy that sets
	// every field reads back as that policy.
	p := DefaultPolicy().WithBackoff(Backoff{Kind: BackoffLinear, Initial: 1, Multiplier: 1, Max: 2, Jitter: JitterAdditive, RandomizationFactor: 0.5, MaxJitter: 3, Min: 1})
	b, _ := json.Marshal(p)
	var q Policy
	if err := json.Unmarshal(b, &q); err != nil || !reflect.DeepEqual(p, q) {
		t.Errorf("round trip of %s: %+v, %v", b, q, err)
	}
}

func ExampleParsePolicyFile() {
	data := []byte("max-attempts: 5\nbackoff:\n  kind: exponential\n  jitter: none\n")
	f, err := ParsePolicyFile("policy.yaml", data)
	if err != nil {
		fmt.Println(err)
		return
	}
	if f.Policy.Backoff.Jitter == JitterNone {
		line, col := f.Pos("backoff.jitter")
		fmt.Printf("%s:%d:%d: jitter none: many clients retry in lockstep\n", f.Name, line, col)
	}
	// Output:
	// policy.yaml:4:3: jitter none: many clients retry in lockstep
}

// Regression: merge keys (<<), which goccy/go-yaml's struct decoder
// honoured, were unknown fields once policies went through internal/decode.
func TestParsePolicyMergeKeys(t *testing.T) {
	for _, data := range []string{
		"backoff: {<<: {kind: linear}, jitter: none}\n",
		"backoff:\n  <<: &b {kind: linear, jitter: full}\n  jitter: none\n",
	} {
		p, err := ParsePolicy("m.yaml", []byte(data))
		if err != nil || p.Backoff.Kind != BackoffLinear || p.Backoff.Jitter != JitterNone {
			t.Errorf("ParsePolicy(%q) = %+v, %v; want a linear backoff without jitter", data, p.Backoff, err)
		}
	}
}
