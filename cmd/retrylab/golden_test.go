package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrylab/retrylab/fixtures"
	"github.com/retrylab/retrylab/retryclient"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}

// demoSpec is what `make demo` runs, in virtual time.
func demoSpec(t *testing.T) runSpec {
	s, err := fixtures.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	p := retryclient.DefaultPolicy().WithMaxAttempts(4).WithAttemptTimeout(time.Second)
	method, path := defaultRequest(s)
	return runSpec{scenario: s, policy: p, method: method, path: path, seed: 1, timeout: time.Minute}
}

func TestRunGoldenText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := execute(t.Context(), demoSpec(t))
		var out bytes.Buffer
		if err := res.writeText(&out); err != nil {
			t.Fatal(err)
		}
		golden(t, "run-default.txt", out.Bytes())
	})
}

func TestRunGoldenJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := execute(t.Context(), demoSpec(t))
		out, err := json.MarshalIndent(res.report(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "run-default.json", append(out, '\n'))

		// The schema's promises: what a consumer relies on.
		var rep map[string]any
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatal(err)
		}
		if rep["schema"] != "retrylab.run/v2" {
			t.Errorf("schema = %v", rep["schema"])
		}
		if n := len(rep["attempts"].([]any)); n != 4 {
			t.Errorf("%d attempts, want 4", n)
		}
	})
}

func TestRunSVGIsValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := execute(t.Context(), demoSpec(t))
		var out bytes.Buffer
		if err := timelineSVG(&out, res); err != nil {
			t.Fatal(err)
		}
		checkSVG(t, out.Bytes(), map[string]int{"mark": 4, "wait backoff": 2, "wait retryafter": 1})
	})
}

// TestRunSVGOneAttemptLabelOnCanvas: with a single attempt, whose bar
// spans the whole time axis, the label was right-aligned to the bar's start
// and drawn off the left edge of the canvas.
func TestRunSVGOneAttemptLabelOnCanvas(t *testing.T) {
	for _, tc := range []struct{ name, scenario string }{
		{"hang cut off by the attempt timeout", "hang-then-success"},
		{"slow body", "slow-body"},
		{"instant answer", "not-implemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := fixtures.Load(tc.scenario)
				if err != nil {
					t.Fatal(err)
				}
				p := retryclient.DefaultPolicy().WithMaxAttempts(1).WithAttemptTimeout(time.Second)
				method, path := defaultRequest(s)
				res := execute(t.Context(), runSpec{scenario: s, policy: p, method: method, path: path, seed: 1, timeout: time.Minute})
				if len(res.attempts) != 1 {
					t.Fatalf("%d attempts, want 1", len(res.attempts))
				}
				var out bytes.Buffer
				if err := timelineSVG(&out, res); err != nil {
					t.Fatal(err)
				}
				checkSVG(t, out.Bytes(), map[string]int{"mark": 1, "label": 1})
				checkLabelsOnCanvas(t, out.Bytes())
			})
		})
	}
}

// checkLabelsOnCanvas checks that every attempt label, at its estimated
// width, lies inside the canvas.
func checkLabelsOnCanvas(t *testing.T, doc []byte) {
	t.Helper()
	var svg struct {
		Width float64 `xml:"width,attr"`
		Texts []struct {
			Class  string  `xml:"class,attr"`
			X      float64 `xml:"x,attr"`
			Anchor string  `xml:"text-anchor,attr"`
			Text   string  `xml:",chardata"`
		} `xml:"text"`
	}
	if err := xml.Unmarshal(doc, &svg); err != nil {
		t.Fatal(err)
	}
	for _, tx := range svg.Texts {
		if tx.Class != "label" {
			continue
		}
		from, to := tx.X, tx.X+labelWidth(tx.Text)
		if tx.Anchor == "end" {
			from, to = tx.X-labelWidth(tx.Text), tx.X
		}
		if from < 0 || to > svg.Width {
			t.Errorf("label %q spans x %.0f to %.0f, outside the canvas (0 to %.0f)", tx.Text, from, to, svg.Width)
		}
	}
}

// checkSVG parses doc as XML with an <svg> root and counts elements by
// class.
func checkSVG(t *testing.T, doc []byte, wantClasses map[string]int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	classes := map[string]int{}
	root := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("invalid SVG: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					classes[a.Value]++
				}
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element is %q, want svg", root)
	}
	for class, n := range wantClasses {
		if classes[class] != n {
			t.Errorf("%d elements of class %q, want %d (all: %v)", classes[class], class, n, classes)
		}
	}
}
