package yamlguard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

func TestDepth(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
	}{
		{"empty", "", 0},
		{"scalar", "hello\n", 1},
		{"mapping", "a: 1\nb: 2\n", 1},
		{"nested mapping", "a:\n  b:\n    c: 1\n", 3},
		{"sequence of mappings", "routes:\n  - route: GET /\n    steps:\n      - respond: 200\n", 5},
		{"indentless sequence", "routes:\n- route: GET /\n  steps:\n  - respond: 200\n", 3},
		{"compact sequences", "- - - - x\n", 5},
		{"compact keys", "? ? ? x\n", 4},
		{"flow", "a: [1, {b: [2]}]\n", 4},
		{"json", `{"a": [1, {"b": [2]}]}`, 5},
		{"brackets in double quotes", `a: "[[[[{{{{\"[[["` + "\n", 1},
		{"brackets in single quotes", "a: '[[[['' [[[['\n", 1},
		{"brackets in quotes in flow", `a: ["[[[[", '{{{{']` + "\n", 2},
		{"brackets in a comment", "a: 1 # [[[[[[\n# {{{{{{{\n", 1},
		{"brackets in a literal body", "a:\n  body: |\n    [[[[[[[[\n    {{{{{{\n\n    [[[\n  b: 1\n", 2},
		{"brackets in a folded body", "- >\n  [[[[[\n- x\n", 2},
		{"brackets inside a plain scalar", "a: b[c{d\n", 1},
		{"document markers", "a:\n  b: 1\n---\nc: 1\n", 2},
		{"flow over lines", "a: [\n  [1],\n  [2]\n]\nb: 1\n", 3},
		{"anchor before flow", "a: &x [[1]]\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Depth([]byte(tc.in)); got != tc.want {
				t.Errorf("Depth(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

// Regression: 20 KB of "[" or 40 KB of "{a: " took goccy/go-yaml to
// hundreds of megabytes; Check refuses them at the level that crossed the
// limit.
func TestCheckRefusesDeepNesting(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		line, col int
	}{
		{"open brackets", strings.Repeat("[", 20<<10), 1, 50},
		{"open mappings", strings.Repeat("{a: ", 10<<10), 1, 197},
		{"after a key", "routes:\n  x: " + strings.Repeat("[", 100), 2, 54},
		{"compact sequences", strings.Repeat("- ", 100) + "x", 1, 101},
		{"indentation", func() string {
			var b strings.Builder
			for i := range 60 {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return b.String()
		}(), 51, 51},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.in), Limits{MaxDepth: 50})
			if err == nil || err.Line != tc.line || err.Column != tc.col || err.Msg != "nested deeper than 50 levels" {
				t.Errorf("Check = %v, want %d:%d: nested deeper than 50 levels", err, tc.line, tc.col)
			}
		})
	}
}

func TestCheckSize(t *testing.T) {
	err := Check(make([]byte, 5<<20), Limits{MaxBytes: 4 << 20})
	if err == nil || err.Error() != "5242880 bytes, larger than the 4 MiB limit" {
		t.Errorf("Check = %v, want 5242880 bytes, larger than the 4 MiB limit", err)
	}
	if err := Check(make([]byte, 4<<20), Limits{MaxBytes: 4 << 20}); err != nil {
		t.Errorf("Check(4 MiB) = %v, want nil", err)
	}
	if _, err := ReadAll(bytes.NewReader(make([]byte, 1025)), 1024); err == nil || err.Error() != "larger than the 1 KiB limit" {
		t.Errorf("ReadAll = %v, want larger than the 1 KiB limit", err)
	}
	if b, err := ReadAll(bytes.NewReader(make([]byte, 1024)), 1024); err != nil || len(b) != 1024 {
		t.Errorf("ReadAll(1 KiB) = %d bytes, %v", len(b), err)
	}
}

// astDepth is the nesting of collections goccy/go-yaml builds for data.
func astDepth(n ast.Node) int {
	switch x := n.(type) {
	case *ast.MappingNode:
		d := 0
		for _, v := range x.Values {
			d = max(d, astDepth(v.Key), astDepth(v.Value))
		}
		return d + 1
	case *ast.MappingValueNode:
		return max(astDepth(x.Key), astDepth(x.Value)) + 1
	case *ast.SequenceNode:
		d := 0
		for _, v := range x.Values {
			d = max(d, astDepth(v))
		}
		return d + 1
	case *ast.AnchorNode:
		return astDepth(x.Value)
	case *ast.TagNode:
		return astDepth(x.Value)
	case *ast.MappingKeyNode:
		return astDepth(x.Value)
	}
	return 0
}

// FuzzCheck checks that Check never panics and never measures less than a
// third of the depth goccy/go-yaml builds (so a bomb cannot hide from it).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"a: [1, {b: 2}]\n", "- - - x\n", strings.Repeat("[", 200), strings.Repeat("{a: ", 200),
		"a:\n  b: |\n    [[[\n  c: 1\n", `{"a": ["[", '{']}`, "? ? x\n: y\n", "a: &x\n  - b\nc: *x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		got := Depth(data)
		if err := Check(data, Limits{MaxDepth: 8}); (err != nil) != (got > 8) {
			t.Fatalf("Check = %v with Depth %d", err, got)
		}
		if got > 8 {
			return // goccy/go-yaml would not see it
		}
		file, err := parser.ParseBytes(data, 0)
		if err != nil {
			return
		}
		for _, doc := range file.Docs {
			if d := astDepth(doc.Body); d > 3*got+3 {
				t.Fatalf("goccy/go-yaml nests %d deep, Depth says %d:\n%s", d, got, data)
			}
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("routes:\n")
	for range 10000 {
		sb.WriteString("  - route: GET /users/{id}\n    steps:\n      - respond: 503\n        headers: {X-A: '[['}\n      - respond: 200\n        body: |\n          [[[{\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Check(data, Limits{MaxDepth: 50}); err != nil {
			b.Fatal(err)
		}
	}
}
