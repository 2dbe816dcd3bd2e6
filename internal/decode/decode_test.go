package decode

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/retrylab/retrylab/internal/yamlguard"
)

// walkAll visits every mapping and list of a document.
func walkAll(v Value) {
	switch v.Kind() {
	case Mapping:
		v.Mapping("doc", nil, func(_ string, _, val Value) { walkAll(val) })
	case Sequence:
		v.Sequence("doc", walkAll)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		opts Options
		walk func(Value)
		want string
	}{
		{"unknown key names the nearest", "backof: 1\n", Options{}, func(v Value) {
			v.Mapping("policy", []string{"backoff", "max-attempts"}, func(string, Value, Value) {})
		}, `f.yaml:1:1: unknown field "backof" (did you mean "backoff"?)`},
		{"duplicate key in YAML", "a: 1\nb: 2\na: 3\n", Options{}, walkAll, `f.yaml:3:1: duplicate field "a"`},
		{"duplicate key in JSON", `{"a": 1, "a": 2}`, Options{JSON: true}, walkAll, `f.yaml:1:10: duplicate key "a"`},
		{"alias refused", "a: &x 1\nb: *x\n", Options{}, func(v Value) {
			v.Mapping("doc", nil, func(_ string, _, val Value) { val.Kind() })
		}, `f.yaml:2:4: aliases are not supported`},
		{"two documents", "a: 1\n---\nb: 2\n", Options{What: "thing"}, walkAll, `f.yaml:2:1: a thing holds one YAML document, found 2`},
		{"depth limit", "a: " + strings.Repeat("[", 100), Options{Limits: yamlguard.Limits{MaxDepth: 8}}, walkAll, `f.yaml:1:11: nested deeper than 8 levels`},
		{"size limit", "a: 12345\n", Options{Limits: yamlguard.Limits{MaxBytes: 4}}, walkAll, `f.yaml:1:1: 9 bytes, larger than the 4 bytes limit`},
		{"syntax", "a: [1, 2\n", Options{}, walkAll, `f.yaml:1:4: sequence end token ']' not found`},
		{"bare number duration", "d: 250\n", Options{}, func(v Value) {
			v.Mapping("doc", nil, func(k string, _, val Value) { val.Duration(k) })
		}, `f.yaml:1:4: d: want a duration string such as "250ms", got the bare number 250`},
		{"integer range", "n: 0\n", Options{}, func(v Value) {
			v.Mapping("doc", nil, func(k string, _, val Value) { val.Int(k, 1, 10) })
		}, `f.yaml:1:4: n: 0 out of range 1..10`},
		{"wrong type", "n: [1]\n", Options{}, func(v Value) {
			v.Mapping("doc", nil, func(k string, _, val Value) { val.String(k) })
		}, `f.yaml:1:4: n: want a string, got a list`},
		{"long messages are clipped", "k: 1\n", Options{}, func(v Value) { v.Fail("%s", strings.Repeat("x", 2000)) },
			"f.yaml:1:1: " + strings.Repeat("x", maxMessageRunes) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("f.yaml", []byte(tc.data), tc.opts, tc.walk)
			var de *Error
			if !errors.As(err, &de) || err.Error() != tc.want {
				t.Errorf("err = %v, want *Error %s", err, tc.want)
			}
		})
	}
}

func TestDecodePositions(t *testing.T) {
	data := "max-attempts: 3\nbackoff:\n  jitter: full\nroutes:\n  - route: GET /x\n    steps: [{respond: 200}]\n"
	pos, err := Decode("p.yaml", []byte(data), Options{Positions: true}, walkAll)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Pos{
		"max-attempts":               {1, 1},
		"backoff":                    {2, 1},
		"backoff.jitter":             {3, 3},
		"routes":                     {4, 1},
		"routes[0].route":            {5, 5},
		"routes[0].steps":            {6, 5},
		"routes[0].steps[0].respond": {6, 14},
	}
	if !reflect.DeepEqual(pos, want) {
		t.Errorf("positions = %v\nwant        %v", pos, want)
	}
}

func TestDecodeJSONKinds(t *testing.T) {
	var kinds []Kind
	_, err := Decode("j", []byte(`{"i": 4, "f": 4.0, "e": 1e3, "s": "1e3", "b": true, "n": null, "l": [], "m": {}}`), Options{JSON: true},
		func(v Value) {
			v.Mapping("doc", nil, func(_ string, _, val Value) { kinds = append(kinds, val.Kind()) })
		})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Kind{Int, Float, Float, String, Bool, Null, Sequence, Mapping}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
}

func TestDecodeAliasesWhenAllowed(t *testing.T) {
	var got []int64
	_, err := Decode("a", []byte("a: &n 4\nb: *n\n"), Options{Aliases: true}, func(v Value) {
		v.Mapping("doc", nil, func(k string, _, val Value) { got = append(got, val.Int(k, 0, 10)) })
	})
	if err != nil || !reflect.DeepEqual(got, []int64{4, 4}) {
		t.Errorf("got %v, %v; want [4 4]", got, err)
	}
}

func TestDecodeStopsWhenTheContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Decode("c", []byte("[1]"), Options{Context: ctx}, walkAll); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	n := 0
	_, err := Decode("c", []byte("["+strings.Repeat("1, ", 1000)+"1]"), Options{Context: ctx}, func(v Value) {
		v.Sequence("list", func(Value) {
			if n++; n == 10 {
				cancel()
			}
		})
	})
	if !errors.Is(err, context.Canceled) || n >= 1000 {
		t.Errorf("err = %v after %d items, want context.Canceled within 64 items of the cancel", err, n)
	}
}

func TestDecodeEmptyDocumentIsNull(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "\n\n"} {
		var k Kind = -1
		if _, err := Decode("e", []byte(data), Options{}, func(v Value) { k = v.Kind() }); err != nil || k != Null {
			t.Errorf("Decode(%q): kind %v, err %v; want Null", data, k, err)
		}
	}
}

// Paths cost work; they are built only for Options.Positions, and long
// keys are clipped in them, so a long key over a long list costs linear
// work, not the key's length once per item.
func TestPathsAreBuiltOnlyWhenAskedAndStayShort(t *testing.T) {
	long := strings.Repeat("k", 1000)
	data := []byte(long + ": [1, 2, 3]\n")
	var paths []string
	collect := func(root Value) {
		root.Mapping("doc", nil, func(_ string, _, v Value) {
			v.Sequence("list", func(item Value) { paths = append(paths, item.Path()) })
		})
	}
	if _, err := Decode("p", data, Options{}, collect); err != nil || !reflect.DeepEqual(paths, []string{"", "", ""}) {
		t.Errorf("without Positions: paths %q, %v; want none", paths, err)
	}
	paths = nil
	pos, err := Decode("p", data, Options{Positions: true}, collect)
	clipped := strings.Repeat("k", maxPathKeyRunes)
	if err != nil || paths[2] != clipped+"[2]" || pos[clipped] != (Pos{1, 1}) {
		t.Errorf("with Positions: paths %.20q…, positions %v, %v", paths, len(pos), err)
	}
}

func TestDecodeMergeKeys(t *testing.T) {
	collect := func(got map[string]int64) func(Value) {
		return func(root Value) {
			root.Mapping("doc", nil, func(k string, _, v Value) {
				if k == "base" || k == "other" {
					return
				}
				v.Mapping(k, nil, func(k string, _, v Value) { got[k] = v.Int(k, 0, 100) })
			})
		}
	}
	for _, tc := range []struct {
		name, data string
		want       map[string]int64
	}{
		{"inline", "m: {<<: {a: 1, b: 2}, b: 3}\n", map[string]int64{"a": 1, "b": 3}},
		{"alias", "base: &b {a: 1, b: 2}\nm:\n  <<: *b\n  c: 3\n", map[string]int64{"a": 1, "b": 2, "c": 3}},
		{"list, earlier wins", "base: &b {a: 1}\nother: &o {a: 2, d: 4}\nm: {<<: [*b, *o]}\n", map[string]int64{"a": 1, "d": 4}},
	} {
		got := map[string]int64{}
		if _, err := Decode("m", []byte(tc.data), Options{Aliases: true}, collect(got)); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, data, want string }{
		{"without Aliases", "m: {<<: {a: 1}}\n", `m:1:5: unknown field "<<"`},
		{"merge of a scalar", "m: {<<: 5}\n", `m:1:9: <<: want a mapping (or a list of mappings) to merge, got the number 5`},
		{"exponential expansion", "a: &a {x: 1, y: 2, z: 3, w: 4}\n" +
			"b: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a]}\nc: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b]}\n" +
			"d: &d {<<: [*c, *c, *c, *c, *c, *c, *c, *c]}\ne: {<<: [*d, *d, *d, *d, *d, *d, *d, *d]}\n", "merge keys expand to more than"},
	} {
		opts := Options{Aliases: tc.name != "without Aliases"}
		_, err := Decode("m", []byte(tc.data), opts, func(root Value) {
			root.Mapping("doc", nil, func(_ string, _, v Value) {
				v.Mapping("m", []string{"a", "x", "y", "z", "w"}, func(string, Value, Value) {})
			})
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
		}
	}
}
