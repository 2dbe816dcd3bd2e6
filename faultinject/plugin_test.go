package faultinject

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/retrylab/retrylab/internal/decode"
)

// teapot is a fault that exists only in this test file. It proves that a
// fault is one file: it registers itself and is then decoded from YAML,
// validated, played by every front end and journaled, with no other file
// of the package knowing of it.
type teapot struct{}

func init() { register("teapot", teapot{}) }

const teapotBody = "short and stout"

func (teapot) check(st *Step) string {
	if st.Respond.Status != 0 {
		return `fault "teapot" answers 418 by itself; drop respond`
	}
	return ""
}

func (teapot) serve(x *exchange) {
	x.call.sent(http.StatusTeapot, "")
	x.w.WriteHeader(http.StatusTeapot)
	io.WriteString(x.w, teapotBody)
}

func (teapot) mock(x *exchange) (*http.Response, error) {
	x.call.sent(http.StatusTeapot, "")
	return &http.Response{
		Status: "418 I'm a teapot", StatusCode: http.StatusTeapot, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(teapotBody)), Request: x.r,
	}, nil
}

func TestAFaultIsOneFile(t *testing.T) {
	s, err := ParseScenario("tea.yaml", []byte(route("      - fault: teapot\n      - respond: 200\n")))
	if err != nil {
		t.Fatal(err)
	}
	forEachFrontEnd(t, s, func(t *testing.T, fe frontEnd) {
		resp, body := mustGet(t, fe.client, fe.url+"/x")
		if resp.StatusCode != http.StatusTeapot || string(body) != teapotBody {
			t.Errorf("answer %d %q, want the teapot's", resp.StatusCode, body)
		}
		if c := fe.journal.Calls()[0]; c.Action != "teapot" || c.Status != http.StatusTeapot {
			t.Errorf("journal = %s", fe.journal)
		}
	})
	_, err = ParseScenario("tea.yaml", []byte(route("      - fault: teapot\n        respond: 200\n")))
	if want := `tea.yaml:4:16: fault "teapot" answers 418 by itself; drop respond`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want the fault's own check: %s", err, want)
	}
	_, err = ParseScenario("tea.yaml", []byte(route("      - fault: teapott\n")))
	if want := `tea.yaml:4:16: unknown fault "teapott" (did you mean "teapot"?)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestNoFileNamesAFault: outside its own file (and the builder's
// shortcuts, such as Hang, and the documentation), no file of the package
// names a fault word, so a fault's behaviour is found only through the
// registry and its optional interfaces, never by a string compared.
func TestNoFileNamesAFault(t *testing.T) {
	own := map[string]string{}
	for _, name := range faultNames() {
		own[name] = strings.ReplaceAll(name, "-", "_") + ".go"
	}
	own["teapot"] = "plugin_test.go"
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") || file == "builder.go" || file == "doc.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		joined := map[ast.Node]bool{} // parts of a longer string ("/__admin/" + "reset")
		ast.Inspect(f, func(n ast.Node) bool {
			if b, ok := n.(*ast.BinaryExpr); ok && b.Op == token.ADD {
				joined[b.X], joined[b.Y] = true, true
			}
			lit, ok := n.(*ast.BasicLit)
			if joined[n] {
				return true
			}
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if file == "admin.go" && s == "reset" {
				return true // the admin endpoint /__admin/reset, not the fault
			}
			if home, isFault := own[s]; isFault && home != file {
				t.Errorf("%s names the fault %q, which only %s should", fset.Position(lit.Pos()), s, home)
			}
			return true
		})
	}
}

// kettle's parameter takes a key hang owns.
type kettle struct{ teapot }

func (kettle) params() []string                        { return []string{"spout", "for"} }
func (kettle) decodeParam(string, decode.Value, *Step) {}
func (kettle) hasParams(*Step) bool                    { return false }

func TestRegisterRefusesTakenNamesAndKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    fault
		want string
	}{
		{"hang", teapot{}, "faultinject: fault hang registered twice"},
		{"kettle", kettle{}, "faultinject: fault kettle: parameter for is taken"},
	} {
		func() {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("register(%q) panicked with %v, want %q", tc.name, r, tc.want)
				}
			}()
			register(tc.name, tc.f)
		}()
	}
	if _, ok := faults["kettle"]; ok || paramOwners["spout"] != nil {
		t.Error("a refused registration changed the registry")
	}
}
